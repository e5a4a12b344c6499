"""Reading ahead of the handlers: the socket is read as it fills, whatever the handlers cost.

A frame's handler may take milliseconds (opening a chunk of a file). A client that read its socket
only between handlers would leave what it has not read yet with the relay, and the relay cuts a
reader when more than its bound waits for it (``queue_bytes``, 8 MiB by default) or when it has
taken nothing for a few seconds. So a task reads into the connection's buffer, up to
:data:`READ_AHEAD` bytes ahead of the handlers, while the read loop hands it the event loop after
each frame (:meth:`ReadAhead.taken`). What was read and not yet handled is in this client's memory,
at most that bound; frames are still handled one at a time, in the order they came.
"""

from __future__ import annotations

import asyncio
import contextlib

from chat.client.streams import ByteReader
from chat.protocol.connection import Connection
from chat.protocol.limits import MiB

READ_SIZE = 64 * 1024
#: Bytes read but not yet handled, at most: above it the socket is not read until the handlers
#: have taken half. Several senders' file transfers in flight at once fit (MAX_IN_FLIGHT, 6.4 MiB each).
READ_AHEAD = 32 * MiB


class ReadAhead:
    """A task feeding ``reader``'s bytes to ``conn`` until the end, at most ``limit`` bytes ahead.

    ``ended`` is None while reading goes on or after the peer closed its side (``b""`` was fed to
    the connection, which reports it as an event); otherwise it says why reading failed.
    """

    def __init__(self, reader: ByteReader, conn: Connection, limit: int = READ_AHEAD) -> None:
        self.reader = reader
        self.conn = conn
        self.limit = limit
        self.done = False
        self.ended: str | None = None
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            while True:
                await self._room.wait()
                try:
                    data = await self.reader.read(READ_SIZE)
                except (ConnectionError, OSError) as exc:
                    self.ended = f"connection lost: {exc.strerror or type(exc).__name__}"
                    return
                self.conn.receive_data(data)
                if not data:
                    return
                if self.conn.buffered >= self.limit:
                    self._room.clear()
                self._arrived.set()
        finally:
            self.done = True
            self._arrived.set()

    async def taken(self) -> None:
        """A frame was handled: read on if half the bound is free, and let the reading task run."""
        if not self._room.is_set() and self.conn.buffered <= self.limit // 2:
            self._room.set()
        await asyncio.sleep(0)

    async def more(self) -> None:
        """Every whole frame read so far is handled: wait until more is read, or reading ends."""
        if self.done:
            return
        self._room.set()
        self._arrived.clear()
        await self._arrived.wait()

    async def stop(self) -> None:
        """Stop reading (the read loop is over)."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


__all__ = ["READ_AHEAD", "READ_SIZE", "ReadAhead"]

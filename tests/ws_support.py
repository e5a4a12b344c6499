"""WebSocket helpers for the relay's tests: the client's streams over a WebSocket, a bare frame client.

:func:`open_ws_streams` gives :class:`~chat.client.chat_client.ChatClient` what
``asyncio.open_connection`` gives it, over a WebSocket (``websockets``' asyncio client): each
message received is fed to the reader as a TCP frame (its 4-byte length, then the message), and
each frame written leaves as one text message. So the unchanged client joins over the browser's
transport. Everything binds 127.0.0.1 and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from chat.protocol.framing import HEADER, HEADER_SIZE, encode_json

TIMEOUT = 15.0


def frames_of(data: bytes) -> Iterator[bytes]:
    """The payloads of the whole frames in ``data`` (what a client writes: whole frames only)."""
    start = 0
    while start < len(data):
        (length,) = HEADER.unpack_from(data, start)
        yield data[start + HEADER_SIZE : start + HEADER_SIZE + length]
        start += HEADER_SIZE + length


class WsWriter:
    """The writer half: frames written go out as text messages, in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.outgoing: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.task = asyncio.ensure_future(self._send())
        self._closing = False

    async def _send(self) -> None:
        with contextlib.suppress(ConnectionClosed, asyncio.CancelledError):
            while (payload := await self.outgoing.get()) is not None:
                await self.ws.send(payload.decode("ascii"))
            await self.ws.close()

    def write(self, data: bytes) -> None:
        for payload in frames_of(data):
            self.outgoing.put_nowait(payload)

    async def drain(self) -> None:
        for _ in range(1000):
            if self.outgoing.empty() or self.task.done():
                return
            await asyncio.sleep(0.001)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self.outgoing.put_nowait(None)

    async def wait_closed(self) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(TIMEOUT):
                await self.task
                await self.ws.wait_closed()


async def _feed(ws: ClientConnection, reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(ConnectionClosed, asyncio.CancelledError):
        async for message in ws:
            data = message.encode("ascii") if isinstance(message, str) else message
            reader.feed_data(HEADER.pack(len(data)) + data)
    reader.feed_eof()


async def open_ws_streams(url: str, **options: Any) -> tuple[asyncio.StreamReader, WsWriter]:
    """A reader and a writer over a WebSocket to ``url``, as ``asyncio.open_connection`` returns them."""
    ws = await asyncio.wait_for(connect(url, **options), TIMEOUT)
    reader = asyncio.StreamReader()
    feeder = asyncio.ensure_future(_feed(ws, reader))
    writer = WsWriter(ws)
    writer.feeder = feeder  # type: ignore[attr-defined]  # kept alive with the writer
    return reader, writer


class WsWireClient:
    """A bare client over WebSocket: sends frames from dicts, queues the frames it receives."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.close_code: int | None = None
        self.task = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(cls, url: str, **options: Any) -> WsWireClient:
        return cls(await asyncio.wait_for(connect(url, **options), TIMEOUT))

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                assert isinstance(message, str), f"the relay sent a binary message: {message!r}"
                await self.frames.put(json.loads(message))
        except ConnectionClosed:
            pass
        self.close_code = self.ws.close_code
        await self.frames.put(None)

    async def send(self, obj: dict[str, Any]) -> None:
        await self.ws.send(encode_json(obj).decode("ascii"))

    async def send_raw(self, message: str | bytes) -> None:
        await self.ws.send(message)

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next frame; EOFError when the relay has closed the connection."""
        obj = await asyncio.wait_for(self.frames.get(), timeout)
        if obj is None:
            self.frames.put_nowait(None)
            raise EOFError("connection closed")
        return obj

    async def expect(self, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        obj = await self.recv(timeout)
        assert obj["type"] == kind, obj
        return obj

    async def until_closed(self, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """Frames received until the relay closes the connection."""
        frames = []
        for _ in range(1000):
            try:
                frames.append(await self.recv(timeout))
            except EOFError:
                return frames
        raise AssertionError("the relay kept sending")

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(TIMEOUT):
                await self.ws.close()
                await self.task

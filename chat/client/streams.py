"""What the client needs of its connection to the relay: a byte stream read and written as asyncio's are.

:class:`~chat.client.chat_client.ChatClient` reads with ``read`` (``b""`` at the end) and writes
with ``write``, ``drain``, ``close`` and ``wait_closed``; a failure is an OSError. TCP
(:func:`asyncio.open_connection`) is the default :data:`Connector`; the browser's page passes one
over a WebSocket (:mod:`chat.web.transport`), and the rest of the client does not know.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol


class ByteReader(Protocol):
    """The reading half: up to ``n`` bytes, ``b""`` once the other side has closed."""

    async def read(self, n: int = -1) -> bytes: ...


class ByteWriter(Protocol):
    """The writing half: buffered ``write``, ``drain`` until sent, ``close`` and ``wait_closed``."""

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...

    async def wait_closed(self) -> None: ...


#: The TCP stream's ``limit``: it reads the socket until twice this waits in it, which the client's
#: read-ahead (:mod:`chat.client.read_ahead`) takes at each pause between two frames handled.
STREAM_BUFFER = 256 * 1024

Connector = Callable[[str, int], Awaitable[tuple[ByteReader, ByteWriter]]]
"""Opens a stream to ``host:port``; OSError if it cannot."""


async def open_tcp(host: str, port: int) -> tuple[ByteReader, ByteWriter]:
    """A TCP connection to ``host:port`` (the relay's own transport). Its buffer takes up to
    :data:`STREAM_BUFFER` bytes a turn of the event loop (asyncio's default is 64 KiB)."""
    return await asyncio.open_connection(host, port, limit=STREAM_BUFFER)

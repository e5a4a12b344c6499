"""The relay over a WebSocket, as the byte stream the chat client reads and writes (the browser's TCP).

Each WebSocket text message is exactly one frame's JSON payload: the bytes a TCP frame carries
after its 4-byte length (:mod:`chat.protocol.framing`). :class:`WebSocketStream` adds the length
to each message it receives and takes it off each frame written, so the unchanged
:class:`~chat.client.chat_client.ChatClient` (its sans-IO ``Connection``, its read loop) runs over
it as over TCP: pass :func:`websocket_connector` as its ``connector``
(:data:`chat.client.streams.Connector`).

The socket is the browser's ``WebSocket`` (``js.WebSocket`` under Pyodide) or anything with its
shape: ``send(str)``, ``close()``, ``bufferedAmount``, ``addEventListener(kind, callback)``; the
callbacks go through ``proxy`` (``pyodide.ffi.create_proxy``, so JavaScript may keep them), and are
released when the socket closes. The tests drive it with a fake socket, without a browser.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable
from typing import Any

from chat.client.streams import ByteReader, ByteWriter, Connector
from chat.protocol.framing import FrameBuffer, frame_payload
from chat.protocol.limits import DEFAULT_LIMITS

OPEN_TIMEOUT = 10.0  # seconds for the WebSocket handshake (ChatClient bounds connect too)
HIGH_WATER = 1024 * 1024  # bytes the browser may hold unsent before drain() waits
DRAIN_POLL = 0.01  # seconds between looks at bufferedAmount while above HIGH_WATER
DRAIN_POLLS = 3000  # at most 30 s of waiting for the browser to send what it holds

SocketFactory = Callable[[str], Any]
Proxy = Callable[[Callable[..., None]], Any]


def _browser_socket(url: str) -> Any:
    import js  # type: ignore[import-not-found]  # Pyodide's bridge to the page's JavaScript

    return js.WebSocket.new(url)


def _browser_proxy(callback: Callable[..., None]) -> Any:
    from pyodide.ffi import create_proxy  # type: ignore[import-not-found]

    return create_proxy(callback)


class WebSocketStream:
    """One WebSocket as a byte stream: both halves (:class:`~chat.client.streams.ByteReader` and
    :class:`~chat.client.streams.ByteWriter`) of the chat client's connection."""

    def __init__(self, socket: Any, proxy: Proxy, max_frame: int = DEFAULT_LIMITS.max_frame) -> None:
        self.socket = socket
        self._incoming = bytearray()
        self._arrived = asyncio.Event()
        self._opened = asyncio.Event()
        self._closed = asyncio.Event()
        self._outgoing = FrameBuffer(max_frame)
        self.close_reason = ""
        self._proxies = []
        for kind, callback in (
            ("open", self._on_open),
            ("message", self._on_message),
            ("close", self._on_close),
            ("error", self._on_error),
        ):
            handle = proxy(callback)
            self._proxies.append(handle)
            socket.addEventListener(kind, handle)

    # --- what the socket reports ------------------------------------------------------------------

    def _on_open(self, event: Any = None) -> None:
        self._opened.set()

    def _on_message(self, event: Any) -> None:
        data = event.data
        if not isinstance(data, str):  # the relay sends text only: a binary message breaks the contract
            self.close_reason = "the relay sent a binary WebSocket message"
            self.socket.close()
            return
        self._incoming += frame_payload(data.encode("utf-8"))
        self._arrived.set()

    def _on_close(self, event: Any = None) -> None:
        if not self.close_reason:
            reason = getattr(event, "reason", "") or ""
            code = getattr(event, "code", None)
            self.close_reason = reason or (f"closed with code {code}" if code is not None else "closed")
        self._closed.set()
        self._arrived.set()
        for handle in self._proxies:
            destroy = getattr(handle, "destroy", None)
            if destroy is not None:
                destroy()
        self._proxies = []

    def _on_error(self, event: Any = None) -> None:
        if not self.close_reason:
            self.close_reason = "WebSocket error"

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def opened(self, url: str, timeout: float = OPEN_TIMEOUT) -> None:
        """Until the handshake is done; ConnectionRefusedError if the socket closes first or times out."""
        opened = asyncio.ensure_future(self._opened.wait())
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait((opened, closed), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            opened.cancel()
            closed.cancel()
        if self._opened.is_set() and not self._closed.is_set():
            return
        if not self._closed.is_set():
            self.socket.close()
        raise ConnectionRefusedError(errno.ECONNREFUSED, f"no WebSocket at {url}")

    # --- ByteReader -------------------------------------------------------------------------------

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes received (all there are if ``n`` < 0); ``b""`` once closed and read."""
        while not self._incoming and not self._closed.is_set():
            self._arrived.clear()
            await self._arrived.wait()
        size = len(self._incoming) if n < 0 else min(n, len(self._incoming))
        data = bytes(self._incoming[:size])
        del self._incoming[:size]
        return data

    # --- ByteWriter -------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Take whole frames out of ``data`` (and what came before) and send each payload as one message."""
        if self._closed.is_set():
            return
        self._outgoing.feed(data)
        while (payload := self._outgoing.next_payload()) is not None:
            self.socket.send(payload.decode("ascii"))  # canonical frames are ASCII JSON

    async def drain(self) -> None:
        """Until the browser holds less than :data:`HIGH_WATER` unsent; ConnectionResetError if closed."""
        for _ in range(DRAIN_POLLS):
            if self._closed.is_set():
                raise ConnectionResetError(errno.ECONNRESET, self.close_reason or "closed")
            if int(self.socket.bufferedAmount) < HIGH_WATER:
                return
            await asyncio.sleep(DRAIN_POLL)
        raise ConnectionResetError(errno.ECONNRESET, "the browser could not send for 30 s")

    def close(self) -> None:
        if not self._closed.is_set():
            self.socket.close()

    async def wait_closed(self) -> None:
        await self._closed.wait()


async def open_websocket(
    url: str,
    *,
    socket_factory: SocketFactory = _browser_socket,
    proxy: Proxy = _browser_proxy,
    timeout: float = OPEN_TIMEOUT,
) -> WebSocketStream:
    """A WebSocket to ``url``, open; ConnectionRefusedError (an OSError) in one line if it cannot be."""
    try:
        socket = socket_factory(url)
    except Exception as exc:  # the browser refuses a malformed URL at once (a SyntaxError in JS)
        raise ConnectionRefusedError(errno.ECONNREFUSED, f"not a WebSocket URL: {url}") from exc
    stream = WebSocketStream(socket, proxy)
    await stream.opened(url, timeout)
    return stream


def websocket_connector(
    url: str, *, socket_factory: SocketFactory = _browser_socket, proxy: Proxy = _browser_proxy
) -> Connector:
    """The chat client's connector for the relay at ``url`` (``ws://host:port/ws``); the host and port
    it is called with are those of ``url``, kept for the trust store's per-server files."""

    async def connect(host: str, port: int) -> tuple[ByteReader, ByteWriter]:
        stream = await open_websocket(url, socket_factory=socket_factory, proxy=proxy)
        return stream, stream

    return connect

"""One browser connection of the relay: an HTTP request for a file of the page, or a WebSocket.

A :class:`WebPeer` is a :class:`~chat.relay.peer.Peer` like any other: the server admits it when
the TCP connection is made (the per-address and total limits, the join and frame deadlines, the
bound on unfinished bytes all apply from the first byte) and handles its frames with the same
code. What differs is the wire, which the `websockets <https://websockets.readthedocs.io>`_
sans-I/O protocol parses:

- ``GET /ws`` with an acceptable ``Origin`` (:func:`origin_refusal`) opens a WebSocket. Each text
  message carries exactly one frame's JSON payload, the bytes that follow the 4-byte length on
  TCP; the peer hands the server that length and payload, so the protocol, the limits and the
  wiretap see TCP's bytes. Frames go out through a :class:`FrameSocket`, the transport the server
  writes to: it sends each length-prefixed frame as one text message.
- Any other request is answered from the :class:`~chat.relay.static.StaticSite` and the connection
  closed; the body is written in chunks as the transport drains, so a slow download holds
  :data:`CHUNK` bytes of it in memory, not the whole file, and stalls like a slow reader.

A message above the frame limit is refused as on TCP, from its announced length: an ``error``
frame (``too_large``, fatal), then the close. A binary message is a protocol error (``bad_frame``,
fatal). WebSocket pings and closes are answered by the protocol; pings are not frames and do not
count as activity (clients send the chat's own ``ping``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from websockets.datastructures import Headers
from websockets.exceptions import PayloadTooBig
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol

from chat.protocol.errors import ErrorCode
from chat.protocol.framing import HEADER, HEADER_SIZE
from chat.relay.peer import Peer
from chat.relay.static import StaticSite

if TYPE_CHECKING:
    from chat.relay.server import RelayServer

WS_PATH = "/ws"
CHUNK = 64 * 1024  # bytes of a file's body handed to the transport in one write
LARGEST_LENGTH = 2**32 - 1  # what TCP's 4-byte length can say
# The origins of a local copy of the page (cipherchat web --open, or any server on this machine).
LOOPBACK_ORIGIN = re.compile(r"http://(?:127\.0\.0\.1|localhost|\[::1\])(?::[0-9]{1,5})?")
LOGGER = logging.getLogger("chat.relay.websocket")
# The HTTP status that carries each error a connection may get before it is a WebSocket.
HTTP_STATUS = {
    ErrorCode.SERVER_FULL.value: (503, "Service Unavailable"),
    ErrorCode.IDLE_TIMEOUT.value: (408, "Request Timeout"),
    ErrorCode.SLOW_READER.value: (408, "Request Timeout"),
    ErrorCode.INTERNAL.value: (500, "Internal Server Error"),
}


def origin_refusal(origin: str | None, host: str | None) -> str | None:
    """Why a WebSocket from a page of ``origin`` is refused, or None to accept it.

    Accepted: no ``Origin`` (not a browser: a browser always sends one), the relay's own origin
    (the page it served, ``http(s)://`` + the request's ``Host``), and a page on this machine's
    loopback (a local copy). Refused: any other site, and ``null`` (a file opened from disk, which
    Pyodide cannot boot from anyway). The relay grants nothing on the strength of a connection
    (admission is by proof of possession of a key), so this only keeps other sites from using
    their visitors' browsers to reach it.
    """
    if origin is None:
        return None
    if host is not None and origin in (f"http://{host}", f"https://{host}"):
        return None
    if LOOPBACK_ORIGIN.fullmatch(origin):
        return None
    return f"WebSocket from origin {origin[:100]!r} refused: only the relay's own page or a local copy"


def _payloads(data: bytes | bytearray | memoryview) -> Iterator[bytes]:
    """The payloads of the whole length-prefixed frames in ``data``."""
    view = memoryview(data)
    start, end = 0, len(view)
    while start < end:
        (length,) = HEADER.unpack_from(view, start)
        yield bytes(view[start + HEADER_SIZE : start + HEADER_SIZE + length])
        start += HEADER_SIZE + length


def http_refusal(error: dict[str, Any]) -> bytes:
    """The HTTP response that says an ``error`` frame to a connection not yet a WebSocket."""
    status, reason = HTTP_STATUS.get(str(error.get("code")), (400, "Bad Request"))
    body = f"{error.get('code')}: {error.get('message')}\n".encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class FrameSocket(asyncio.Transport):
    """The transport the server writes to for a browser: each length-prefixed frame leaves as one
    text message once the WebSocket is open (nothing before: an HTTP connection carries no frames)."""

    def __init__(self, raw: asyncio.Transport) -> None:
        super().__init__()
        self.raw = raw
        self.open = False  # the handshake is done: frames go out as messages
        self.responded = False  # an HTTP response went out (the handshake's, or a file's)
        self.closing = False  # a close frame went out: nothing more may follow it
        self.close_code = CloseCode.NORMAL_CLOSURE
        self.refusal: dict[str, Any] | None = None  # an error frame for a connection still in HTTP

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.closing:
            return
        for payload in _payloads(data):
            if self.open:
                self.raw.write(Frame(Opcode.TEXT, payload).serialize(mask=False))
            elif not self.responded:
                self.refusal = json.loads(payload)

    def send_close(self, code: int, reason: str = "") -> None:
        """Send the WebSocket's close frame, once."""
        if self.open and not self.closing:
            self.closing = True
            self.raw.write(Frame(Opcode.CLOSE, Close(code, reason).serialize()).serialize(mask=False))

    def close(self) -> None:
        if self.refusal is not None and not self.open and not self.responded:
            self.responded = True
            self.raw.write(http_refusal(self.refusal))
        self.send_close(self.close_code)
        self.raw.close()

    def abort(self) -> None:
        self.raw.abort()

    def is_closing(self) -> bool:
        return self.raw.is_closing()

    def get_write_buffer_size(self) -> int:
        return self.raw.get_write_buffer_size()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.raw.set_write_buffer_limits(high, low)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.raw.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self.raw.pause_reading()

    def resume_reading(self) -> None:
        self.raw.resume_reading()

    def is_reading(self) -> bool:
        return self.raw.is_reading()


class WebPeer(Peer):
    """One connection to the relay's web port: a file of the page, or a chat member over WebSocket."""

    __slots__ = ("_body", "_fragments", "_pending", "_sent", "site", "socket", "ws")

    def __init__(self, server: RelayServer, site: StaticSite | None) -> None:
        super().__init__(server)
        self.site = site  # None: WebSocket only, every other path is 404
        self.ws = ServerProtocol(max_size=server.config.limits.max_frame, logger=LOGGER)
        self.socket = cast(FrameSocket, None)  # set by connection_made
        self.shown = False  # the console shows it once it is a WebSocket
        self._fragments: list[bytes] = []  # a text message arriving in several frames
        self._pending = 0  # bytes read since the last whole request or WebSocket frame
        self._body: memoryview | None = None  # what remains to send of a file
        self._sent = 0

    @property
    def buffered(self) -> int:
        """Bytes received that are not yet frames: the guard bounds them and times them out."""
        return self.conn.buffered + self._pending + sum(map(len, self._fragments))

    # --- what the transport tells us -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.socket = FrameSocket(cast(asyncio.Transport, transport))
        super().connection_made(self.socket)
        self.label = f"{self.label} ws"

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        ws = self.ws
        ws.receive_data(data)
        self._pending += len(data)
        if isinstance(ws.parser_exc, PayloadTooBig):
            self._too_large(ws.parser_exc)
            return
        self._send_protocol_output()  # pongs, the echo of a close, the close of a failure
        progressed = False
        for event in ws.events_received():
            progressed = True
            self._pending = 0
            if isinstance(event, Request):
                self._request(event)
            elif isinstance(event, Frame):
                self._frame(event)
            if self.closed:
                return
        if ws.parser_exc is not None:
            self.server.drop(self, ErrorCode.BAD_FRAME, f"WebSocket protocol error: {ws.parser_exc}")
        elif ws.handshake_exc is not None:
            self.server.drop(self, ErrorCode.BAD_FRAME, f"not an HTTP request: {ws.handshake_exc.__cause__}")
        elif not progressed:
            self.server.progressed(self)

    def eof_received(self) -> bool:
        self.ws.receive_eof()
        self._send_protocol_output()
        self.server.received(self, b"")
        return True

    def resume_writing(self) -> None:
        if self._body is None:
            super().resume_writing()
            return
        self.paused = False
        self.server.writing_resumed(self)
        self._pump()

    # --- HTTP ------------------------------------------------------------------------------------

    def _request(self, request: Request) -> None:
        ws, headers = self.ws, request.headers
        path = request.path.split("?", 1)[0]
        if path == WS_PATH:
            refusal = origin_refusal(headers.get("Origin"), headers.get("Host"))
            response = ws.reject(403, refusal + "\n") if refusal else ws.accept(request)
            ws.send_response(response)
            self._send_protocol_output()
            if response.status_code == 101:
                self.socket.open = True
                self.server.opened(self)
                return
            self._log_refusal(response)
            body = b""
        elif self.site is None:
            ws.send_response(ws.reject(404, "this relay serves no web client\n"))
            self._send_protocol_output()
            body = b""
        else:
            reply = self.site.respond(request.method, request.path, headers.get)
            ws.send_response(Response(reply.status, reply.reason, Headers(reply.headers)))
            self._send_protocol_output()
            body = reply.body
        self.server.serving(self)
        self._body, self._sent = memoryview(body), 0
        self._pump()

    def _log_refusal(self, response: Response) -> None:
        exc = self.ws.handshake_exc
        why = str(exc) if exc is not None else bytes(response.body).decode("utf-8", "replace").strip()
        self.server.refused(self, f"WebSocket handshake refused ({response.status_code}): {why}")

    def _pump(self) -> None:
        """Hand the transport the file's next chunks until it pauses us; close once all is handed."""
        body = self._body
        if body is None:
            return
        raw = self.socket.raw
        while self._sent < len(body) and not self.paused and not self.closed:
            raw.write(body[self._sent : self._sent + CHUNK])
            self._sent += CHUNK
        if self._sent >= len(body) and not self.closed:
            self._body = None
            self.server.served(self)

    # --- WebSocket -------------------------------------------------------------------------------

    def _frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.CONT:
            if not frame.fin:
                self._fragments.append(bytes(frame.data))
                return
            payload = b"".join([*self._fragments, frame.data]) if self._fragments else bytes(frame.data)
            self._fragments.clear()
            self.server.received(self, HEADER.pack(len(payload)) + payload)
        elif opcode is Opcode.BINARY:
            self.socket.close_code = CloseCode.UNSUPPORTED_DATA
            message = "binary WebSocket message: each frame is one text message of JSON"
            self.server.drop(self, ErrorCode.BAD_FRAME, message)
        elif opcode is Opcode.CLOSE:
            self.socket.closing = True  # the protocol echoed it
            self.server.received(self, b"")

    def _too_large(self, exc: PayloadTooBig) -> None:
        """Refuse a message above the frame limit as TCP refuses a frame: from the length it announces."""
        self.ws.data_to_send()  # the protocol's own close: ours goes after the error frame
        size = exc.size if exc.size is not None else self.server.config.limits.max_frame + 1
        self.socket.close_code = CloseCode.MESSAGE_TOO_BIG
        self.server.received(self, HEADER.pack(min(size, LARGEST_LENGTH)))

    def _send_protocol_output(self) -> None:
        """Write what the WebSocket protocol has to say (handshake, pong, close) to the connection."""
        ws = self.ws
        for chunk in ws.data_to_send():
            if chunk:
                self.socket.responded = True
                self.socket.raw.write(chunk)
        if ws.close_sent is not None:
            self.socket.closing = True

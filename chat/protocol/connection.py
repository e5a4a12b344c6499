"""The sans-IO connection (after h11): bytes in, events out; events in, bytes out.

``receive_data(data)`` buffers what the network delivered (``b""`` for its end), ``next_event()``
returns the next whole event or None until more data arrives, and ``send(event)`` returns the
bytes to write. No socket is touched here: the asyncio server and client are thin loops around
this object, and tests link two of them with a list of byte strings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chat.protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from chat.protocol.events import (
    CLIENT_FRAMES,
    SERVER_FRAMES,
    ConnectionClosed,
    Frame,
    parse_frame,
)
from chat.protocol.framing import FrameBuffer, decode_payload, encode_frame
from chat.protocol.limits import DEFAULT_LIMITS, Limits
from chat.protocol.state import ROWS, Role, State, rejection

FRAMES_SENT_BY = {Role.CLIENT: CLIENT_FRAMES, Role.SERVER: SERVER_FRAMES}

PayloadObserver = Callable[[bytes, "dict[str, Any] | None"], None]
"""Called with each received frame's payload and its JSON object (None if it is not valid JSON or
too large), before it is checked as an event: what a wiretap on this end would see."""


class Connection:
    """One end of one chat connection, as ``role``, under ``limits`` (both ends must agree)."""

    def __init__(
        self,
        role: Role,
        limits: Limits = DEFAULT_LIMITS,
        *,
        on_payload: PayloadObserver | None = None,
    ) -> None:
        self.our_role = role
        self._on_payload = on_payload
        self.their_role = role.peer
        self.limits = limits
        self._sent_rows = ROWS[role]
        self._received_rows = ROWS[role.peer]
        self.state = State.IDLE
        self._sends = FRAMES_SENT_BY[role]
        self._receives = FRAMES_SENT_BY[role.peer]
        # Client frames leave room for what the relay stamps in (Limits.max_client_frame); the
        # server's may be larger, for a welcome listing a full room (Limits.max_server_frame).
        client_frame, server_frame = limits.max_client_frame, limits.max_server_frame
        self._buffer = FrameBuffer(limits.max_frame if role is Role.SERVER else server_frame)
        self._max_sent = client_frame if role is Role.CLIENT else server_frame
        self._max_received = client_frame if role is Role.SERVER else server_frame
        self._eof = False
        self._closed_reported = False
        # The fatal error's code and message, raised afresh each time: a stored exception would
        # keep this object alive in a cycle through its traceback.
        self._fatal: tuple[ErrorCode, str] | None = None

    @property
    def state(self) -> State:
        """Where the conversation is (the same on both ends)."""
        return self._state

    @state.setter
    def state(self, state: State) -> None:
        self._state = state
        self._sends_next = self._sent_rows[state]
        self._receives_next = self._received_rows[state]

    @property
    def buffered(self) -> int:
        """Bytes received that are not yet events (nonzero in the middle of a frame)."""
        return self._buffer.buffered

    def receive_data(self, data: bytes) -> None:
        """Hand over bytes read from the network; ``b""`` means the peer closed its side."""
        if self._eof:
            if data:
                raise LocalProtocolError(ErrorCode.BAD_STATE, "data received after the connection ended")
            return
        if data:
            if self._fatal is None:
                self._buffer.feed(data)
        else:
            self._eof = True

    def next_event(self) -> Frame | None:
        """The next event, or None when more data is needed.

        Raises RemoteProtocolError when the peer broke the protocol. If it is not ``fatal`` the bad
        frame was consumed and the next call goes on with the next frame; if it is, every later call
        raises it again. The end of the connection is reported once as :class:`ConnectionClosed`.
        """
        if self._fatal is not None:
            raise RemoteProtocolError(*self._fatal, fatal=True)
        try:
            payload = self._buffer.next_payload()
        except RemoteProtocolError as exc:
            self._fatal = (exc.code, exc.message)
            raise
        if payload is None:
            if not self._eof or self._closed_reported:
                return None
            if self._buffer.buffered:
                self._fatal = (
                    ErrorCode.BAD_FRAME,
                    f"connection closed in the middle of a frame ({self._buffer.buffered} bytes)",
                )
                raise RemoteProtocolError(*self._fatal, fatal=True)
            self._closed_reported = True
            self.state = State.CLOSED
            return ConnectionClosed()
        return self._event_from(payload)

    def _event_from(self, payload: bytes) -> Frame:
        obj: dict[str, Any] | None = None
        try:
            if len(payload) > self._max_received:
                raise RemoteProtocolError(
                    ErrorCode.TOO_LARGE,
                    f"frame of {len(payload)} bytes is above the limit of {self._max_received}",
                )
            obj = decode_payload(payload)
        finally:
            if self._on_payload is not None:
                self._on_payload(payload, obj)
        kind = obj.get("type")
        try:
            event = parse_frame(obj, self._receives, self.limits)
        except RemoteProtocolError as exc:
            exc.ref = kind if isinstance(kind, str) and kind in self._receives else None
            raise
        new = self._receives_next.get(event.type)
        if new is None:
            raise _refused(self.their_role, self.state, event.type)
        if new is not self._state:
            self.state = new
        return event

    def send(self, event: Frame, *, encoded: bytes | None = None) -> bytes:
        """The bytes that carry ``event``; raises LocalProtocolError (nothing sent) if it breaks the protocol.

        ``encoded`` skips checking and encoding when the caller already holds this event's frame
        (the relay encodes one delivery once for all recipients); the state is checked all the same.
        """
        kind = event.type
        if self._sends.get(kind) is not type(event):
            raise LocalProtocolError(
                ErrorCode.UNKNOWN_TYPE, f"the {self.our_role.value} does not send {type(event).__name__}"
            )
        new = self._sends_next.get(kind)
        if new is None:
            raise LocalProtocolError(*rejection(self.our_role, self.state, kind))
        if encoded is None:
            obj = event.to_dict()
            try:
                parse_frame(obj, self._sends, self.limits)
            except RemoteProtocolError as exc:
                raise LocalProtocolError(exc.code, exc.message) from None
            encoded = encode_frame(obj, self._max_sent)
        if new is not self._state:
            self.state = new
        return encoded


def _refused(sender: Role, state: State, kind: str) -> RemoteProtocolError:
    """The error for a frame out of state (built here, not held in a local of the raising frame)."""
    error = RemoteProtocolError(*rejection(sender, state, kind))
    error.ref = kind
    return error

"""Whose fault it was: the local side broke the protocol, or the peer did (after h11).

Every error carries an :class:`ErrorCode`, the same codes the server sends in ``error`` frames, so
that a :class:`RemoteProtocolError` caught by the server becomes an ``error`` frame unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """The codes of ``error`` frames. The set is closed: a peer sending another code is malformed."""

    BAD_FRAME = "bad_frame"  # empty frame, or the connection ended in the middle of one
    TOO_LARGE = "too_large"  # a frame above the frame limit (fatal), or a field above its limit
    BAD_JSON = "bad_json"  # not UTF-8, not JSON, or not a JSON object
    BAD_VERSION = "bad_version"  # "v" is not the protocol version
    UNKNOWN_TYPE = "unknown_type"  # "type" is not a frame this side may receive
    BAD_FIELD = "bad_field"  # a field missing, unexpected, or of the wrong type or shape
    BAD_STATE = "bad_state"  # a valid frame at the wrong moment (e.g. join while in a room)
    NOT_IN_ROOM = "not_in_room"  # leave, message or key_bundle before joining a room
    BAD_ALIAS = "bad_alias"  # an alias breaking the name rules
    BAD_ROOM = "bad_room"  # a room name breaking the name rules
    BAD_SUITE = "bad_suite"  # an unknown cipher suite or key exchange
    ALIAS_TAKEN = "alias_taken"  # the alias is in use in that room (ignoring case)
    ROOM_FULL = "room_full"  # the room has its maximum number of members
    UNKNOWN_MEMBER = "unknown_member"  # a payload addressed to nobody in the room
    UNAUTHORIZED = "unauthorized"  # the admission hook refused the join (proof, identity, certificate)
    SLOW_READER = "slow_reader"  # the client did not read its frames; it is disconnected
    IDLE_TIMEOUT = "idle_timeout"  # nothing received for too long; the client is disconnected
    SERVER_FULL = "server_full"  # too many connections
    INTERNAL = "internal_error"  # a bug in the server; the connection is closed


class ProtocolError(Exception):
    """A breach of the chat protocol, with its code and a one-line human message."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref: str | None = None  # the type of the offending frame, when it is known

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.value!r}, {self.message!r})"


class LocalProtocolError(ProtocolError):
    """We were about to break the protocol (a bug in the caller): nothing was sent."""


class RemoteProtocolError(ProtocolError):
    """The peer broke the protocol.

    ``fatal`` is true when the byte stream can no longer be trusted to be in step (a length above
    the limit, the connection ending mid-frame): the only answer is an error frame, then close.
    Otherwise the offending frame was consumed whole and the connection can go on.
    """

    def __init__(self, code: ErrorCode, message: str, *, fatal: bool = False) -> None:
        super().__init__(code, message)
        self.fatal = fatal

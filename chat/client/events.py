"""What a chat client reports to its user, as frozen dataclasses with a JSON form.

Each event has an ``event`` name (the ``event`` field of ``--json`` lines) and the wall-clock
``time`` it happened. Only :class:`MessageReceived` and :class:`DataReceived` carry text or data
from others, and only after every check passed (``verified``): a frame that failed one becomes a
:class:`WarningEvent` with the reason code instead.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, ClassVar

from chat.e2e.identity import Fingerprint


@dataclass(frozen=True)
class MemberView:
    """A member as the client shows it: fingerprint (None if its keys were unusable) and trust."""

    alias: str
    fingerprint: Fingerprint | None
    trust: str | None = None  # chat.e2e.trust.TrustState value, when the client keeps known peers
    key_id: str | None = None
    problem: str | None = None
    certificate: str | None = None  # opaque, as the member joined with it (issue 5 checks it)

    def to_dict(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "fingerprint": None if self.fingerprint is None else self.fingerprint.digits,
            "trust": self.trust,
            "key_id": self.key_id,
            "problem": self.problem,
            "certificate": self.certificate,
        }


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Fingerprint):
        return value.digits
    if isinstance(value, MemberView):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    return value


@dataclass(frozen=True)
class ClientEvent:
    """Base of every client event."""

    event: ClassVar[str] = "event"
    time: float = field(default_factory=time.time, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``event`` first, bytes as base64, fingerprints as digits."""
        out: dict[str, Any] = {"event": self.event}
        for item in fields(self):
            out[item.name] = _json_value(getattr(self, item.name))
        return out


@dataclass(frozen=True)
class Connected(ClientEvent):
    event: ClassVar[str] = "connected"
    host: str
    port: int


@dataclass(frozen=True)
class Joined(ClientEvent):
    """We are in ``room``; ``suite``/``kex`` are the room's (they may differ from what we asked)."""

    event: ClassVar[str] = "joined"
    room: str
    alias: str
    suite: str
    kex: str
    fingerprint: Fingerprint
    members: tuple[MemberView, ...]
    insecure: bool
    description: str


@dataclass(frozen=True)
class MemberJoined(ClientEvent):
    event: ClassVar[str] = "member_joined"
    alias: str
    fingerprint: Fingerprint | None
    trust: str | None = None


@dataclass(frozen=True)
class MemberLeft(ClientEvent):
    event: ClassVar[str] = "member_left"
    alias: str
    reason: str


@dataclass(frozen=True)
class MessageReceived(ClientEvent):
    """A text that passed every check: MAC or digest, the sender's signature, replay."""

    event: ClassVar[str] = "message"
    room: str
    sender: str
    text: str
    verified: bool
    key_id: str
    counter: int
    trust: str | None = None  # "changed" means: marked unverified until the user trusts the new key


@dataclass(frozen=True)
class DataReceived(ClientEvent):
    """Non-text data of ``content_type`` (file chunks, for instance) that passed every check."""

    event: ClassVar[str] = "data"
    room: str
    sender: str
    content_type: str
    data: bytes
    verified: bool
    key_id: str
    counter: int
    trust: str | None = None


@dataclass(frozen=True)
class MessageSent(ClientEvent):
    """Our message (text, or data of ``content_type``) left for ``recipients``."""

    event: ClassVar[str] = "sent"
    room: str
    content_type: str
    text: str | None
    size: int
    key_id: str
    counter: int
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Rekeyed(ClientEvent):
    """``alias`` now sends under ``key_id`` (``alias`` is us after our own rekey)."""

    event: ClassVar[str] = "rekeyed"
    alias: str
    key_id: str
    reason: str  # start, join, leave (ours), or received / replaced (a member's key arrived)
    replaced: str | None = None
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class WarningEvent(ClientEvent):
    """Something failed a check (``code``: a chat.e2e.session.Reason value, or ``identity_changed``)."""

    event: ClassVar[str] = "warning"
    code: str
    message: str
    sender: str | None = None


@dataclass(frozen=True)
class ErrorEvent(ClientEvent):
    """The server refused something of ours, or sent something invalid."""

    event: ClassVar[str] = "error"
    code: str
    message: str
    fatal: bool = False


@dataclass(frozen=True)
class Left(ClientEvent):
    event: ClassVar[str] = "left"
    room: str


@dataclass(frozen=True)
class Disconnected(ClientEvent):
    event: ClassVar[str] = "disconnected"
    reason: str
    by_us: bool = False


@dataclass(frozen=True)
class WireFrame:
    """One frame exactly as it crossed the socket (``sent`` or ``received``), for the wire view."""

    direction: str
    raw: bytes  # the 4-byte length and the JSON, as the relay (or a wiretap) sees them
    obj: dict[str, Any] | None  # the decoded JSON, None if it was not valid
    time: float = field(default_factory=time.time)

    @property
    def type(self) -> str:
        """The frame's ``type``, or ``?``."""
        kind = None if self.obj is None else self.obj.get("type")
        return kind if isinstance(kind, str) else "?"

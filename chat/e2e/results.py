"""What the room session returns: the frames to send, what happened, and the steps as data.

The session (:mod:`chat.e2e.session`) is pure: each call returns a :class:`Result` holding the
frames for the relay (:class:`Outgoing`), the events (:data:`SessionEvent`) and the trace
(:class:`TraceRecord`); the caller does what it says. A frame that fails a check is a
:class:`Rejected` event with a :class:`Reason`, and no text of it is ever returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


class Reason(StrEnum):
    """Why a frame was rejected: the ``code`` of the warning the user sees."""

    UNKNOWN_SENDER = "unknown_sender"  # not a member we know, or its identity was unusable
    MALFORMED = "malformed"  # a field missing, mis-encoded or of the wrong size
    WRONG_SENDER = "wrong_sender"  # the key id names another member than the relay says sent it
    UNKNOWN_KEY = "unknown_key"  # no such key: never received (bundle dropped), or replaced
    REPLAY = "replay"  # a counter or key generation already seen
    BAD_MAC = "bad_mac"  # HMAC-SHA256 over header, IV and ciphertext did not verify
    BAD_DIGEST = "bad_digest"  # our payload does not match the digest the sender signed
    NOT_FOR_US = "not_for_us"  # we are not among the recipients the sender signed
    BAD_SIGNATURE = "bad_signature"  # the sender's identity key did not sign this
    UNDECRYPTABLE = "undecryptable"  # authentic, yet it does not decrypt (a misbehaving member)
    BAD_IDENTITY = "bad_identity"  # a member's announced identity keys are not usable


@dataclass(frozen=True)
class Outgoing:
    """A frame for the relay: a ``message`` (to all, or a payload per recipient) or a ``key_bundle``."""

    kind: Literal["message", "key_bundle"]
    body: dict[str, str]
    payloads: dict[str, dict[str, str]] | None = None
    key_id: str | None = None  # key bundles only


@dataclass(frozen=True)
class Delivered:
    """A message that passed every check, from ``sender``."""

    sender: str
    content_type: str
    data: bytes
    key_id: str
    counter: int

    @property
    def text(self) -> str:
        """The message text (content type ``text``: UTF-8, checked on opening)."""
        return self.data.decode("utf-8")


@dataclass(frozen=True)
class Sent:
    """Our message, sealed and ready to go to ``recipients`` (empty when the room has nobody else)."""

    content_type: str
    data: bytes
    key_id: str
    counter: int
    recipients: tuple[str, ...]

    @property
    def text(self) -> str:
        """The message text (content type ``text``)."""
        return self.data.decode("utf-8")


@dataclass(frozen=True)
class Rejected:
    """A frame from ``sender`` that failed a check: its text, if any, is not shown."""

    sender: str
    reason: Reason
    detail: str
    frame: Literal["message", "key_bundle", "member"] = "message"


@dataclass(frozen=True)
class KeyReceived:
    """``sender``'s session key ``key_id`` arrived and verified; ``replaced`` is the key it retires."""

    sender: str
    key_id: str
    replaced: str | None


@dataclass(frozen=True)
class KeyDrawn:
    """We drew session key ``key_id`` (``why``: start, join or leave) and sent it to ``recipients``."""

    key_id: str
    why: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Held:
    """A message from ``sender`` under ``key_id``, whose bundle has not arrived yet, is waiting for it."""

    sender: str
    key_id: str


SessionEvent = Delivered | Sent | Rejected | KeyReceived | KeyDrawn | Held


@dataclass(frozen=True)
class TraceRecord:
    """One step as it happened, for the trace view: every binary value in hex.

    ``step`` is ``seal``/``open`` (messages), ``wrap``/``unwrap`` (key bundles) or ``reject``.
    ``checks`` lists each verification made and its outcome, in order. ``first_block`` is the first
    block the block cipher saw (P1 xor IV when sealing, C1 when opening), for
    :meth:`RoomSession.round_trace`. ``time`` is stamped by the client.
    """

    step: str
    suite: str
    sender: str
    key_id: str
    counter: int
    recipients: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)
    checks: tuple[tuple[str, bool], ...] = ()
    detail: str = ""
    first_block: str | None = None
    time: float | None = None

    @property
    def verified(self) -> bool | None:
        """True if every check passed, False if one failed, None when nothing was checked (our own)."""
        if not self.checks:
            return None
        return all(ok for _, ok in self.checks)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "step": self.step,
            "suite": self.suite,
            "sender": self.sender,
            "key_id": self.key_id,
            "counter": self.counter,
            "recipients": list(self.recipients),
            "fields": dict(self.fields),
            "checks": [{"check": name, "ok": ok} for name, ok in self.checks],
            "verified": self.verified,
            "detail": self.detail,
            "first_block": self.first_block,
            "time": self.time,
        }


@dataclass(frozen=True)
class Result:
    """What one call produced: frames to send, events, trace records."""

    outgoing: tuple[Outgoing, ...] = ()
    events: tuple[SessionEvent, ...] = ()
    trace: tuple[TraceRecord, ...] = ()

    def __add__(self, other: Result) -> Result:
        return Result(self.outgoing + other.outgoing, self.events + other.events, self.trace + other.trace)


EMPTY = Result()


__all__ = [
    "EMPTY",
    "Delivered",
    "Held",
    "KeyDrawn",
    "KeyReceived",
    "Outgoing",
    "Reason",
    "Rejected",
    "Result",
    "Sent",
    "SessionEvent",
    "TraceRecord",
]

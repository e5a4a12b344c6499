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
    UNKNOWN_KEY = "unknown_key"  # no such key: never received (bundle dropped), replaced, or out of reach
    REPLAY = "replay"  # a chain index, counter or key generation already seen
    BAD_MAC = "bad_mac"  # HMAC-SHA256 over header, IV and ciphertext did not verify
    BAD_DIGEST = "bad_digest"  # our payload does not match the digest the sender signed
    NOT_FOR_US = "not_for_us"  # we are not among the recipients the sender signed
    BAD_SIGNATURE = "bad_signature"  # the sender's identity key did not sign this
    UNDECRYPTABLE = "undecryptable"  # authentic, yet it does not decrypt (a misbehaving member)
    BAD_IDENTITY = "bad_identity"  # a member's announced identity keys are not usable, or out of bounds
    SUITE_MISMATCH = (
        "suite_mismatch"  # the frame is for another suite or kex than the room's, as we joined it
    )
    STALE_SESSION = "stale_session"  # bound to an earlier join of the sender's or of ours (other join nonce)
    DUPLICATE_MEMBER = "duplicate_member"  # a member announced again while present
    REPLAYED_JOIN = "replayed_join"  # a join (alias and join nonce) already seen during our join


@dataclass(frozen=True)
class Outgoing:
    """A frame for the relay: a ``message`` (to all, or a payload per recipient) or a ``key_bundle``."""

    kind: Literal["message", "key_bundle"]
    body: dict[str, str]
    payloads: dict[str, dict[str, str]] | None = None
    key_id: str | None = None  # key bundles only


@dataclass(frozen=True)
class Delivered:
    """A message that passed every check, from ``sender``; ``counter`` is its chain index (hybrid
    suites, from 0) or the sender's counter (direct suites, from 1)."""

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
    """``sender``'s chain ``key_id`` arrived and verified; ``replaced`` is the chain it retires."""

    sender: str
    key_id: str
    replaced: str | None


@dataclass(frozen=True)
class KeyDrawn:
    """We started chain ``key_id`` and sent it to ``recipients``.

    ``why``: ``start`` (we joined), ``leave`` (a member we sent to left), ``departed`` (a member's
    signed view showed a departure the relay did not tell us of) or ``ineligible`` (the
    application stopped a member's keys).
    """

    key_id: str
    why: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Held:
    """A message from ``sender`` under chain ``key_id``, whose bundle has not arrived yet, waits for it."""

    sender: str
    key_id: str


@dataclass(frozen=True)
class Earlier:
    """A message from ``sender`` under chain ``key_id`` at ``index``, below the index the chain was
    handed to us at: sealed before the sender gave us the chain (a newcomer gets the frames sealed
    before its bundle), so not for us. Its signature was checked; nothing is shown. ``count`` > 1
    sums messages dropped while waiting for the chain, all below that index."""

    sender: str
    key_id: str
    index: int
    count: int = 1


@dataclass(frozen=True)
class Withheld:
    """No key or message of ours goes to ``alias``: ``why`` is ``policy`` (the application made it
    ineligible) or ``bad_identity`` (its identity keys are unusable; see the Rejected event)."""

    alias: str
    why: str


class DifferenceKind(StrEnum):
    """How a sender's view of the room differs from ours, about one member."""

    GHOST = "ghost"  # the sender sends to someone we do not see in the room
    HIDDEN_MEMBER = "hidden_member"  # someone we see in the room is not among the sender's recipients
    STILL_SENDING_TO_LEAVER = "still_sending_to_leaver"  # the sender sends to someone who left
    OTHER_IDENTITY = "other_identity"  # same alias, another identity key or another join (nonce)
    VIEW_UNKNOWN = "view_unknown"  # we cannot rebuild the sender's view (a frame of it was lost)


@dataclass(frozen=True)
class Difference:
    """One member about whom a sender's view and ours disagree."""

    member: str
    kind: DifferenceKind


@dataclass(frozen=True)
class ViewDiffers:
    """``sender``'s signed view of the room differs from ours: each new difference, once."""

    sender: str
    differences: tuple[Difference, ...]


@dataclass(frozen=True)
class Departed:
    """``witness``'s signed, fresh view shows ``alias`` left, which the relay did not tell us: we
    forgot ``alias`` and started a new chain without it."""

    alias: str
    witness: str


SessionEvent = (
    Delivered | Sent | Rejected | KeyReceived | KeyDrawn | Held | Earlier | Withheld | ViewDiffers | Departed
)


@dataclass(frozen=True)
class TraceRecord:
    """One step as it happened, for the trace view: every binary value in hex.

    ``step`` is ``seal``/``open`` (messages), ``wrap``/``unwrap`` (key bundles) or ``reject``;
    ``counter`` is the chain index of a hybrid message, the counter of a direct one.
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
    "Departed",
    "Difference",
    "DifferenceKind",
    "Earlier",
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
    "ViewDiffers",
    "Withheld",
]

"""Every event a chat user sees, as frozen dataclasses with a JSON form: the one vocabulary.

The client (:mod:`chat.client.chat_client`), the reconnection (:mod:`chat.client.reconnect`), the
file transfers (:mod:`chat.transfer.manager`) and the application core (:mod:`chat.app`) report
in these words, and the user interfaces turn them into lines with one table
(:mod:`chat.ui.text`). They are not protocol frames (those are ``...Frame`` in
:mod:`chat.protocol.events`).

Each event has an ``event`` name (the ``event`` field of ``--json`` lines) and the wall-clock
``time`` it happened. Only :class:`MessageReceived` and :class:`DataReceived` carry text or data
from others, and only after every check passed (``verified``): a frame that failed one becomes a
:class:`WarningEvent` with the reason code instead. The answers to a user's commands (``/who``,
``/verify``, ...) are events too, so that they reach the screen and the JSON output the same way.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, ClassVar

from chat.e2e.certificates import Certificate, CertificateStatus
from chat.e2e.identity import Fingerprint
from chat.e2e.trust import TrustState


@dataclass(frozen=True)
class MemberView:
    """A member as the client shows it: fingerprint (None if its keys were unusable) and trust.

    ``certificate`` is the text it joined with; ``certificate_status`` what checking it against
    our CA found (filled in by the application core under ``--ca``, None otherwise).
    """

    alias: str
    fingerprint: Fingerprint | None
    trust: TrustState | None = None  # None when the client keeps no known peers
    key_id: str | None = None
    problem: str | None = None
    certificate: str | None = None
    certificate_status: CertificateStatus | None = None

    def to_dict(self) -> dict[str, Any]:
        return {item.name: _json_value(getattr(self, item.name)) for item in fields(self)}


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Fingerprint):
        return value.digits
    if isinstance(value, MemberView):
        return value.to_dict()
    if isinstance(value, CertificateStatus):
        return {"state": value.state.value, "label": value.label}
    if isinstance(value, Certificate):
        return value.encode()
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    return value


@dataclass(frozen=True)
class ChatEvent:
    """Base of every event a user sees."""

    event: ClassVar[str] = "event"
    time: float = field(default_factory=time.time, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``event`` first, bytes as base64, fingerprints as digits, enums as values."""
        out: dict[str, Any] = {"event": self.event}
        for item in fields(self):
            out[item.name] = _json_value(getattr(self, item.name))
        return out


# --- the connection -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Connected(ChatEvent):
    event: ClassVar[str] = "connected"
    host: str
    port: int


@dataclass(frozen=True)
class Disconnected(ChatEvent):
    event: ClassVar[str] = "disconnected"
    reason: str
    by_us: bool = False


@dataclass(frozen=True)
class Reconnecting(ChatEvent):
    """Attempt ``attempt`` (of ``max_attempts`` at most) in ``delay`` s; ``reason``: the last failure."""

    event: ClassVar[str] = "reconnecting"
    attempt: int
    delay: float
    reason: str
    max_attempts: int | None = None


@dataclass(frozen=True)
class Reconnected(ChatEvent):
    """Connected again (and rejoined ``room``, if we were in one) after ``attempts`` attempts."""

    event: ClassVar[str] = "reconnected"
    attempts: int
    elapsed: float
    room: str | None
    queued: int = 0  # messages about to be sent


@dataclass(frozen=True)
class GaveUp(ChatEvent):
    """No more attempts: ``reason`` says why. :meth:`ResilientClient.reconnect` may start again."""

    event: ClassVar[str] = "gave_up"
    reason: str
    attempts: int
    elapsed: float


# --- the room -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Joined(ChatEvent):
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
class Left(ChatEvent):
    event: ClassVar[str] = "left"
    room: str


@dataclass(frozen=True)
class MemberJoined(ChatEvent):
    event: ClassVar[str] = "member_joined"
    alias: str
    fingerprint: Fingerprint | None
    trust: TrustState | None = None


@dataclass(frozen=True)
class MemberLeft(ChatEvent):
    event: ClassVar[str] = "member_left"
    alias: str
    reason: str


@dataclass(frozen=True)
class Rekeyed(ChatEvent):
    """``alias`` now sends under ``key_id`` (``alias`` is us after our own rekey)."""

    event: ClassVar[str] = "rekeyed"
    alias: str
    key_id: str
    reason: str  # start, join, leave (ours), or received / replaced (a member's key arrived)
    replaced: str | None = None
    recipients: tuple[str, ...] = ()


# --- messages and data --------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageReceived(ChatEvent):
    """A text that passed every check: MAC or digest, the sender's signature, replay."""

    event: ClassVar[str] = "message"
    room: str
    sender: str
    text: str
    verified: bool
    key_id: str
    counter: int
    trust: TrustState | None = None  # CHANGED: marked unverified until the user trusts the new key


@dataclass(frozen=True)
class DataReceived(ChatEvent):
    """Non-text data of ``content_type`` (file chunks, for instance) that passed every check."""

    event: ClassVar[str] = "data"
    room: str
    sender: str
    content_type: str
    data: bytes
    verified: bool
    key_id: str
    counter: int
    trust: TrustState | None = None


@dataclass(frozen=True)
class MessageSent(ChatEvent):
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
class MessageQueued(ChatEvent):
    """``text`` waits for the connection; it is number ``position`` in the queue."""

    event: ClassVar[str] = "queued"
    text: str
    position: int


@dataclass(frozen=True)
class MessagesUnsent(ChatEvent):
    """These queued texts were never sent, and why."""

    event: ClassVar[str] = "unsent"
    texts: tuple[str, ...]
    reason: str


# --- problems -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WarningEvent(ChatEvent):
    """Something failed a check (``code``: a :class:`chat.e2e.results.Reason` value,
    ``identity_changed``, ``insecure_suite``)."""

    event: ClassVar[str] = "warning"
    code: str
    message: str
    sender: str | None = None


@dataclass(frozen=True)
class ErrorEvent(ChatEvent):
    """The server refused something of ours or sent something invalid, or a command failed."""

    event: ClassVar[str] = "error"
    code: str
    message: str
    fatal: bool = False


# --- who gets our keys, and whom the others send to --------------------------------------------


@dataclass(frozen=True)
class KeyWithheld(ChatEvent):
    """No key or message of ours goes to ``alias``: ``why`` is ``policy`` (the application core's
    hand-out policy: ``reason`` says which rule) or ``bad_identity`` (its keys are unusable)."""

    event: ClassVar[str] = "key_withheld"
    alias: str
    why: str
    reason: str = ""


@dataclass(frozen=True)
class ViewDiffers(ChatEvent):
    """``sender``'s signed view of the room differs from ours: (member, kind) for each new
    difference, ``kind`` one of ``ghost``, ``hidden_member``, ``still_sending_to_leaver``,
    ``other_identity``, ``view_unknown`` (:class:`chat.e2e.results.DifferenceKind`)."""

    event: ClassVar[str] = "view_differs"
    sender: str
    differences: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Departed(ChatEvent):
    """``witness``'s signed view shows ``alias`` left, which the relay did not tell us: we forgot
    ``alias`` and sealed what follows under a new key without it."""

    event: ClassVar[str] = "departed"
    alias: str
    witness: str


# --- identities ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateChecked(ChatEvent):
    """``alias``'s certificate checked against our CA (``--ca``); ``own``: it is ours."""

    event: ClassVar[str] = "certificate"
    alias: str
    status: CertificateStatus
    own: bool = False


@dataclass(frozen=True)
class FirstContact(ChatEvent):
    """``alias``'s key was never seen on this server: remembered now, trusted on first use (the one
    moment a relay could substitute a key unnoticed; ``/verify`` checks it out of band)."""

    event: ClassVar[str] = "first_contact"
    alias: str
    fingerprint: Fingerprint


@dataclass(frozen=True)
class Trusted(ChatEvent):
    """The user accepted ``alias``'s key (``/trust``): it is VERIFIED from now on."""

    event: ClassVar[str] = "trusted"
    alias: str
    fingerprint: Fingerprint


# --- file transfers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TransferOffered(ChatEvent):
    """``sender`` offers a file, and this member's consent is asked: ``/accept NUMBER`` or
    ``/refuse NUMBER`` (``transfer`` serves too). Unanswered, it is refused after ``timeout``
    seconds. ``name`` is the sanitised name, safe to display.
    """

    event: ClassVar[str] = "file_offered"
    transfer: str
    number: int
    sender: str
    name: str
    size: int
    sha256: str
    timeout: float


@dataclass(frozen=True)
class TransferStarted(ChatEvent):
    """A transfer began: ours (``direction`` ``out``, offered to ``recipients``) or one we accepted
    (``in``, to be saved in ``folder``). ``name`` is the sanitised name, safe to display; the saved
    file may get `` (n)`` added.
    """

    event: ClassVar[str] = "file_started"
    transfer: str
    direction: str
    sender: str
    name: str
    size: int
    sha256: str
    recipients: tuple[str, ...] = ()
    folder: str | None = None


@dataclass(frozen=True)
class TransferProgress(ChatEvent):
    """``done`` of ``total`` bytes: sent (``out``) or received and written (``in``).

    For ``out``, ``acknowledged`` is what the slowest receiver has confirmed.
    """

    event: ClassVar[str] = "file_progress"
    transfer: str
    direction: str
    name: str
    done: int
    total: int
    acknowledged: int = 0

    @property
    def fraction(self) -> float:
        """``done / total``, 1.0 for an empty file."""
        return 1.0 if self.total == 0 else self.done / self.total


@dataclass(frozen=True)
class TransferFinished(ChatEvent):
    """The end of a transfer. ``ok``: saved with a matching SHA-256 (``in``), or delivered to at
    least one member (``out``). ``reason`` is one line either way. ``path``: where we saved it.
    ``outcomes`` (``out``): (alias, saved, reason) per member offered the file.
    """

    event: ClassVar[str] = "file_finished"
    transfer: str
    direction: str
    sender: str
    name: str
    ok: bool
    reason: str
    size: int
    sha256: str
    path: str | None = None
    outcomes: tuple[tuple[str, bool, str], ...] = ()


@dataclass(frozen=True)
class TransferWarning(ChatEvent):
    """A file message from ``sender`` that made no sense (malformed, or for an unknown state)."""

    event: ClassVar[str] = "file_warning"
    sender: str
    message: str


TransferEvent = TransferOffered | TransferStarted | TransferProgress | TransferFinished | TransferWarning


# --- answers to the user's commands -------------------------------------------------------------


@dataclass(frozen=True)
class Members(ChatEvent):
    """``/who``: us and the other members of ``room``, with fingerprints, trust and certificates."""

    event: ClassVar[str] = "members"
    room: str
    you: MemberView
    members: tuple[MemberView, ...]


@dataclass(frozen=True)
class SafetyNumber(ChatEvent):
    """``/verify``: the 60 digits to compare with ``alias`` out of band, and both fingerprints."""

    event: ClassVar[str] = "safety_number"
    alias: str
    number: str
    fingerprint: Fingerprint
    own_fingerprint: Fingerprint


@dataclass(frozen=True)
class CertificateDetails(ChatEvent):
    """``/cert``: ``alias``'s certificate (None if it has none) and its state (None: no ``--ca``)."""

    event: ClassVar[str] = "certificate_details"
    alias: str
    status: CertificateStatus | None
    certificate: Certificate | None
    own: bool = False


@dataclass(frozen=True)
class TransfersCancelled(ChatEvent):
    """``/cancel``: ``count`` transfers in progress were told to stop."""

    event: ClassVar[str] = "cancelled"
    count: int

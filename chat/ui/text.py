"""Events in words: the one table from what a user sees (:mod:`chat.client.events`) to lines.

:func:`describe` looks an event up in :data:`WORDS` and gives its lines (:class:`Line`), each with
a :class:`Tone`. The line client prints them plainly (:func:`plain_lines`), the Textual log puts
time and colour around the same words (:mod:`chat.ui.tui.format`), and ``--json`` prints the
event itself. Lines marked ``quiet`` are routine (a key received, our own message echoed): the
Textual log shows them, the line client leaves them out.

Text from other members is printed with control characters escaped (:func:`printable`), so a
member cannot send terminal escape sequences to your screen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from chat.client import events as ev
from chat.e2e.certificates import Certificate, CertificateStatus, iso8601
from chat.e2e.identity import Fingerprint
from chat.e2e.trust import TrustState
from chat.transfer.downloads import format_size

TRUST_LABELS = {
    TrustState.NEW: "new",
    TrustState.KNOWN: "known",
    TrustState.VERIFIED: "verified",
    TrustState.CHANGED: "CHANGED",
}
UNVERIFIED = " [unverified key]"  # after the sender of a message signed by a CHANGED key
REKEY_WORDS = {  # why we drew a new session key (KeyDrawn.why in chat.e2e.results)
    "start": "new session key for this room",
    "join": "new session key (a member joined)",
    "leave": "new session key: a member left, so what follows is unreadable to them",
    "departed": "new session key: a member left without the relay saying so, and cannot read on",
    "ineligible": "new session key: a member no longer gets your keys, and cannot read on",
}
STEP_NAMES = {  # the trace's steps (chat.e2e.results.TraceRecord.step), in every trace panel
    "seal": "sealed",
    "open": "opened",
    "wrap": "key sent",
    "unwrap": "key received",
    "reject": "REJECTED",
}
#: What the rejections of protocol v2 mean, after the session's own detail.
REASON_NOTES = {
    "suite_mismatch": "sealed for another suite or kex than the room's: a downgrade, or a broken client",
    "stale_session": "bound to an earlier join of the sender's or yours: a replay",
    "duplicate_member": "the relay announced a member who is here already: refused",
    "replayed_join": "the relay replayed a join seen before: refused",
    "bad_identity": "identity keys outside the bounds a member may use: nothing of yours goes to them",
}
VIEW_WORDS = {  # how a sender's signed view differs from ours (chat.e2e.results.DifferenceKind)
    "ghost": "{sender} sends to {member}, whom you do not see in the room",
    "still_sending_to_leaver": "{sender} still sends to {member}, who left",
    "hidden_member": "{member} is in the room, but {sender} does not send to {member}",
    "other_identity": "{sender} sees another identity or join for {member} than you do",
    "view_unknown": "{sender}'s view of the room cannot be checked: a frame of it was lost",
}


class Tone(StrEnum):
    """What kind of line it is, for the prefix or the colour a view gives it."""

    MESSAGE = "message"  # someone's text: ``sender: text``
    OWN = "own"  # our own text
    SYSTEM = "system"  # what happened in the room or to the connection
    GOOD = "good"  # a success worth noticing: reconnected, a file saved
    PENDING = "pending"  # waiting: reconnecting, queued
    WARNING = "warning"  # a failed check, a changed key, a lost connection
    ERROR = "error"  # a refusal, a mistake in a command


@dataclass(frozen=True)
class Line:
    """One line of words; ``sender`` for messages, ``room`` for the traffic of a room."""

    text: str
    tone: Tone = Tone.SYSTEM
    sender: str | None = None
    room: str | None = None
    mark: str = ""  # after the sender: UNVERIFIED
    quiet: bool = False  # routine: the line client leaves it out


def printable(text: str) -> str:
    """``text`` with every non-printable character (escape sequences, newlines) shown escaped."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def fingerprint_text(fingerprint: Fingerprint | None, short: bool = False) -> str:
    """The fingerprint's digit groups (the first two when ``short``), or ``unusable keys``."""
    if fingerprint is None:
        return "unusable keys"
    return fingerprint.short if short else fingerprint.digits


def trust_label(trust: TrustState | None) -> str:
    """``new``, ``known``, ``verified``, ``CHANGED``, or nothing when no known peers are kept."""
    return "" if trust is None else TRUST_LABELS[trust]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


# --- the connection and the room ----------------------------------------------------------------


def _connected(event: ev.Connected, me: str) -> tuple[Line, ...]:
    return (Line(f"connected to {event.host}:{event.port}", quiet=True),)


def _disconnected(event: ev.Disconnected, me: str) -> tuple[Line, ...]:
    if event.by_us:
        return (Line("disconnected", quiet=True),)
    return (Line(f"disconnected: {event.reason}", Tone.WARNING),)


def _reconnecting(event: ev.Reconnecting, me: str) -> tuple[Line, ...]:
    bound = f" of {event.max_attempts}" if event.max_attempts else ""
    return (Line(f"reconnecting in {event.delay:.1f} s (attempt {event.attempt}{bound})", Tone.PENDING),)


def _reconnected(event: ev.Reconnected, me: str) -> tuple[Line, ...]:
    where = f"; rejoined #{event.room} with a fresh session key" if event.room else ""
    queued = f"; sending {_plural(event.queued, 'queued message')}" if event.queued else ""
    return (Line(f"reconnected after {event.attempts} attempt(s){where}{queued}", Tone.GOOD),)


def _gave_up(event: ev.GaveUp, me: str) -> tuple[Line, ...]:
    return (Line(f"gave up reconnecting: {event.reason}", Tone.WARNING),)


def _joined(event: ev.Joined, me: str) -> tuple[Line, ...]:
    members = ", ".join(m.alias for m in event.members) or "nobody else yet"
    return (
        Line(
            f"joined #{event.room} as {event.alias} ({event.suite}, kex {event.kex}): "
            f"{event.description}; members: {members}"
        ),
        Line(f"your fingerprint: {event.fingerprint.digits}"),
    )


def _left(event: ev.Left, me: str) -> tuple[Line, ...]:
    return (Line(f"left #{event.room}"),)


def _member_joined(event: ev.MemberJoined, me: str) -> tuple[Line, ...]:
    trust = f", {trust_label(event.trust)}" if event.trust else ""
    what = "unusable keys" if event.fingerprint is None else f"fingerprint {event.fingerprint.digits}"
    return (Line(f"{event.alias} joined ({what}{trust})"),)


def _member_left(event: ev.MemberLeft, me: str) -> tuple[Line, ...]:
    reason = "" if event.reason == "left" else f" ({event.reason})"
    return (Line(f"{event.alias} left{reason}"),)


def _rekeyed(event: ev.Rekeyed, me: str) -> tuple[Line, ...]:
    if event.reason == "received":
        return (Line(f"received {event.alias}'s session key {event.key_id}", quiet=True),)
    if event.reason == "replaced":
        return (Line(f"{event.alias} rekeyed (key {event.key_id})"),)
    why = REKEY_WORDS.get(event.reason, REKEY_WORDS["leave"])
    to = f", wrapped for {', '.join(event.recipients)}" if event.recipients else ""
    return (Line(f"rekeyed: {why} (key {event.key_id}{to})", quiet=event.reason in ("start", "join")),)


# --- messages -----------------------------------------------------------------------------------


def _message(event: ev.MessageReceived, me: str) -> tuple[Line, ...]:
    mark = UNVERIFIED if event.trust is TrustState.CHANGED else ""
    return (Line(event.text, Tone.MESSAGE, event.sender, event.room, mark),)


def _data(event: ev.DataReceived, me: str) -> tuple[Line, ...]:
    text = f"{event.sender} sent {len(event.data)} bytes of {event.content_type}"
    return (Line(text, room=event.room),)


def _sent(event: ev.MessageSent, me: str) -> tuple[Line, ...]:
    if event.text is None:
        return ()
    return (Line(event.text, Tone.OWN, me, event.room, quiet=True),)


def _queued(event: ev.MessageQueued, me: str) -> tuple[Line, ...]:
    return (Line(f"queued until the connection is back: {event.text}", Tone.PENDING),)


def _unsent(event: ev.MessagesUnsent, me: str) -> tuple[Line, ...]:
    return tuple(Line(f"NOT SENT ({event.reason}): {text}", Tone.WARNING) for text in event.texts)


def _warning(event: ev.WarningEvent, me: str) -> tuple[Line, ...]:
    where = "" if event.sender is None else f" from {event.sender}"
    note = REASON_NOTES.get(event.code)
    after = "" if note is None else f" ({note})"
    return (Line(f"warning {event.code}{where}: {event.message}{after}", Tone.WARNING),)


def _error(event: ev.ErrorEvent, me: str) -> tuple[Line, ...]:
    return (Line(f"error {event.code}: {event.message}", Tone.ERROR),)


# --- identities ---------------------------------------------------------------------------------


def _certificate_checked(event: ev.CertificateChecked, me: str) -> tuple[Line, ...]:
    who = "your certificate" if event.own else event.alias
    return (Line(f"{who}: {event.status.label}", Tone.SYSTEM if event.status.ok else Tone.WARNING),)


def _first_contact(event: ev.FirstContact, me: str) -> tuple[Line, ...]:
    return (Line(f"first contact with {event.alias}: key remembered (trust on first use)"),)


def _key_withheld(event: ev.KeyWithheld, me: str) -> tuple[Line, ...]:
    if event.why == "bad_identity":  # the rejection's warning says why
        return (Line(f"nothing of yours goes to {event.alias}: its identity keys are unusable", quiet=True),)
    reason = f": {event.reason}" if event.reason else ""
    return (Line(f"your key is withheld from {event.alias}{reason}", Tone.WARNING),)


def _view_differs(event: ev.ViewDiffers, me: str) -> tuple[Line, ...]:
    sender = event.sender
    words = (VIEW_WORDS[kind].format(sender=sender, member=member) for member, kind in event.differences)
    return tuple(Line(text, Tone.WARNING) for text in words)


def _departed(event: ev.Departed, me: str) -> tuple[Line, ...]:
    text = (
        f"{event.witness} saw {event.alias} leave; the relay did not tell you: new key without {event.alias}"
    )
    return (Line(text, Tone.WARNING),)


def _trusted(event: ev.Trusted, me: str) -> tuple[Line, ...]:
    return (Line(f"you marked {event.alias}'s key as verified (fingerprint {event.fingerprint.digits})"),)


def _member_row(member: ev.MemberView, you: bool = False) -> str:
    trust = f" {trust_label(member.trust)}" if member.trust else ""
    status = member.certificate_status
    cert = f"; {status.label}" if status is not None else ""
    name = f"{member.alias} (you)" if you else member.alias
    return f"  {name} {fingerprint_text(member.fingerprint)}{trust}{cert}"


def _members(event: ev.Members, me: str) -> tuple[Line, ...]:
    rows = [_member_row(event.you, you=True), *(_member_row(m) for m in event.members)]
    return (Line(f"members of #{event.room}:"), *(Line(row) for row in rows))


def _safety_number(event: ev.SafetyNumber, me: str) -> tuple[Line, ...]:
    alias = event.alias
    return (
        Line(f"safety number with {alias}: {event.number}"),
        Line(f"compare it with {alias} out of band; if it matches, /trust {alias}"),
    )


def certificate_details(
    alias: str, status: CertificateStatus | None, certificate: Certificate | None
) -> list[str]:
    """The certificate of ``alias`` in a few lines: state, alias, keys bound, issuer, validity."""
    if certificate is None:
        return [f"{alias}: {'no certificate' if status is None else status.label}"]
    bound = "RSA and ElGamal keys" if certificate.elgamal is not None else "RSA key only"
    fingerprint = certificate.identity_fingerprint
    return [
        f"{alias}'s certificate: {'not checked (no --ca given)' if status is None else status.label}",
        f"  for alias {certificate.alias}, {bound}" + (f", fingerprint {fingerprint}" if fingerprint else ""),
        f"  serial {certificate.serial}, issuer (CA key SHA-256) {certificate.issuer[:32]}...",
        f"  valid {iso8601(certificate.not_before)} to {iso8601(certificate.not_after)}",
    ]


def _certificate_details(event: ev.CertificateDetails, me: str) -> tuple[Line, ...]:
    if event.own and event.certificate is None:
        return (Line("you have no certificate (start with --cert FILE to present one)"),)
    return tuple(Line(text) for text in certificate_details(event.alias, event.status, event.certificate))


# --- files --------------------------------------------------------------------------------------


def _file_offered(event: ev.TransferOffered, me: str) -> tuple[Line, ...]:
    what = f"{event.name} ({format_size(event.size)}, SHA-256 {event.sha256[:16]}...)"
    answer = f"/accept {event.number} or /refuse {event.number}"
    text = f"{event.sender} offers {what}: {answer} (refused in {event.timeout:g} s without an answer)"
    return (Line(text, Tone.PENDING),)


def _file_started(event: ev.TransferStarted, me: str) -> tuple[Line, ...]:
    size = format_size(event.size)
    if event.direction == "out":
        to = ", ".join(event.recipients)
        return (Line(f"offering {event.name} ({size}, SHA-256 {event.sha256[:16]}...) to {to}"),)
    where = event.folder or "the downloads folder"
    return (Line(f"{event.sender} is sending {event.name} ({size}); saving it in {where}"),)


def _file_finished(event: ev.TransferFinished, me: str) -> tuple[Line, ...]:
    size = format_size(event.size)
    if event.direction == "in":
        if event.ok:
            saved = f"saved {event.name} from {event.sender} to {event.path} ({size}, SHA-256 checked)"
            return (Line(saved, Tone.GOOD),)
        return (Line(f"{event.name} from {event.sender} not saved: {event.reason}", Tone.WARNING),)
    outcomes = "; ".join(
        f"{alias} {'saved it' if saved else 'did not: ' + reason}" for alias, saved, reason in event.outcomes
    )
    if event.ok:
        return (Line(f"sent {event.name} ({size}): {outcomes}", Tone.GOOD),)
    return (Line(f"{event.name} not sent: {event.reason}", Tone.WARNING),)  # the reason names each


def _file_warning(event: ev.TransferWarning, me: str) -> tuple[Line, ...]:
    return (Line(event.message, Tone.WARNING),)


def _cancelled(event: ev.TransfersCancelled, me: str) -> tuple[Line, ...]:
    if not event.count:
        return (Line("no file transfer in progress"),)
    return (Line(f"cancelling {_plural(event.count, 'transfer')}"),)


def _nothing(event: ev.ChatEvent, me: str) -> tuple[Line, ...]:
    return ()


#: The words of each event: ``WORDS[type(event)](event, our_alias)``.
WORDS: dict[type[ev.ChatEvent], Callable[[Any, str], tuple[Line, ...]]] = {
    ev.Connected: _connected,
    ev.Disconnected: _disconnected,
    ev.Reconnecting: _reconnecting,
    ev.Reconnected: _reconnected,
    ev.GaveUp: _gave_up,
    ev.Joined: _joined,
    ev.Left: _left,
    ev.MemberJoined: _member_joined,
    ev.MemberLeft: _member_left,
    ev.Rekeyed: _rekeyed,
    ev.MessageReceived: _message,
    ev.DataReceived: _data,
    ev.MessageSent: _sent,
    ev.MessageQueued: _queued,
    ev.MessagesUnsent: _unsent,
    ev.WarningEvent: _warning,
    ev.ErrorEvent: _error,
    ev.CertificateChecked: _certificate_checked,
    ev.FirstContact: _first_contact,
    ev.KeyWithheld: _key_withheld,
    ev.ViewDiffers: _view_differs,
    ev.Departed: _departed,
    ev.Trusted: _trusted,
    ev.Members: _members,
    ev.SafetyNumber: _safety_number,
    ev.CertificateDetails: _certificate_details,
    ev.TransferOffered: _file_offered,
    ev.TransferStarted: _file_started,
    ev.TransferProgress: _nothing,  # a progress bar's business
    ev.TransferFinished: _file_finished,
    ev.TransferWarning: _file_warning,
    ev.TransfersCancelled: _cancelled,
}


def describe(event: ev.ChatEvent, me: str) -> tuple[Line, ...]:
    """The lines of ``event``, seen by the user whose alias is ``me``."""
    return WORDS[type(event)](event, me)


def plain(line: Line) -> str:
    """``line`` as the line client prints it: ``[room] sender: text``, ``* what happened``, ``! problem``."""
    if line.sender is not None:
        return f"[{line.room}] {line.sender}{line.mark}: {printable(line.text)}"
    if line.room is not None:
        prefix = f"[{line.room}]"
    else:
        prefix = "!" if line.tone in (Tone.WARNING, Tone.ERROR) else "*"
    return f"{prefix} {printable(line.text)}"


def plain_lines(event: ev.ChatEvent, me: str) -> list[str]:
    """What the line client prints for ``event`` (nothing for the quiet lines)."""
    return [plain(line) for line in describe(event, me) if not line.quiet]

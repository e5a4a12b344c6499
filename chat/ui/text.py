"""Events in words: the one table from what a client reports to the lines a user reads.

Text from other members is printed with control characters escaped (:func:`printable`), so a
member cannot send terminal escape sequences to your screen.
"""

from __future__ import annotations

from chat.client import events as ev


def printable(text: str) -> str:
    """``text`` with every non-printable character (escape sequences, newlines) shown escaped."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def plain_line(event: ev.ChatEvent) -> str | None:
    """The plain-text line of ``event``, or None for events the plain mode does not show."""
    if isinstance(event, ev.MessageReceived):
        mark = " (unverified key)" if event.trust == "changed" else ""
        return f"[{event.room}] {event.sender}{mark}: {printable(event.text)}"
    if isinstance(event, ev.DataReceived):
        return f"[{event.room}] {event.sender} sent {len(event.data)} bytes of {event.content_type}"
    if isinstance(event, ev.MemberJoined):
        shown = "unusable keys" if event.fingerprint is None else f"fingerprint {event.fingerprint.digits}"
        return f"* {event.alias} joined ({shown})"
    if isinstance(event, ev.MemberLeft):
        return f"* {event.alias} left" + ("" if event.reason == "left" else f" ({event.reason})")
    if isinstance(event, ev.WarningEvent):
        where = "" if event.sender is None else f" from {event.sender}"
        return f"! warning {event.code}{where}: {printable(event.message)}"
    if isinstance(event, ev.ErrorEvent):
        return f"! error {event.code}: {printable(event.message)}"
    if isinstance(event, ev.Joined):
        members = ", ".join(m.alias for m in event.members) or "nobody else yet"
        return (
            f"* joined {event.room} as {event.alias} ({event.suite}, kex {event.kex}; "
            f"fingerprint {event.fingerprint.digits}); members: {members}"
        )
    if isinstance(event, ev.Rekeyed):
        if event.reason == "replaced":
            return f"* {event.alias} rekeyed (key {event.key_id})"
        if event.reason == "leave":
            return f"* rekeyed: new key {event.key_id} after a member left"
        return None
    if isinstance(event, ev.Left):
        return f"* left {event.room}"
    if isinstance(event, ev.Disconnected) and not event.by_us:
        return f"! disconnected: {event.reason}"
    return None

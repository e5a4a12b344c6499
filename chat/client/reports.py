"""What the end-to-end session's results mean to a user: session events in the one vocabulary.

Pure functions: :class:`~chat.client.chat_client.ChatClient` calls them with what it knows (the
room, our alias, the trust of each member) and emits what they return.
"""

from __future__ import annotations

from collections.abc import Mapping

from chat.client import events as ev
from chat.e2e.identity import Fingerprint
from chat.e2e.session import (
    Delivered,
    Departed,
    KeyDrawn,
    KeyReceived,
    Reason,
    Rejected,
    Sent,
    SessionEvent,
    ViewDiffers,
    Withheld,
)
from chat.e2e.trust import TrustState
from chat.protocol.names import name_key


def report(
    event: SessionEvent, room: str, alias: str, trust: Mapping[str, TrustState]
) -> ev.ChatEvent | None:
    """The user's view of one session event (None for those a user does not see, like ``Held``).

    ``trust`` holds each member's trust state by case-folded alias.
    """
    if isinstance(event, Delivered):
        state = trust.get(name_key(event.sender))
        if event.content_type == "text":
            return ev.MessageReceived(
                room, event.sender, event.text, True, event.key_id, event.counter, state
            )
        return ev.DataReceived(
            room, event.sender, event.content_type, event.data, True, event.key_id, event.counter, state
        )
    if isinstance(event, Sent):
        return sent_event(event, room)
    if isinstance(event, Rejected):
        return rejection(event)
    if isinstance(event, KeyReceived):
        reason = "received" if event.replaced is None else "replaced"
        return ev.Rekeyed(event.sender, event.key_id, reason, event.replaced)
    if isinstance(event, KeyDrawn):
        return ev.Rekeyed(alias, event.key_id, event.why, None, event.recipients)
    if isinstance(event, Withheld):
        return ev.KeyWithheld(event.alias, event.why)
    if isinstance(event, ViewDiffers):
        return ev.ViewDiffers(event.sender, tuple((d.member, d.kind.value) for d in event.differences))
    if isinstance(event, Departed):
        return ev.Departed(event.alias, event.witness)
    return None


def sent_event(sent: Sent, room: str) -> ev.MessageSent:
    """Our message as it left: the text for a text message, only the size for data."""
    text = sent.text if sent.content_type == "text" else None
    return ev.MessageSent(
        room, sent.content_type, text, len(sent.data), sent.key_id, sent.counter, sent.recipients
    )


def rejection(event: Rejected) -> ev.WarningEvent:
    """A frame that failed a check, as a warning with the session's reason code."""
    if event.frame == "member" and event.reason is Reason.BAD_IDENTITY:
        message = f"{event.sender}'s identity keys are unusable: {event.detail}"
    elif event.frame == "member":
        message = f"{event.sender}'s arrival refused: {event.detail}"
    else:
        what = "key bundle" if event.frame == "key_bundle" else event.frame
        message = f"{what} from {event.sender} rejected: {event.detail}"
    return ev.WarningEvent(event.reason.value, message, event.sender)


def identity_changed(alias: str, fingerprint: Fingerprint, remembered: str | None) -> ev.WarningEvent:
    """The warning when ``alias`` comes with a key other than the one remembered (hex)."""
    before = Fingerprint(bytes.fromhex(remembered)).digits if remembered else "none"
    return ev.WarningEvent(
        "identity_changed",
        f"{alias}'s identity key changed: fingerprint now {fingerprint.digits}, remembered {before}; "
        "treat their messages as unverified until you trust the new key",
        alias,
    )

"""What the page's panels show, as DOM elements: log lines, the member list, trace records and wire frames.

The words are :mod:`chat.ui.text`'s, as in both terminal clients (events through
:func:`~chat.ui.text.describe`, trust labels, step names); this module only lays them out. A
warning or an error is a line of class ``tone-warning``/``tone-error``, which the style sheet
shows in red.
"""

from __future__ import annotations

import time
from typing import Any

from chat.client import events as ev
from chat.client.feed import WireFrame
from chat.e2e.session import TraceRecord
from chat.e2e.trust import TrustState
from chat.ui.text import STEP_NAMES, Line, fingerprint_text, printable, trust_label
from chat.web.dom import element

MAX_HEX = 96  # characters of a hex field shown in the trace (the rest is counted)
MAX_WIRE = 1500  # characters of a frame's JSON shown in the wire panel
INCOMING_STEPS = ("open", "unwrap", "reject")


def clock(moment: float | None = None) -> str:
    """Local time as HH:MM:SS."""
    return time.strftime("%H:%M:%S", time.localtime(time.time() if moment is None else moment))


def log_line(document: Any, line: Line) -> Any:
    """One line of the message log: time, then ``sender: text`` or what happened, in its tone."""
    cls = f"line tone-{line.tone.value}" + (" quiet" if line.quiet else "")
    node = element(document, "div", cls=cls)
    node.appendChild(element(document, "span", clock(), "time"))
    if line.sender is not None:
        node.appendChild(element(document, "span", line.sender, "sender"))
        if line.mark:
            node.appendChild(element(document, "span", line.mark.strip(), "mark"))
    node.appendChild(element(document, "span", printable(line.text), "text"))
    return node


def member_row(document: Any, member: ev.MemberView, *, you: bool = False) -> Any:
    """A member: alias, trust (CHANGED in red), fingerprint, and the safety-number check button."""
    trust = trust_label(member.trust)
    cls = "member" + (" changed" if member.trust is TrustState.CHANGED else "")
    node = element(document, "li", cls=cls, data_alias=member.alias)
    head = element(document, "div", cls="member-head")
    head.appendChild(element(document, "span", f"{member.alias} (you)" if you else member.alias, "alias"))
    if trust:
        head.appendChild(element(document, "span", trust, f"trust trust-{member.trust}"))
    status = member.certificate_status
    if status is not None:
        head.appendChild(element(document, "span", status.label, "cert"))
    if not you and member.fingerprint is not None:
        head.appendChild(
            element(
                document, "button", "verify", "verify", type="button", data_command=f"/verify {member.alias}"
            )
        )
    node.appendChild(head)
    node.appendChild(element(document, "div", fingerprint_text(member.fingerprint), "fingerprint"))
    if member.problem:
        node.appendChild(element(document, "div", printable(member.problem), "problem"))
    return node


def _hex(value: str) -> str:
    if len(value) <= MAX_HEX:
        return value
    return f"{value[:MAX_HEX]}… ({len(value) // 2} bytes in all)"


def outcome(record: TraceRecord) -> str:
    """``verified`` (every check passed), ``FAILED`` (one did not) or ``ours`` (nothing to check)."""
    if record.step == "reject" or record.verified is False:
        return "FAILED"
    return "verified" if record.verified else "ours"


def trace_entry(document: Any, number: int, record: TraceRecord) -> Any:
    """A trace record: a summary line (step, who, key id, counter, outcome), its fields and checks."""
    result = outcome(record)
    node = element(document, "details", cls=f"trace trace-{result.lower()}")
    who = record.sender if record.step in INCOMING_STEPS else "you"
    summary = element(document, "summary")
    for text, cls in (
        (f"#{number}", "number"),
        (clock(record.time), "time"),
        (STEP_NAMES.get(record.step, record.step), "step"),
        (who, "who"),
        (f"key {record.key_id[:12]}", "key"),
        (f"ctr {record.counter}", "ctr"),
        (result, "outcome"),
    ):
        summary.appendChild(element(document, "span", text, cls))
    node.appendChild(summary)
    fields = element(document, "dl")
    facts = [("suite", record.suite), ("key id", record.key_id)]
    if record.recipients:
        facts.append(("for", ", ".join(record.recipients)))
    for name, value in [*facts, *((name, _hex(value)) for name, value in record.fields.items())]:
        fields.appendChild(element(document, "dt", name))
        fields.appendChild(element(document, "dd", printable(value)))
    if record.checks:
        fields.appendChild(element(document, "dt", "checks"))
        fields.appendChild(
            element(
                document, "dd", "  ".join(f"{name} {'ok' if ok else 'FAILED'}" for name, ok in record.checks)
            )
        )
    fields.appendChild(element(document, "dt", "verified"))
    fields.appendChild(element(document, "dd", {True: "yes", False: "NO", None: "— (ours)"}[record.verified]))
    if record.detail:
        fields.appendChild(element(document, "dt", "detail"))
        fields.appendChild(element(document, "dd", printable(record.detail)))
    node.appendChild(fields)
    return node


def wire_entry(document: Any, frame: WireFrame) -> Any:
    """A frame as the relay sees it: direction, type, size, then its JSON (after the length)."""
    node = element(document, "div", cls=f"frame frame-{frame.direction}")
    head = element(document, "div", cls="frame-head")
    arrow = "→ sent" if frame.direction == "sent" else "← received"
    head.appendChild(element(document, "span", clock(frame.time), "time"))
    head.appendChild(element(document, "span", arrow, "direction"))
    head.appendChild(element(document, "span", frame.type, "type"))
    head.appendChild(element(document, "span", f"{len(frame.raw)} bytes", "size"))
    node.appendChild(head)
    body = frame.raw[4:].decode("utf-8", "replace")
    shown = printable(body[:MAX_WIRE]) + (f" … ({len(body) - MAX_WIRE} more)" if len(body) > MAX_WIRE else "")
    node.appendChild(element(document, "pre", shown, "frame-body"))
    return node

"""What the Textual client shows, as rich Text: the words of :mod:`chat.ui.text` with time and
colour, the member list, and the trace and wire records.

Pure functions, no widgets: the screens put their results into the log and the panels, and the
tests read them without a terminal. Text from other members is never parsed as markup and its
control characters are shown escaped (:func:`chat.ui.text.printable`), so a member cannot
restyle your screen or send it escape sequences.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence

from rich.text import Text

from chat.client import events as ev
from chat.client.feed import WireFrame
from chat.e2e.certificates import CertificateStatus
from chat.e2e.session import TraceRecord
from chat.e2e.trust import TrustState
from chat.ui.text import STEP_NAMES, Line, Tone, fingerprint_text, printable, trust_label
from ciphers.des import DESTrace

ALIAS_COLOURS = (
    "cyan",
    "green",
    "magenta",
    "yellow",
    "bright_blue",
    "bright_cyan",
    "bright_green",
    "bright_magenta",
    "orange1",
    "orchid",
    "spring_green2",
    "deep_sky_blue1",
)
SYSTEM_STYLE = "dim"
WARNING_STYLE = "bold red"
ERROR_STYLE = "red"
TONE_STYLES = {Tone.SYSTEM: SYSTEM_STYLE, Tone.GOOD: "green", Tone.PENDING: "yellow"}
TRUST_STYLES = {
    TrustState.NEW: "yellow",
    TrustState.KNOWN: "",
    TrustState.VERIFIED: "bold green",
    TrustState.CHANGED: "bold red reverse",
}
MAX_HEX = 512  # hex digits shown of one field in the trace detail
MAX_WIRE = 1200  # characters shown of one frame in the wire panel


def clock(moment: float | None = None) -> str:
    """Local time as HH:MM:SS."""
    return time.strftime("%H:%M:%S", time.localtime(time.time() if moment is None else moment))


def alias_colour(alias: str) -> str:
    """A colour per alias, the same in every client and every run (SHA-256 of the case-folded name)."""
    digest = hashlib.sha256(alias.casefold().encode("utf-8")).digest()
    return ALIAS_COLOURS[digest[0] % len(ALIAS_COLOURS)]


def message_line(moment: float, alias: str, text: str, *, mark: str = "", own: bool = False) -> Text:
    """``HH:MM:SS alias: text``, the alias in its colour (bold for our own messages)."""
    line = Text(f"{clock(moment)} ", style=SYSTEM_STYLE)
    line.append(alias, style=alias_colour(alias) + (" bold" if own else ""))
    if mark:
        line.append(mark, style=WARNING_STYLE)
    line.append(": ")
    line.append(printable(text))
    return line


def system_line(moment: float, text: str, style: str = SYSTEM_STYLE) -> Text:
    """``HH:MM:SS * text`` for joins, leaves, rekeys and other events of the room."""
    return Text.assemble((f"{clock(moment)} ", SYSTEM_STYLE), (f"* {printable(text)}", style))


def warning_line(moment: float, text: str) -> Text:
    """A red line: a failed check, a changed key, a lost connection."""
    return Text.assemble((f"{clock(moment)} ", SYSTEM_STYLE), (f"! {printable(text)}", WARNING_STYLE))


def error_line(moment: float, text: str) -> Text:
    """A red line for a mistake of ours (bad command, refused request)."""
    return Text.assemble((f"{clock(moment)} ", SYSTEM_STYLE), (f"! {printable(text)}", ERROR_STYLE))


def log_line(moment: float, line: Line) -> Text:
    """A line of :mod:`chat.ui.text` in the log: a message in its sender's colour, or a system,
    warning or error line in the colour of its tone."""
    if line.sender is not None:
        return message_line(moment, line.sender, line.text, mark=line.mark, own=line.tone is Tone.OWN)
    if line.tone is Tone.WARNING:
        return warning_line(moment, line.text)
    if line.tone is Tone.ERROR:
        return error_line(moment, line.text)
    return system_line(moment, line.text, TONE_STYLES.get(line.tone, SYSTEM_STYLE))


def trust_text(trust: TrustState | None) -> Text:
    """The member list's trust label in its style."""
    if trust is None:
        return Text("")
    return Text(trust_label(trust), style=TRUST_STYLES[trust])


def certificate_text(status: CertificateStatus | None) -> Text:
    """``certified`` in green, or the reason it is not, in red."""
    if status is None:
        return Text("")
    return Text(status.label, style="green" if status.ok else "red")


def member_list(roster: ev.Members) -> Text:
    """The member list: each alias in its colour, then its short fingerprint, trust and certificate."""
    out = Text()
    you = roster.you
    out.append(f"Members ({len(roster.members) + 1})\n", style="bold")
    out.append(you.alias, style=alias_colour(you.alias) + " bold")
    out.append(" (you)\n")
    out.append(f"  {fingerprint_text(you.fingerprint, short=True)}\n", style=SYSTEM_STYLE)
    if you.certificate_status is not None:
        out.append("  ")
        out.append_text(certificate_text(you.certificate_status))
        out.append("\n")
    for member in roster.members:
        out.append(member.alias, style=alias_colour(member.alias))
        out.append("\n")
        out.append(f"  {fingerprint_text(member.fingerprint, short=True)} ", style=SYSTEM_STYLE)
        out.append_text(trust_text(member.trust))
        out.append("\n")
        if member.certificate_status is not None:
            out.append("  ")
            out.append_text(certificate_text(member.certificate_status))
            out.append("\n")
    out.rstrip()
    return out


# --- the trace panel ----------------------------------------------------------------------------


def trace_outcome(record: TraceRecord) -> Text:
    """``verified`` (every check passed), ``FAILED`` (one did not) or ``ours`` (nothing to check)."""
    verified = record.verified
    if record.step == "reject" or verified is False:
        return Text("FAILED", style=WARNING_STYLE)
    if verified:
        return Text("verified", style="green")
    return Text("ours", style=SYSTEM_STYLE)


def trace_row(number: int, record: TraceRecord) -> tuple[str | Text, ...]:
    """A row of the trace table: number, time, step, who, key id, counter, outcome."""
    who = record.sender if record.step in ("open", "unwrap", "reject") else "you"
    return (
        str(number),
        clock(record.time),
        STEP_NAMES.get(record.step, record.step),
        who,
        record.key_id[:12],
        str(record.counter),
        trace_outcome(record),
    )


def _hex(value: str) -> str:
    if len(value) <= MAX_HEX:
        return value
    return f"{value[:MAX_HEX]}... ({len(value) // 2} bytes in all)"


def trace_detail(number: int, record: TraceRecord) -> Text:
    """Everything recorded for one step: key, IV, ciphertext, MAC, signature, wrapped keys, checks."""
    out = Text()
    action = STEP_NAMES.get(record.step, record.step)
    incoming = record.step in ("open", "unwrap", "reject")
    out.append(f"#{number} {action}", style="bold")
    out.append(f" {'from' if incoming else 'by'} {record.sender}, {record.suite}, key {record.key_id}")
    out.append(f", counter {record.counter}\n")
    if record.recipients:
        out.append(f"for: {', '.join(record.recipients)}\n")
    if record.detail:
        out.append(f"{printable(record.detail)}\n", style=SYSTEM_STYLE)
    width = max((len(name) for name in record.fields), default=0)
    for name, value in record.fields.items():
        out.append(f"{name:<{width}}  ", style="bold")
        out.append(f"{_hex(value)}\n")
    if record.checks:
        out.append("checks: ", style="bold")
        for index, (name, ok) in enumerate(record.checks):
            if index:
                out.append("  ")
            out.append(f"{name} {'ok' if ok else 'FAILED'}", style="green" if ok else WARNING_STYLE)
        out.append("\n")
    if record.first_block is not None:
        out.append(f"first block into DES: {record.first_block}", style=SYSTEM_STYLE)
        out.append("  (Enter or /trace rounds " + str(number) + ": its 16 rounds)\n", style=SYSTEM_STYLE)
    out.rstrip()
    return out


def rounds_text(number: int, record: TraceRecord, traces: Sequence[DESTrace]) -> Text:
    """The DES rounds of record ``number``'s first block: IP, then L and R after each round, then IP^-1."""
    out = Text()
    out.append(f"#{number}: the 16 DES rounds of the first block", style="bold")
    out.append(f" ({len(traces)} pass{'es' if len(traces) > 1 else ''}, FIPS 46-3)\n")
    for index, trace in enumerate(traces, 1):
        direction = "decrypt" if trace.decrypt else "encrypt"
        if len(traces) > 1:
            out.append(f"pass {index}: DES {direction}\n", style="bold")
        else:
            out.append(f"DES {direction}\n", style="bold")
        out.append(f"input {trace.block.hex()}  IP -> L0 R0 = {trace.ip_output:016x}\n")
        out.append("round  subkey K        L         R\n", style=SYSTEM_STYLE)
        for step in trace.rounds:
            out.append(f"{step.round:>5}  {step.subkey:012x}  {step.L:08x}  {step.R:08x}\n")
        out.append(f"R16 L16 = {trace.preoutput:016x}  IP^-1 -> output {trace.output.hex()}\n")
    out.append("(the subkeys come from the session key: this view is for your eyes only)", style=SYSTEM_STYLE)
    return out


# --- the wire panel -----------------------------------------------------------------------------


def wire_entry(frame: WireFrame) -> Text:
    """One frame as the relay sees it: direction, type, size, then its bytes after the length prefix."""
    arrow = "->" if frame.direction == "sent" else "<-"
    out = Text()
    out.append(f"{clock(frame.time)} {arrow} {frame.direction} ", style=SYSTEM_STYLE)
    out.append(frame.type, style="bold")
    out.append(f"  {len(frame.raw)} bytes (length prefix {frame.raw[:4].hex()})\n", style=SYSTEM_STYLE)
    body = frame.raw[4:].decode("utf-8", "replace")
    shown = printable(body[:MAX_WIRE])
    out.append(shown)
    if len(body) > MAX_WIRE:
        out.append(f" ... ({len(body) - MAX_WIRE} more characters)", style=SYSTEM_STYLE)
    return out

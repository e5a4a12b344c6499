"""The relay's console: the eavesdropper's view, in rich.

Every frame the server relays is shown with its room, sender, recipients, type and size, and a
preview of each opaque field: for a field the end-to-end formats say is binary (``iv``, ``ct``,
``mac``, ``sig``, ``wrapped``, ...) its decoded size and the hex of its first bytes, for any other
(``type``, ``kid``, ``ctr``, ``why``, ``to``, ...) the text itself. This is what the server, or
anyone tapping the wire, sees: ciphertext and metadata. The server has no plaintext to show.

The relay knows no end-to-end format, so which fields are binary, and what each suite is worth,
are given to the view by whoever starts it (``python -m chat server`` asks the suite registry);
without them nothing is decoded. Strings from clients are shown as text objects, never as markup,
and with their control characters escaped, so a client cannot restyle or scribble on the
operator's terminal.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping

from rich.console import Console
from rich.text import Text

from ciphers import strict_base64
from ciphers.errors import FormatError

PREVIEW_BYTES = 16
MAX_FIELDS_SHOWN = 8
MAX_RECIPIENTS_SHOWN = 4


def safe(text: str, limit: int = 32) -> str:
    """``text`` as shown to the operator: printable, or its escaped repr; cut at ``limit``."""
    shown = text if text.isprintable() else repr(text)[1:-1]
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def preview(value: str, *, binary: bool) -> tuple[str, str]:
    """The size and a preview of an opaque string: the hex of its first bytes if it is a binary field
    holding base64, else the text (a binary field that is not base64 is shown as text too)."""
    data = _decoded(value) if binary else None
    if data is None:
        return f"{len(value)} ch", repr(safe(value, 24))
    more = "…" if len(data) > PREVIEW_BYTES else ""
    return f"{len(data)} B", data[:PREVIEW_BYTES].hex() + more


def _decoded(value: str) -> bytes | None:
    try:
        return strict_base64.decode(value)
    except FormatError:
        return None


def _clock() -> str:
    now = time.time()
    return time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"


class WireView:
    """What the relay prints. ``frames=False`` (``--quiet``) keeps the one-line events only.

    ``binary`` names the body, payload and identity fields that hold base64: they are shown as
    bytes, every other field as text.
    """

    def __init__(self, console: Console, *, frames: bool = True, binary: Collection[str] = ()) -> None:
        self.console = console
        self.frames = frames
        self.binary = frozenset(binary)

    def _line(self, *parts: tuple[str, str] | str) -> None:
        text = Text.assemble(Text(_clock() + " ", style="dim"), *parts)
        self.console.print(text, soft_wrap=True, highlight=False)

    def started(self, host: str, port: int, suite: str, kex: str, note: str, *, insecure: bool) -> None:
        """The banner: where the relay listens and its default suite, with what it is worth."""
        self._line(
            ("relay ", "bold"), f"on {host}:{port}  default suite ", (suite, "bold cyan"), f"  kex {kex}"
        )
        self._line(("note ", "bold red" if insecure else "yellow"), note)
        self._line(("note ", "dim"), "the relay sees ciphertext and metadata only; it holds no private key")

    def connected(self, peer: str) -> None:
        self._line(("+ ", "green"), f"connection from {peer}")

    def disconnected(self, peer: str, reason: str) -> None:
        self._line(("- ", "dim"), f"{peer} disconnected ({safe(reason, 80)})")

    def challenged(self, peer: str, room: str, alias: str, challenge: bytes) -> None:
        """A join answered with its challenge: the seat waits for the proof of possession."""
        if not self.frames:
            return
        self._line(
            (f"[{room}] ", "cyan"),
            (alias, "bold"),
            f" asks to join from {peer}: challenge {len(challenge)} B ",
            (challenge[:PREVIEW_BYTES].hex() + "…", "green"),
        )

    def joined(
        self, peer: str, room: str, alias: str, suite: str, kex: str, identity: Mapping[str, str]
    ) -> None:
        keys = ", ".join(
            f"{safe(k, 16)} {preview(v, binary=k in self.binary)[0]}"
            for k, v in list(identity.items())[:MAX_FIELDS_SHOWN]
        )
        self._line(
            (f"[{room}] ", "cyan"),
            (alias, "bold"),
            f" joined from {peer}  suite {suite}/{kex}  identity: {keys or 'none'}",
        )

    def left(self, room: str, alias: str, reason: str) -> None:
        self._line((f"[{room}] ", "cyan"), (alias, "bold"), f" left ({safe(reason, 40)})")

    def refused(self, peer: str, code: str, message: str) -> None:
        """A frame refused or a client dropped: one line."""
        self._line(("! ", "bold red"), f"{peer} ", (code, "red"), f": {safe(message, 160)}")

    def relayed(
        self,
        room: str,
        sender: str,
        kind: str,
        size: int,
        recipients: int,
        body: Mapping[str, str],
        payloads: Mapping[str, Mapping[str, str]] | None = None,
        key_id: str | None = None,
    ) -> None:
        """One relayed frame as the wire shows it, then one line per opaque field."""
        if not self.frames:
            return
        extra = f" key {safe(key_id, 24)}" if key_id is not None else ""
        self._line(
            (f"[{room}] ", "cyan"),
            (sender, "bold"),
            f" → {recipients}  ",
            (f"{kind:<10}", "magenta"),
            f" {size:>7} B{extra}",
        )
        self._fields("", body)
        for alias, payload in list((payloads or {}).items())[:MAX_RECIPIENTS_SHOWN]:
            self._fields(f"→{alias} ", payload)
        if payloads and len(payloads) > MAX_RECIPIENTS_SHOWN:
            self.console.print(f"      … {len(payloads) - MAX_RECIPIENTS_SHOWN} more recipients", style="dim")

    def _fields(self, prefix: str, fields: Mapping[str, str]) -> None:
        for name, value in list(fields.items())[:MAX_FIELDS_SHOWN]:
            size, shown = preview(value, binary=name in self.binary)
            line = Text.assemble("      ", (prefix, "cyan"), (f"{safe(name, 16):<8}", "dim"), f" {size:>8}  ")
            line.append(shown, style="green")
            self.console.print(line, soft_wrap=True, highlight=False)
        if len(fields) > MAX_FIELDS_SHOWN:
            self.console.print(f"      … {len(fields) - MAX_FIELDS_SHOWN} more fields", style="dim")

    def stopping(self, clients: int) -> None:
        self._line(("shutdown ", "bold"), f"telling {clients} client(s)")

"""``python -m chat client``: the line-mode client, one line in per message, one line out per event.

Input: each line of stdin is a message, except commands: ``/who``, ``/leave``, ``/join ROOM``,
``/quit``, ``/help``. Output on stdout, one line per event::

    * joined lobby as alice (3des, kex rsa; fingerprint 04521 88310 ...); members: bob
    [lobby] bob: hello
    * carol joined (fingerprint 12345 67890 ...)
    * carol left
    ! warning bad_signature from bob: message from bob rejected: not signed by bob's identity key

``--json`` prints the same events as JSON lines with an ``event`` field (plus ``sent`` for our own
messages). At the end of input everything already read is sent before the client leaves and
disconnects: nothing typed is lost. If the server cannot be reached or goes away, one line on
stderr and exit status 1. Text from others is printed with control characters escaped, so a
member cannot send terminal escape sequences to your screen.

When stdin is a terminal and neither ``--plain`` nor ``--json`` is given, a module ``chat.tui``
exposing ``run(args) -> int`` is started instead, if it is installed (the Textual client); there
``--alias`` and ``--room`` may be left out, and a join screen asks for them.

Identity keys persist per alias under ``$XDG_CONFIG_HOME/cipherchat/identities/ALIAS``
(:func:`chat.identity.default_identity_dir`; private keys 0600), so a fingerprint stays the same
between runs; ``--identity DIR`` keeps them elsewhere, ``--ephemeral`` uses fresh keys once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from chat import client_events as ev
from chat.certificates import read_certificate
from chat.client import DEFAULT_HOST, DEFAULT_PORT, ChatClient, ClientError
from chat.identity import Identity, IdentityError, default_identity_dir
from chat.protocol.names import name_problem
from chat.suites import KEX_NAMES, SUITE_NAMES, suite
from ciphers.cli.common import UsageError
from ciphers.errors import CryptoError

try:  # POSIX: serialise the first creation of an identity between two clients started at once
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

EXIT_OK = 0
EXIT_FAILED = 1
INPUT_QUEUE = 256
DEFAULT_ROOM = "lobby"
HELP = "commands: /who, /leave, /join ROOM, /quit, /help; anything else is sent as a message"


def register(sub: Any) -> None:
    """Add the ``client`` sub-command to ``python -m chat``."""
    parser = sub.add_parser(
        "client",
        help="chat client, end-to-end encrypted (Textual on a terminal, line mode otherwise)",
        description="Chat through a relay that sees only ciphertext. On a terminal this is the Textual "
        "client (/help inside); with --plain or --json, or stdin not a terminal, lines from stdin are "
        "messages and /who, /leave, /join ROOM and /quit are commands.",
    )
    parser.add_argument(
        "--alias",
        help="your name in the room (1-32 of A-Z a-z 0-9 _ - .); the Textual client asks when it is missing",
    )
    parser.add_argument("--room", help="room to join (default lobby; the Textual client asks when missing)")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"relay address (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"relay port (default {DEFAULT_PORT})")
    parser.add_argument("--cipher", choices=SUITE_NAMES, help="suite to ask for if the room is new")
    parser.add_argument("--kex", choices=KEX_NAMES, help="key exchange to ask for if the room is new")
    parser.add_argument(
        "--identity",
        metavar="DIR",
        help="load (or create) identity keys in DIR (default: per alias under $XDG_CONFIG_HOME/cipherchat)",
    )
    parser.add_argument(
        "--ephemeral", action="store_true", help="fresh identity keys for this run only (not saved)"
    )
    parser.add_argument("--cert", metavar="FILE", help="certificate to present on join (python -m chat ca)")
    parser.add_argument(
        "--ca", metavar="CA.pub.pem", help="Textual client: check every member's certificate against this CA"
    )
    parser.add_argument("--downloads", metavar="DIR", help="Textual client: where received files are saved")
    parser.add_argument("--plain", action="store_true", help="line mode even on a terminal")
    parser.add_argument("--json", action="store_true", help="print events as JSON lines")
    parser.add_argument("--hold-timeout", type=float, default=3.0, help=argparse.SUPPRESS)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Check the arguments, then run the Textual client or the line client."""
    for value, what in ((args.alias, "alias"), (args.room, "room name")):
        problem = None if value is None else name_problem(value, what)
        if problem is not None:
            raise UsageError(problem)
    if not 0 < args.port <= 65535:
        raise UsageError(f"--port must be 1 to 65535, got {args.port}")
    if args.identity is not None and args.ephemeral:
        raise UsageError("--identity and --ephemeral exclude each other")
    if sys.stdin.isatty() and not (args.plain or args.json):
        # Imported here: Textual is not loaded for line mode, and chat.tui uses this module.
        from chat.tui import run as run_tui

        return run_tui(args)
    if args.alias is None:
        raise UsageError("--alias is required in line mode")
    certificate = read_certificate_text(args.cert)
    identity = alias_identity(args.alias, args.identity, ephemeral=args.ephemeral)
    options = LineOptions(
        alias=args.alias,
        room=args.room or DEFAULT_ROOM,
        certificate=certificate,
        host=args.host,
        port=args.port,
        cipher=args.cipher,
        kex=args.kex,
        json=args.json,
        hold_timeout=args.hold_timeout,
    )
    return asyncio.run(run_line_client(options, identity, _stdin_lines, sys.stdout, sys.stderr))


def alias_identity(
    alias: str, directory: str | os.PathLike[str] | None = None, *, ephemeral: bool = False
) -> Identity | None:
    """The identity of ``alias``: kept in ``directory`` or its per-alias default; None when ephemeral.

    The first run creates and saves it (private keys 0600); later runs load it, so the fingerprint
    others remember stays the same. Two clients of one alias starting at once share one new key.
    """
    if ephemeral:
        return None
    path = Path(directory) if directory is not None else default_identity_dir(alias)
    try:
        with _creation_lock(path):
            return Identity.load_or_create(path)
    except IdentityError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot keep identity keys in {path}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _creation_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on a file in ``path`` (created 0700) while the identity is read or created."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read_certificate_text(path: str | None) -> str | None:
    """The certificate in ``path`` (``--cert``) as sent on join; UsageError in one line if unreadable."""
    if path is None:
        return None
    try:
        return read_certificate(path).encode()
    except CryptoError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot read certificate {path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class LineOptions:
    """What the line client needs from the command line."""

    alias: str
    room: str = "lobby"
    certificate: str | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    cipher: str | None = None
    kex: str | None = None
    json: bool = False
    hold_timeout: float = 3.0


# --- input --------------------------------------------------------------------------------------

LineSource = Callable[[asyncio.AbstractEventLoop, "asyncio.Queue[str | None]"], None]


def _stdin_lines(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    """Read stdin in a daemon thread (works for pipes, files and terminals), None at its end."""

    def reader() -> None:
        try:
            for line in sys.stdin:
                asyncio.run_coroutine_threadsafe(queue.put(line.rstrip("\r\n")), loop).result()
        except (RuntimeError, ValueError, OSError):  # loop closed, or stdin closed under us
            return
        except UnicodeDecodeError:
            pass
        try:
            asyncio.run_coroutine_threadsafe(queue.put(None), loop).result()
        except RuntimeError:
            return

    threading.Thread(target=reader, name="stdin", daemon=True).start()


# --- output -------------------------------------------------------------------------------------


def printable(text: str) -> str:
    """``text`` with every non-printable character (escape sequences, newlines) shown escaped."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


class Printer:
    """Formats events as the plain lines documented above, or as JSON lines."""

    def __init__(self, out: TextIO, as_json: bool) -> None:
        self.out = out
        self.as_json = as_json

    def line(self, text: str) -> None:
        try:
            self.out.write(text + "\n")
            self.out.flush()
        except (BrokenPipeError, ValueError):
            pass

    def record(self, record: dict[str, Any]) -> None:
        self.line(json.dumps(record, ensure_ascii=False, sort_keys=False))

    def event(self, event: ev.ClientEvent) -> None:
        if self.as_json:
            self.record(event.to_dict())
        else:
            text = plain_line(event)
            if text is not None:
                self.line(text)
        if isinstance(event, ev.Joined) and event.insecure:
            self.event(
                ev.WarningEvent("insecure_suite", f"{event.suite} is insecure: {suite(event.suite).note}")
            )


def plain_line(event: ev.ClientEvent) -> str | None:
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


# --- the session --------------------------------------------------------------------------------


async def run_line_client(
    options: LineOptions,
    identity: Identity | None,
    source: LineSource,
    out: TextIO,
    err: TextIO,
) -> int:
    """Connect, join, then send each input line and print each event until input ends or /quit."""
    printer = Printer(out, options.json)
    client = ChatClient(
        options.alias,
        identity,
        hold_timeout=options.hold_timeout,
        client_name="cipherchat-line",
        certificate=options.certificate,
    )
    try:
        await client.connect(options.host, options.port)
        await client.join(options.room, options.cipher, options.kex)
    except ClientError as exc:
        err.write(f"error: {exc.message}\n")
        await client.close()
        return EXIT_FAILED
    lost = asyncio.Event()
    printing = asyncio.ensure_future(_print_events(client, printer, lost))
    queue: asyncio.Queue[str | None] = asyncio.Queue(INPUT_QUEUE)
    source(asyncio.get_running_loop(), queue)
    status = await _process_input(client, queue, printer, lost, err)
    await client.close()
    await printing
    return status


async def _print_events(client: ChatClient, printer: Printer, lost: asyncio.Event) -> None:
    async for event in client.events():
        printer.event(event)
        if isinstance(event, ev.Disconnected) and not event.by_us:
            lost.set()


class _Lost:
    """The connection ended while we waited for input."""


LOST = _Lost()


async def _next_line(queue: asyncio.Queue[str | None], lost: asyncio.Event) -> str | _Lost | None:
    """The next input line, None at its end, or LOST if the connection ended meanwhile."""
    if lost.is_set():
        return LOST
    getter = asyncio.ensure_future(queue.get())
    waiter = asyncio.ensure_future(lost.wait())
    await asyncio.wait({getter, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if getter.done():
        return getter.result()
    getter.cancel()
    return LOST


async def _process_input(
    client: ChatClient,
    queue: asyncio.Queue[str | None],
    printer: Printer,
    lost: asyncio.Event,
    err: TextIO,
) -> int:
    while True:
        line = await _next_line(queue, lost)
        if isinstance(line, _Lost):
            return _report_unsent(queue, err)
        if line is None or line == "/quit":
            return EXIT_OK
        try:
            if line.startswith("/"):
                await _command(client, line, printer)
            elif line.strip():
                await client.send(line)
        except ValueError as exc:
            printer.event(ev.ErrorEvent("too_large", str(exc)))
        except ClientError as exc:
            if not client.connected:
                err.write(f"! not sent: {printable(line)}\n")
                return _report_unsent(queue, err)
            printer.event(ev.ErrorEvent(exc.code, exc.message))


def _report_unsent(queue: asyncio.Queue[str | None], err: TextIO) -> int:
    """Name every line read but not sent: nothing is lost silently."""
    while not queue.empty():
        line = queue.get_nowait()
        if line is not None and line.strip() and line != "/quit":
            err.write(f"! not sent: {printable(line)}\n")
    err.flush()
    return EXIT_FAILED


async def _command(client: ChatClient, line: str, printer: Printer) -> None:
    command, _, argument = line.partition(" ")
    argument = argument.strip()
    if command == "/who":
        _who(client, printer)
    elif command == "/leave":
        await client.leave()
    elif command == "/join":
        if not argument:
            printer.event(ev.ErrorEvent("usage", "usage: /join ROOM"))
            return
        if client.in_room:
            await client.leave()
        await client.join(argument)
    elif command == "/help":
        if printer.as_json:
            printer.record({"event": "help", "text": HELP})
        else:
            printer.line(f"* {HELP}")
    else:
        printer.event(ev.ErrorEvent("unknown_command", f"unknown command {command}; {HELP}"))


def _who(client: ChatClient, printer: Printer) -> None:
    if client.room is None:
        printer.event(ev.ErrorEvent("not_in_room", "not in a room (use /join ROOM)"))
        return
    members = client.members
    if printer.as_json:
        printer.record(
            {
                "event": "members",
                "room": client.room,
                "you": {"alias": client.alias, "fingerprint": client.fingerprint},
                "members": [m.to_dict() for m in members],
            }
        )
        return
    shown = [f"{client.alias} (you, {client.identity.fingerprint.short})"]
    for member in members:
        print_ = "unusable keys" if member.fingerprint is None else member.fingerprint.short
        shown.append(f"{member.alias} ({print_})")
    printer.line(f"* members of {client.room}: {', '.join(shown)}")

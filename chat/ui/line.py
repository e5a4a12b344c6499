"""The line client: one line in per message, one line out per event.

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
stderr and exit status 1.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from chat.client import events as ev
from chat.client.chat_client import DEFAULT_HOST, DEFAULT_PORT, ChatClient
from chat.client.errors import ClientError
from chat.e2e.identity import Identity
from chat.e2e.suites import suite
from chat.ui.text import plain_line, printable

EXIT_OK = 0
EXIT_FAILED = 1
INPUT_QUEUE = 256
DEFAULT_ROOM = "lobby"
HELP = "commands: /who, /leave, /join ROOM, /quit, /help; anything else is sent as a message"


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


def stdin_lines(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
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

    def event(self, event: ev.ChatEvent) -> None:
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

"""The line client: one line in per message or command, a line or a few out per event.

Input: each line of stdin is a message, or one of the commands of the Textual client
(:mod:`chat.ui.commands`: ``/who``, ``/verify ALIAS``, ``/trust ALIAS``, ``/cert [ALIAS]``,
``/send PATH``, ``/accept [ID]``, ``/refuse [ID]``, ``/cancel``, ``/join ROOM``, ``/leave``,
``/help``, ``/quit``) except those that open its panels. Output on stdout, in the words of
:mod:`chat.ui.text`::

    * joined #lobby as alice (3des, kex rsa): 3DES-CBC + HMAC-SHA256; ...; members: bob
    * your fingerprint: 04521 88310 ...
    [lobby] bob: hello
    * carol joined (fingerprint 12345 67890 ..., new)
    ! warning identity_changed from dave: dave's identity key changed: ...

``--json`` prints every event as a JSON line with an ``event`` field instead (``sent`` for our
own messages, ``members`` for ``/who``...). The client runs on the application core
(:mod:`chat.app.chat_session`) as the Textual client does: it reconnects when the server goes
away, remembers the fingerprints it has seen, checks certificates under ``--ca`` and sends files.
It receives them only with ``--accept-files`` (within the quotas): nobody is there to ask, so
without it every offer is refused in one line, and the sender is told why.

At the end of input everything already read is sent (messages and files) before the client leaves
and disconnects: nothing typed is lost. If the server cannot be reached, one line on stderr and
exit status 1; if it goes away and reconnecting gives up, every line not sent is named on stderr
and the exit status is 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from chat.app.chat_session import ChatSession
from chat.client import events as ev
from chat.client.errors import ClientError
from chat.e2e.certificates import Certificate
from chat.ui import commands as cmd
from chat.ui.options import DEFAULT_ROOM, ClientOptions
from chat.ui.runner import CommandRunner
from chat.ui.text import plain_lines, printable
from ciphers.rsa.keys import RSAPublicKey

EXIT_OK = 0
EXIT_FAILED = 1
INPUT_QUEUE = 256
CLIENT_NAME = "cipherchat-line"
HELP = (
    "commands: "
    + ", ".join(item.usage for item in cmd.COMMANDS if not item.panel)
    + "; anything else is sent as a message"
)
PANELS = {cmd.ShowTrace: "/trace", cmd.ShowWire: "/wire", cmd.ShowChat: "/chat"}

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


# --- output -------------------------------------------------------------------------------------


class LineView:
    """Events as the plain lines documented above, or as JSON lines; the runner's view."""

    def __init__(self, out: TextIO, as_json: bool, alias: str) -> None:
        self.out = out
        self.as_json = as_json
        self.alias = alias
        self.quit = asyncio.Event()

    def line(self, text: str) -> None:
        try:
            self.out.write(text + "\n")
            self.out.flush()
        except (BrokenPipeError, ValueError):
            pass

    def record(self, record: dict[str, Any]) -> None:
        self.line(json.dumps(record, ensure_ascii=False, sort_keys=False))

    def show(self, event: ev.ChatEvent) -> None:
        if self.as_json:
            self.record(event.to_dict())
            return
        for text in plain_lines(event, self.alias):
            self.line(text)

    def view_command(self, command: cmd.ViewCommand) -> None:
        if isinstance(command, cmd.Quit):
            self.quit.set()
        elif isinstance(command, cmd.Help):
            if self.as_json:
                self.record({"event": "help", "text": HELP})
            else:
                self.line(f"* {HELP}")
        else:
            name = PANELS[type(command)]
            self.show(
                ev.ErrorEvent(
                    "not_in_line_mode",
                    f"{name} shows a panel of the Textual client; line mode has none "
                    "(run on a terminal without --plain or --json)",
                )
            )

    def report_internal(self, exc: BaseException) -> None:
        self.show(ev.ErrorEvent("internal_error", f"internal error: {type(exc).__name__}: {exc}"))


# --- the session --------------------------------------------------------------------------------


async def run_line_client(
    options: ClientOptions,
    source: LineSource,
    out: TextIO,
    err: TextIO,
    *,
    ca: RSAPublicKey | None = None,
    certificate: Certificate | None = None,
) -> int:
    """Join, then perform each input line and print each event until input ends or /quit."""
    assert options.alias is not None
    view = LineView(out, options.json, options.alias)
    session = ChatSession.for_alias(
        options.session(options.alias, ca=ca, certificate=certificate, client_name=CLIENT_NAME)
    )
    try:
        await session.open(options.room or DEFAULT_ROOM, options.cipher, options.kex)
    except ClientError as exc:
        err.write(f"error: {exc.message}\n")
        return EXIT_FAILED
    gave_up = asyncio.Event()
    printing = asyncio.ensure_future(_print_events(session, view, gave_up))
    runner = CommandRunner(view, session)
    acting = asyncio.ensure_future(runner.run())
    queue: asyncio.Queue[str | None] = asyncio.Queue(INPUT_QUEUE)
    source(asyncio.get_running_loop(), queue)
    stops = (view.quit, gave_up)
    while not any(stop.is_set() for stop in stops):
        line = await _until(queue.get(), stops)
        if line is None:
            break
        runner.submit(line)
        await _until(runner.drain(), stops)  # one line at a time, as typed
    if not gave_up.is_set():
        await _until(_settle(runner, session), (gave_up,))
    await session.close()
    await printing
    acting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await acting
    unread = _unread(queue) if gave_up.is_set() else []  # after /quit the rest is left unsaid
    unsent = [*session.unsent, *runner.pending(), *unread]
    for text in unsent:
        err.write(f"! not sent: {printable(text)}\n")
    err.flush()
    return EXIT_FAILED if unsent or gave_up.is_set() else EXIT_OK


async def _print_events(session: ChatSession, view: LineView, gave_up: asyncio.Event) -> None:
    async for event in session.events():
        view.show(event)
        if isinstance(event, ev.GaveUp):
            gave_up.set()


async def _settle(runner: CommandRunner, session: ChatSession) -> None:
    """Everything read has been performed and has left (or was reported unsent)."""
    await runner.drain()
    await session.wait_idle()


async def _until(work: Awaitable[Any], stops: tuple[asyncio.Event, ...]) -> Any:
    """The result of ``work``, or None as soon as one of ``stops`` is set."""
    task = asyncio.ensure_future(work)
    waiters = [asyncio.ensure_future(stop.wait()) for stop in stops]
    await asyncio.wait([task, *waiters], return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
    if task.done():
        return task.result()
    task.cancel()
    return None


def _unread(queue: asyncio.Queue[str | None]) -> list[str]:
    """The lines read from stdin but never taken up (blank lines and /quit are not messages)."""
    lines = []
    while not queue.empty():
        line = queue.get_nowait()
        if line is not None and line.strip() and line != "/quit":
            lines.append(line)
    return lines

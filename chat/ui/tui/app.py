"""The Textual chat client: a view over the application core (:mod:`chat.app.chat_session`).

The app renders and takes keys; the session does the rest. Network work runs in Textual workers
on the app's event loop, never in a handler: one opens the session, one reads its events, one
each reads the trace and wire feeds, and one performs what is typed in order
(:class:`chat.ui.runner.CommandRunner`). Every event is worded by :mod:`chat.ui.text` and
coloured by :mod:`chat.ui.tui.format`; the layout is ``app.tcss``. A failure anywhere becomes a
red line in the log; no traceback ever reaches the screen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import WorkerFailed

from chat.app.chat_session import ChatSession
from chat.client import events as ev
from chat.client.backoff import Backoff
from chat.client.chat_client import ChatClient
from chat.client.errors import ClientError, ConnectError, JoinError
from chat.client.feed import Subscription, WireFrame
from chat.client.store import StoreError
from chat.e2e.certificates import Certificate
from chat.e2e.identity import Identity, IdentityError
from chat.e2e.session import TraceRecord
from chat.e2e.suites import suite as suite_info
from chat.ui import commands as cmd
from chat.ui.options import ClientOptions
from chat.ui.runner import CommandRunner
from chat.ui.text import describe
from chat.ui.tui import format as fmt
from chat.ui.tui.guard import guarded, guarded_async
from chat.ui.tui.screens import HelpScreen, JoinScreen, MainScreen, VerifyScreen
from chat.ui.tui.settings import JOIN_FIELDS, JoinRequest, check_join_form
from ciphers.rsa.keys import RSAPublicKey

CLIENT_NAME = "cipherchat-tui"
IdentitySource = Callable[[str], Identity | None]


class ChatApp(App[int]):
    """The chat client people use: join screen, main screen, panels, over one ChatSession."""

    TITLE = "cipherchat"
    ENABLE_COMMAND_PALETTE = False
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "help", "Help"),
    ]

    def __init__(
        self,
        options: ClientOptions,
        *,
        ca: RSAPublicKey | None = None,
        certificate: Certificate | None = None,
        identities: IdentitySource | None = None,
        client_options: dict[str, Any] | None = None,
        backoff: Backoff | None = None,
        resilience: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.options = options
        self.ca = ca
        self.certificate = certificate
        self.identities = identities  # None: each alias's keys from the store
        self.client_options = client_options or {}
        self.backoff = backoff
        self.resilience = resilience or {}
        self.session: ChatSession | None = None
        self.runner = CommandRunner(self)
        self.unsent_on_exit: tuple[str, ...] = ()  # still queued when we quit: run() prints them
        self.request: JoinRequest | None = None
        self.main_screen = MainScreen()
        self.internal_errors: list[str] = []
        self._state = "offline"  # before a session is open
        self._quitting = False

    # --- the session's state --------------------------------------------------------------------

    @property
    def client(self) -> ChatClient | None:
        """The session's client (members, trust, trace, wire...), None before one is open."""
        return None if self.session is None else self.session.client

    @property
    def suite(self) -> str | None:
        """The suite of the room we are in."""
        joined = None if self.session is None else self.session.joined
        return None if joined is None else joined.suite

    @property
    def unsent(self) -> list[str]:
        """Every text reported unsent."""
        return [] if self.session is None else list(self.session.unsent)

    @property
    def state(self) -> str:
        return self._state if self.session is None else self.session.state

    # --- start ----------------------------------------------------------------------------------

    @guarded_async
    async def on_mount(self) -> None:
        await self.push_screen(self.main_screen)
        self.run_worker(self.runner.run(), group="actions", name="actions")
        self.refresh_header()
        options = self.options
        if not options.skip_join_screen:
            self.show_join_screen()
            return
        assert options.alias is not None and options.room is not None
        request, problems = check_join_form(
            options.host, str(options.port), options.alias, options.room, options.cipher, options.kex
        )
        if request is None:
            self.show_join_screen(next(iter(problems.items())))
            return
        self.say(f"connecting to {request.server} as {request.alias}...")
        self.start_session(request)

    def show_join_screen(self, problem: tuple[str, str] | None = None) -> None:
        """Ask where and as whom to join (prefilled), with ``problem`` shown under its field."""
        request, options = self.request, self.options
        self.push_screen(
            JoinScreen(
                host=request.host if request else options.host,
                port=request.port if request else options.port,
                alias=request.alias if request else options.alias,
                room=request.room if request else options.room,
                cipher=options.cipher,
                kex=options.kex,
                problem=problem,
            )
        )

    def start_session(self, request: JoinRequest) -> None:
        """Connect and join in a worker; the join screen (if shown) closes on success or shows why not."""
        self._state = "connecting"
        self.refresh_header()
        self.run_worker(self._open_session(request), group="session", exclusive=True, name="join")

    async def _open_session(self, request: JoinRequest) -> None:
        options = self.options.session(
            request.alias,
            ca=self.ca,
            certificate=self.certificate,
            client_name=CLIENT_NAME,
            ask=True,
            host=request.host,
            port=request.port,
            backoff=self.backoff,
        )
        wiring, resilience = self.client_options, self.resilience
        try:
            if self.identities is None:
                session = ChatSession.for_alias(options, client_options=wiring, resilience=resilience)
            else:
                identity = self.identities(request.alias)
                session = ChatSession(options, identity, client_options=wiring, resilience=resilience)
        except (StoreError, IdentityError, ValueError) as exc:
            self._join_failed("alias", str(exc))
            return
        await self._close_session()
        trace, wire = session.trace.subscribe(), session.wire.subscribe()
        try:
            await session.open(request.room, request.cipher, request.kex)
        except ConnectError as exc:
            self._join_failed("host", exc.message)
            return
        except JoinError as exc:
            self._join_failed(JOIN_FIELDS.get(exc.code, "status"), exc.message)
            return
        except ClientError as exc:
            self._join_failed("status", exc.message)
            return
        self.session = self.runner.session = session
        self.request = request
        self.run_worker(self._pump_events(session), group="events", exclusive=True, name="events")
        self.run_worker(self._pump_trace(session, trace), group="trace", exclusive=True, name="trace")
        self.run_worker(self._pump_wire(session, wire), group="wire", exclusive=True, name="wire")
        if isinstance(self.screen, JoinScreen):
            self.pop_screen()
        self.main_screen.query_one("#input").focus()

    def _join_failed(self, field: str, message: str) -> None:
        self._state = "offline"
        self.refresh_header()
        screen = self.screen
        if isinstance(screen, JoinScreen):
            screen.show_problem(field, message)
        else:
            self.show(ev.ErrorEvent("not_joined", message))
            self.show_join_screen((field, message))

    async def _close_session(self) -> tuple[str, ...]:
        """Close the session (transfers cancelled, no partial file left; bounded); the texts unsent."""
        session, self.session = self.session, None
        self.runner.session = None
        return () if session is None else await session.close()

    # --- feeds ----------------------------------------------------------------------------------

    async def _pump_events(self, session: ChatSession) -> None:
        async for event in session.events():
            if session is not self.session:
                return
            try:
                self.show(event)
            except Exception as exc:
                self.report_internal(exc)

    async def _pump_trace(self, session: ChatSession, subscription: Subscription[TraceRecord]) -> None:
        async for record in subscription:
            if session is not self.session:
                break
            self.main_screen.trace.add(record)
        subscription.close()

    async def _pump_wire(self, session: ChatSession, subscription: Subscription[WireFrame]) -> None:
        async for frame in subscription:
            if session is not self.session:
                break
            self.main_screen.wire.add_frame(frame)
        subscription.close()

    # --- the runner's view ----------------------------------------------------------------------

    def show(self, event: ev.ChatEvent) -> None:
        """Put ``event`` in the log (and the bars, a dialog), then update the header and member list."""
        alias = self.session.alias if self.session is not None else (self.options.alias or "you")
        for line in describe(event, alias):
            self.main_screen.add(fmt.log_line(event.time, line))
        if isinstance(event, ev.TransferStarted | ev.TransferProgress | ev.TransferFinished):
            self.main_screen.transfers.show(event)
            return  # the room and its members are as they were
        if isinstance(event, ev.TransferOffered):
            answer = f"/accept {event.number} or /refuse {event.number}"
            self.notify(f"{event.sender} offers {event.name}: {answer}", title="File offer", timeout=10)
            return
        if isinstance(event, ev.SafetyNumber):
            self._confirm(event)
        elif isinstance(event, ev.GaveUp):
            self.say("/join ROOM to try again")
        elif isinstance(event, ev.Joined) and self.request is not None and self.request.room != event.room:
            host, port, alias = self.request.host, self.request.port, self.request.alias
            self.request = JoinRequest(host, port, alias, event.room)
        self.refresh_header()
        self.refresh_members()

    def say(self, text: str) -> None:
        """A line of the Textual client's own (it has no event): dim, like the room's events."""
        self.main_screen.add(fmt.system_line(time.time(), text))

    def view_command(self, command: cmd.ViewCommand) -> None:
        """Help, the panels and quitting."""
        if isinstance(command, cmd.Help):
            self.action_help()
        elif isinstance(command, cmd.ShowTrace) and command.rounds:
            self.show_rounds(command.record)
        elif isinstance(command, cmd.ShowTrace):
            self.main_screen.action_panel("trace")
        elif isinstance(command, cmd.ShowWire):
            self.main_screen.action_panel("wire")
        elif isinstance(command, cmd.ShowChat):
            self.main_screen.show_panel("chat")
        else:
            self.run_worker(self.action_quit(), group="quit", name="quit")

    def handle_line(self, line: str) -> None:
        """What the user typed: a message or a command (mistakes become a red line)."""
        self.runner.submit(line)

    def _confirm(self, check: ev.SafetyNumber) -> None:
        """The safety number in a dialog; "They match: trust" trusts the key as /trust would."""
        me = self.session.alias if self.session is not None else "you"
        screen = VerifyScreen(
            me, check.own_fingerprint.digits, check.alias, check.fingerprint.digits, check.number
        )

        def done(trusted: bool | None) -> None:
            try:
                if trusted:
                    self.runner.perform(cmd.Trust(check.alias))
            except Exception as exc:
                self.report_internal(exc)

        self.push_screen(screen, done)

    # --- header, members, rounds ----------------------------------------------------------------

    def refresh_header(self) -> None:
        session, request = self.session, self.request
        server = request.server if request else f"{self.options.host}:{self.options.port}"
        joined = None if session is None else session.joined
        suite = None
        if joined is not None:
            info = suite_info(joined.suite)
            suite = f"{info.name}/{joined.kex}" if info.hybrid else info.name
        self.main_screen.header.show(
            server=server,
            room=session.room if session else None,
            suite=suite,
            insecure=joined is not None and joined.insecure,
            alias=session.alias if session else (request.alias if request else self.options.alias),
            fingerprint=session.fingerprint if session else None,
            state=self.state,
        )

    def refresh_members(self) -> None:
        session = self.session
        if session is None or session.client.room is None:
            self.main_screen.members.show(Text("not in a room", style="dim"))
            return
        self.main_screen.members.show(fmt.member_list(session.who()))

    def show_rounds(self, number: int | None) -> None:
        """The 16 DES rounds of trace record ``number`` (the newest that has a block when None)."""
        panel = self.main_screen.trace
        if number is None:
            number = panel.last_with_block()
            if number is None:
                self._refuse("no DES block traced yet: send or receive a message in a des or 3des room")
                return
        record = panel.records.get(number)
        if record is None:
            self._refuse(f"no trace record #{number}")
            return
        if record.first_block is None:
            self._refuse(
                f"trace record #{number} has no DES block: only messages of the des and 3des suites have one"
            )
            return
        traces = None if self.session is None else self.session.round_trace(record)
        if traces is None:
            self._refuse(
                f"the rounds of #{number} are gone: its session key was replaced, or you left the room"
            )
            return
        panel.show(fmt.rounds_text(number, record, traces))
        self.main_screen.show_panel("trace")

    def _refuse(self, message: str) -> None:
        self.show(ev.ErrorEvent("no_rounds", message))

    # --- app actions ----------------------------------------------------------------------------

    @guarded
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    @guarded_async
    async def action_quit(self) -> None:
        """Leave the room, disconnect (bounded), exit."""
        if self._quitting:
            return
        self._quitting = True
        self.unsent_on_exit += await self._close_session()
        self.exit(0)

    # --- failures -------------------------------------------------------------------------------

    def report_internal(self, exc: BaseException) -> None:
        """A bug of ours: one red line, and the app goes on."""
        if isinstance(exc, WorkerFailed):
            exc = exc.error
        text = f"internal error: {type(exc).__name__}: {exc}"
        self.internal_errors.append(text)
        try:
            self.main_screen.add(fmt.warning_line(time.time(), text))
        except Exception:
            self.notify(text, severity="error")

    def _handle_exception(self, error: Exception) -> None:
        """What no guard caught: a failed worker is a red line; anything else ends the app in one line.

        Textual has already stopped the widget whose handler raised, so going on is not safe;
        :func:`chat.ui.tui.run` prints the line instead of a traceback.
        """
        if isinstance(error, WorkerFailed) and self.main_screen.is_mounted and not self._quitting:
            self.report_internal(error)
            return
        cause = error.error if isinstance(error, WorkerFailed) else error
        self.internal_errors.append(f"internal error: {type(cause).__name__}: {cause}")
        self.exit(1, return_code=1)

"""The Textual chat client: the app owns the connection, the screens show it.

Network work runs in Textual workers on the app's event loop, never in a handler: one worker
connects and joins, one reads the client's events, one each reads the trace and wire feeds,
and one performs the user's messages and room commands in the order they were typed. Local
commands (/who, /verify, /trust, /trace, ...) act at once. A failure anywhere becomes a red line
in the log; no traceback ever reaches the screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import WorkerFailed

from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.client.errors import ClientError, ConnectError, JoinError
from chat.client.events import (
    GaveUp,
    MessageQueued,
    MessagesUnsent,
    Reconnected,
    Reconnecting,
    TransferEvent,
    TransferFinished,
    TransferProgress,
    TransferStarted,
    TransferWarning,
)
from chat.client.feed import Subscription, WireFrame
from chat.client.reconnect import Backoff, ConnectionState, ResilientClient
from chat.client.store import alias_identity, known_peers_path
from chat.e2e.certificates import (
    Certificate,
    CertificateState,
    CertificateStatus,
    check_presented,
    load_certificate,
)
from chat.e2e.identity import Identity, IdentityError
from chat.e2e.session import TraceRecord
from chat.e2e.suites import suite as suite_info
from chat.e2e.trust import KnownPeers
from chat.protocol.names import name_key
from chat.transfer.downloads import format_size
from chat.transfer.manager import TransferError, TransferManager
from chat.ui.tui import commands as cmd
from chat.ui.tui import format as fmt
from chat.ui.tui.guard import guarded, guarded_async
from chat.ui.tui.screens import HelpScreen, JoinScreen, MainScreen, VerifyScreen
from chat.ui.tui.settings import JoinRequest, TuiOptions, check_join_form
from ciphers.cli.common import UsageError
from ciphers.errors import CryptoError
from ciphers.rsa.keys import RSAPublicKey

CLIENT_NAME = "cipherchat-tui"
CLOSE_TIMEOUT = 3.0
JOIN_FIELDS = {
    "alias_taken": "alias",
    "bad_alias": "alias",
    "bad_room": "room",
    "room_full": "room",
}
IdentitySource = Callable[[str], Identity | None]
Action = cmd.Say | cmd.JoinRoom | cmd.Leave


class ChatApp(App[int]):
    """The chat client people use: join screen, main screen, panels, and the connection behind them."""

    TITLE = "cipherchat"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #header { height: 2; background: $boost; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    #panels { height: 1fr; }
    #chat { height: 1fr; }
    #log { width: 1fr; height: 1fr; border-right: solid $primary-darken-2; }
    #log, #wire { scrollbar-size-vertical: 1; scrollbar-gutter: stable; }
    #members { width: 26; height: 1fr; padding: 0 1; scrollbar-size-vertical: 1; }
    #trace { height: 1fr; }
    #trace-table { height: 45%; }
    #trace-scroll { height: 1fr; border-top: solid $primary-darken-2; padding: 0 1; }
    #wire { height: 1fr; }
    #transfers { height: auto; max-height: 4; padding: 0 1; }
    .transfer-row { height: 1; }
    .transfer-label { width: 1fr; }
    #input { dock: bottom; margin-bottom: 1; }
    JoinScreen { align: center middle; }
    #join-form { width: 78; max-width: 100%; height: auto; max-height: 100%; padding: 0 1; }
    #join-title { margin-bottom: 1; }
    .join-row { height: 1; margin-top: 1; }
    .join-label { width: 8; }
    .join-label-short { width: auto; }
    #host, #alias, #room { width: 1fr; }
    #port { width: 8; }
    #cipher { width: 1fr; }
    #kex { width: 24; }
    .field-error { display: none; height: auto; padding-left: 8; }
    #suite-note, #join-hint { height: auto; margin-top: 1; }
    #join-status { height: auto; min-height: 1; }
    #join { margin-top: 1; }
    HelpScreen, VerifyScreen { align: center middle; }
    #help-box { width: 100%; max-width: 90; height: auto; max-height: 100%; border: round $primary;
                background: $surface; padding: 0 1; }
    #verify-box { width: 80%; max-width: 78; height: auto; border: round $primary; background: $surface;
                  padding: 0 1; }
    #verify-buttons { height: 3; align: center middle; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "help", "Help"),
    ]

    def __init__(
        self,
        options: TuiOptions,
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
        self.identities = identities or self._stored_identity
        self.client_options = client_options or {}
        self.backoff = backoff
        self.resilience = resilience or {}
        self.client: ChatClient | None = None  # members, trust, trace, wire...
        self.link: ResilientClient | None = None  # the same client, reconnecting: connect, send, events
        self.unsent: list[str] = []  # every text reported unsent
        self.unsent_on_exit: tuple[str, ...] = ()  # those still queued when we quit: run() prints them
        self.transfers: TransferManager | None = None
        self.request: JoinRequest | None = None
        self.main_screen = MainScreen()
        self.suite: str | None = None
        self.kex: str | None = None
        self.insecure = False
        self.state = "offline"
        self.internal_errors: list[str] = []
        self._certificates: dict[tuple[str, str | None, str | None], CertificateStatus] = {}
        self._actions: deque[Action] = deque()
        self._action_ready = asyncio.Event()
        self._quitting = False

    # --- start ----------------------------------------------------------------------------------

    @guarded_async
    async def on_mount(self) -> None:
        await self.push_screen(self.main_screen)
        self.run_worker(self._action_loop(), group="actions", name="actions")
        self.refresh_header()
        options = self.options
        if options.skip_join_screen:
            assert options.alias is not None and options.room is not None
            request, problems = check_join_form(
                options.host, str(options.port), options.alias, options.room, options.cipher, options.kex
            )
            if request is not None:
                self.say(f"connecting to {request.server} as {request.alias}...")
                self.start_session(request)
                return
            field, message = next(iter(problems.items()))
            self.show_join_screen((field, message))
        else:
            self.show_join_screen()

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

    def _stored_identity(self, alias: str) -> Identity | None:
        return alias_identity(alias, self.options.identity, ephemeral=self.options.ephemeral)

    # --- the session ----------------------------------------------------------------------------

    def start_session(self, request: JoinRequest) -> None:
        """Connect and join in a worker; the join screen (if shown) closes on success or shows why not."""
        self.state = "connecting"
        self.refresh_header()
        self.run_worker(self._open_session(request), group="session", exclusive=True, name="join")

    async def _open_session(self, request: JoinRequest) -> None:
        try:
            identity = self.identities(request.alias)
            peers = KnownPeers(known_peers_path(request.alias, request.host, request.port))
        except (UsageError, IdentityError, ValueError) as exc:
            self._join_failed("alias", str(exc))
            return
        await self._close_session()
        client = ChatClient(
            request.alias,
            identity,
            known_peers=peers,
            hold_timeout=self.options.hold_timeout,
            client_name=CLIENT_NAME,
            certificate=None if self.certificate is None else self.certificate.encode(),
            **self.client_options,
        )
        link = ResilientClient(client, self.backoff, **self.resilience)
        trace = client.trace.subscribe()
        wire = client.wire.subscribe()
        try:
            await link.connect(request.host, request.port)
            await link.join(request.room, request.cipher, request.kex)
        except ConnectError as exc:
            await self._close_link(link)
            self._join_failed("host", exc.message)
            return
        except JoinError as exc:
            await self._close_link(link)
            self._join_failed(JOIN_FIELDS.get(exc.code, "status"), self._refusal(exc))
            return
        except ClientError as exc:
            await self._close_link(link)
            self._join_failed("status", exc.message)
            return
        self.client, self.link = client, link
        self.request = request
        self.transfers = TransferManager(client, self.options.downloads, on_event=self._transfer_event)
        self.run_worker(self._pump_events(client, link), group="events", exclusive=True, name="events")
        self.run_worker(self._pump_trace(client, trace), group="trace", exclusive=True, name="trace")
        self.run_worker(self._pump_wire(client, wire), group="wire", exclusive=True, name="wire")
        if isinstance(self.screen, JoinScreen):
            self.pop_screen()
        self.main_screen.query_one("#input").focus()

    def _refusal(self, exc: JoinError) -> str:
        if exc.code == "unauthorized" and self.certificate is None:
            return (
                f"refused: {exc.message} (this server admits only certified members: start with --cert FILE)"
            )
        if exc.code == "unauthorized":
            return f"refused: {exc.message}"
        return exc.message

    def _join_failed(self, field: str, message: str) -> None:
        self.state = "offline"
        self.refresh_header()
        screen = self.screen
        if isinstance(screen, JoinScreen):
            screen.show_problem(field, message)
        else:
            self.warn(message)
            self.show_join_screen((field, message))

    async def _close_link(self, link: ResilientClient) -> tuple[str, ...]:
        """Stop reconnecting, leave, disconnect (bounded); the texts that were never sent."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT * 2):
                return await link.close(timeout=CLOSE_TIMEOUT)
        return ()

    async def _close_session(self) -> tuple[str, ...]:
        """Cancel the transfers (no partial file stays), then close the connection; each bounded.

        Returns the texts still queued for a connection that never came back.
        """
        transfers, self.transfers = self.transfers, None
        link, self.link, self.client = self.link, None, None
        if transfers is not None:
            with contextlib.suppress(Exception):
                await transfers.close(timeout=CLOSE_TIMEOUT)
        return () if link is None else await self._close_link(link)

    # --- feeds ----------------------------------------------------------------------------------

    async def _pump_events(self, client: ChatClient, link: ResilientClient) -> None:
        async for event in link.events():
            if client is not self.client:
                return
            try:
                transfers = self.transfers
                if transfers is not None and transfers.handle(event):
                    continue  # a file message: its transfer events say what happened
                self.show_event(client, event)
            except Exception as exc:
                self.report_internal(exc)

    async def _pump_trace(self, client: ChatClient, subscription: Subscription[TraceRecord]) -> None:
        async for record in subscription:
            if client is not self.client:
                break
            self.main_screen.trace.add(record)
        subscription.close()

    async def _pump_wire(self, client: ChatClient, subscription: Subscription[WireFrame]) -> None:
        async for frame in subscription:
            if client is not self.client:
                break
            self.main_screen.wire.add_frame(frame)
        subscription.close()

    # --- showing events -------------------------------------------------------------------------

    def add_line(self, line: Text) -> None:
        self.main_screen.add(line)

    def say(self, text: str) -> None:
        """A system line (dim)."""
        self.add_line(fmt.system_line(time.time(), text))

    def warn(self, text: str) -> None:
        """A red warning line."""
        self.add_line(fmt.warning_line(time.time(), text))

    def error(self, text: str) -> None:
        """A red error line (a mistake of ours, a refused request)."""
        self.add_line(fmt.error_line(time.time(), text))

    def show_event(self, client: ChatClient, event: ev.ChatEvent) -> None:
        """Put ``event`` in the log and update the header and the member list."""
        at = event.time
        if isinstance(event, ev.MessageReceived):
            mark = fmt.UNVERIFIED_MARK if event.trust == "changed" else ""
            self.add_line(fmt.message_line(at, event.sender, event.text, mark=mark))
        elif isinstance(event, ev.MessageSent):
            if event.text is not None:
                self.add_line(fmt.message_line(at, client.alias, event.text, own=True))
        elif isinstance(event, ev.DataReceived):
            self.add_line(
                fmt.system_line(at, f"{event.sender} sent {len(event.data)} bytes of {event.content_type}")
            )
        elif isinstance(event, ev.Joined):
            self._on_joined(client, event)
        elif isinstance(event, ev.MemberJoined):
            shown = fmt.fingerprint_groups(event.fingerprint, short=False)
            trust = f", {event.trust}" if event.trust else ""
            self.add_line(fmt.system_line(at, f"{event.alias} joined (fingerprint {shown}{trust})"))
        elif isinstance(event, ev.MemberLeft):
            reason = "" if event.reason == "left" else f" ({event.reason})"
            self.add_line(fmt.system_line(at, f"{event.alias} left{reason}"))
        elif isinstance(event, ev.Rekeyed):
            self._on_rekeyed(client, event)
        elif isinstance(event, ev.WarningEvent):
            where = "" if event.sender is None else f" ({event.sender})"
            self.add_line(fmt.warning_line(at, f"warning {event.code}{where}: {event.message}"))
        elif isinstance(event, ev.ErrorEvent):
            self.add_line(fmt.error_line(at, f"error {event.code}: {event.message}"))
        elif isinstance(event, ev.Left):
            self.add_line(fmt.system_line(at, f"left #{event.room}"))
            self.suite, self.kex, self.insecure = None, None, False
        elif isinstance(event, ev.Disconnected):
            self._on_disconnected(event)
        elif isinstance(event, ev.Connected):
            self.add_line(fmt.system_line(at, f"connected to {event.host}:{event.port}"))
        else:
            self._on_connection_event(event)
        self.state = self._connection_state(client)
        self.refresh_header()
        self.refresh_members()

    def _connection_state(self, client: ChatClient) -> str:
        link = self.link
        if link is not None and link.state in (ConnectionState.RECONNECTING, ConnectionState.GAVE_UP):
            return "reconnecting" if link.state is ConnectionState.RECONNECTING else "offline"
        return "online" if client.in_room else ("connected" if client.connected else "offline")

    def _on_connection_event(self, event: ev.ChatEvent) -> None:
        """The reconnection's events: attempts, success, giving up, queued and unsent messages."""
        at = event.time
        if isinstance(event, Reconnecting):
            bound = f" of {event.max_attempts}" if event.max_attempts else ""
            self.add_line(
                fmt.system_line(
                    at, f"reconnecting in {event.delay:.1f} s (attempt {event.attempt}{bound})", "yellow"
                )
            )
        elif isinstance(event, Reconnected):
            where = f"; rejoined #{event.room} with a fresh session key" if event.room else ""
            queued = (
                f"; sending {event.queued} queued message{'s' * (event.queued != 1)}" if event.queued else ""
            )
            self.add_line(
                fmt.system_line(at, f"reconnected after {event.attempts} attempt(s){where}{queued}", "green")
            )
        elif isinstance(event, GaveUp):
            self.add_line(
                fmt.warning_line(at, f"gave up reconnecting: {event.reason}; /join ROOM to try again")
            )
        elif isinstance(event, MessageQueued):
            self.add_line(fmt.system_line(at, f"queued until the connection is back: {event.text}", "yellow"))
        elif isinstance(event, MessagesUnsent):
            for text in event.texts:
                self.unsent.append(text)
                self.add_line(fmt.warning_line(at, f"NOT SENT ({event.reason}): {text}"))

    def _on_joined(self, client: ChatClient, event: ev.Joined) -> None:
        self.suite, self.kex, self.insecure = event.suite, event.kex, event.insecure
        if self.request is not None and self.request.room != event.room:
            self.request = JoinRequest(
                self.request.host, self.request.port, self.request.alias, event.room, None, None
            )
        members = ", ".join(m.alias for m in event.members) or "nobody else yet"
        self.add_line(
            fmt.system_line(
                event.time, f"joined #{event.room} as {event.alias}: {event.description}; members: {members}"
            )
        )
        self.add_line(fmt.system_line(event.time, f"your fingerprint: {event.fingerprint.digits}"))
        if event.insecure:
            self.warn(suite_info(event.suite).note)
        if self.certificate is not None and self.ca is not None:
            own = self.own_certificate()
            if own is not None and not own.ok:
                self.warn(f"your certificate: {own.reason}")

    def _on_rekeyed(self, client: ChatClient, event: ev.Rekeyed) -> None:
        if event.alias == client.alias:
            why = {"start": "new session key for this room", "join": "new session key (a member joined)"}.get(
                event.reason, "new session key: a member left, so what follows is unreadable to them"
            )
            to = f", wrapped for {', '.join(event.recipients)}" if event.recipients else ""
            self.add_line(fmt.system_line(event.time, f"rekeyed: {why} (key {event.key_id}{to})"))
        elif event.reason == "replaced":
            self.add_line(fmt.system_line(event.time, f"{event.alias} rekeyed (key {event.key_id})"))
        else:
            self.add_line(fmt.system_line(event.time, f"received {event.alias}'s session key {event.key_id}"))

    def _on_disconnected(self, event: ev.Disconnected) -> None:
        if event.by_us:
            self.add_line(fmt.system_line(event.time, "disconnected"))
            return
        self.add_line(fmt.warning_line(event.time, f"disconnected: {event.reason}"))

    # --- header and members ---------------------------------------------------------------------

    def refresh_header(self) -> None:
        client, request = self.client, self.request
        server = request.server if request else f"{self.options.host}:{self.options.port}"
        suite = None
        if self.suite is not None:
            info = suite_info(self.suite)
            suite = f"{info.name}/{self.kex}" if info.hybrid else info.name
        self.main_screen.header.show(
            server=server,
            room=client.room if client else None,
            suite=suite,
            insecure=self.insecure,
            alias=client.alias if client else (request.alias if request else self.options.alias),
            fingerprint=client.fingerprint if client else None,
            state=self.state,
        )

    def refresh_members(self) -> None:
        client = self.client
        if client is None or client.room is None:
            self.main_screen.members.show(Text("not in a room", style="dim"))
            return
        statuses = self.certificate_statuses(client) if self.ca is not None else None
        self.main_screen.members.show(
            fmt.member_list(
                client.alias, client.identity.fingerprint, client.members, statuses, self.own_certificate()
            )
        )

    def certificate_statuses(self, client: ChatClient) -> dict[str, CertificateStatus]:
        """Each member's certificate checked against ``--ca``, by case-folded alias (cached)."""
        assert self.ca is not None
        statuses = {}
        for member in client.members:
            fingerprint = None if member.fingerprint is None else member.fingerprint.hex
            key = (name_key(member.alias), member.certificate, fingerprint)
            status = self._certificates.get(key)
            if status is None:
                identity = client.member_identity(member.alias)
                if identity is None:
                    status = CertificateStatus(CertificateState.INVALID, "identity keys unusable")
                else:
                    status = check_presented(
                        member.certificate, member.alias, identity.to_wire(), self.ca, time.time()
                    )
                self._certificates[key] = status
            statuses[name_key(member.alias)] = status
        return statuses

    def own_certificate(self) -> CertificateStatus | None:
        """Our certificate checked against ``--ca`` (None without both)."""
        client = self.client
        if self.ca is None or client is None:
            return None
        if self.certificate is None:
            return CertificateStatus(CertificateState.MISSING, "no certificate")
        return check_presented(
            self.certificate.encode(), client.alias, client.identity.public.to_wire(), self.ca, time.time()
        )

    # --- commands -------------------------------------------------------------------------------

    def handle_line(self, line: str) -> None:
        """What the user typed: a message or a command; mistakes become a red line."""
        try:
            command = cmd.parse(line)
        except cmd.CommandError as exc:
            self.error(str(exc))
            return
        if command is None:
            return
        try:
            self.run_command(command)
        except ClientError as exc:
            self.error(exc.message)

    def run_command(self, command: cmd.Command) -> None:
        if isinstance(command, cmd.Say | cmd.JoinRoom | cmd.Leave):
            self.queue(command)
        elif isinstance(command, cmd.Help):
            self.action_help()
        elif isinstance(command, cmd.Who):
            self.who()
        elif isinstance(command, cmd.Verify):
            self.verify(command.alias)
        elif isinstance(command, cmd.Trust):
            self.trust(command.alias)
        elif isinstance(command, cmd.Cert):
            self.show_certificate(command.alias)
        elif isinstance(command, cmd.SendFile):
            self.send_file(command.path)
        elif isinstance(command, cmd.CancelTransfers):
            self.cancel_transfers()
        elif isinstance(command, cmd.ShowTrace):
            if command.rounds:
                self.show_rounds(command.record)
            else:
                self.main_screen.action_panel("trace")
        elif isinstance(command, cmd.ShowWire):
            self.main_screen.action_panel("wire")
        elif isinstance(command, cmd.ShowChat):
            self.main_screen.show_panel("chat")
        elif isinstance(command, cmd.Quit):
            self.run_worker(self.action_quit(), group="quit", name="quit")

    def _in_room(self) -> ChatClient:
        client = self.client
        if client is None or client.room is None:
            raise ClientError("not in a room: /join ROOM", "not_in_room")
        return client

    def who(self) -> None:
        client = self._in_room()
        statuses = self.certificate_statuses(client) if self.ca is not None else {}
        self.say(f"members of #{client.room}:")
        self.say(f"  {client.alias} (you) {client.fingerprint}")
        for member in client.members:
            trust = f" {fmt.TRUST_LABELS.get(member.trust, member.trust)}" if member.trust else ""
            status = statuses.get(name_key(member.alias))
            cert = f"; {status.label}" if status is not None else ""
            self.say(
                f"  {member.alias} {fmt.fingerprint_groups(member.fingerprint, short=False)}{trust}{cert}"
            )

    def verify(self, alias: str) -> None:
        client = self._in_room()
        number = client.safety_number(alias)
        identity = client.member_identity(alias)
        assert identity is not None
        self.say(f"safety number with {alias}: {number}")
        self.say(f"compare it with {alias} out of band; if it matches, /trust {alias}")
        screen = VerifyScreen(client.alias, client.fingerprint, alias, identity.fingerprint.digits, number)

        def done(trusted: bool | None) -> None:
            try:
                if trusted:
                    self.trust(alias)
            except ClientError as exc:
                self.error(exc.message)
            except Exception as exc:
                self.report_internal(exc)

        self.push_screen(screen, done)

    def trust(self, alias: str) -> None:
        client = self._in_room()
        client.trust(alias)
        identity = client.member_identity(alias)
        shown = "" if identity is None else f" (fingerprint {identity.fingerprint.digits})"
        self.say(f"you marked {alias}'s key as verified{shown}")
        self.refresh_members()

    def show_certificate(self, alias: str | None) -> None:
        if alias is None:
            if self.certificate is None:
                self.say("you have no certificate (start with --cert FILE to present one)")
                return
            status = self.own_certificate()
            me = self.client.alias if self.client else "you"
            for line in fmt.certificate_details(me, status, self.certificate).splitlines():
                self.say(line)
            return
        client = self._in_room()
        member = next((m for m in client.members if name_key(m.alias) == name_key(alias)), None)
        if member is None:
            raise ClientError(f"no member {alias!r} in this room", "unknown_member")
        certificate = None
        if member.certificate is not None:
            with contextlib.suppress(CryptoError):
                certificate = load_certificate(member.certificate)
        status = self.certificate_statuses(client).get(name_key(alias)) if self.ca is not None else None
        if status is None and member.certificate is None:
            status = CertificateStatus(CertificateState.MISSING, "no certificate")
        for line in fmt.certificate_details(member.alias, status, certificate).splitlines():
            self.say(line)

    def send_file(self, path: str) -> None:
        """Offer the file to the room and send it in the background; its progress shows in a bar."""
        self._in_room()
        transfers = self.transfers
        if transfers is None:
            raise ClientError("file sharing is not ready", "not_ready")
        self.run_worker(self._send_file(transfers, path), group="files", name="send-file")

    async def _send_file(self, transfers: TransferManager, path: str) -> None:
        try:
            await transfers.send_file(path)
        except TransferError as exc:
            self.error(exc.message)

    def cancel_transfers(self) -> None:
        transfers = self.transfers
        active = () if transfers is None else transfers.active
        if transfers is None or not active:
            self.say("no file transfer in progress")
            return
        for status in active:
            transfers.cancel(status.transfer, "cancelled by the user")
        self.say(f"cancelling {len(active)} transfer{'s' if len(active) > 1 else ''}")

    def _transfer_event(self, event: TransferEvent) -> None:
        """A file transfer's start, progress, end or warning: a bar and a line in the log."""
        try:
            self.show_transfer(event)
        except Exception as exc:
            self.report_internal(exc)

    def show_transfer(self, event: TransferEvent) -> None:
        bars = self.main_screen.transfers
        if isinstance(event, TransferProgress):
            bars.progress(event.transfer, event.done, event.total)
        elif isinstance(event, TransferStarted):
            size = format_size(event.size)
            if event.direction == "out":
                to = ", ".join(event.recipients)
                self.say(f"offering {event.name} ({size}, SHA-256 {event.sha256[:16]}...) to {to}")
                bars.start(event.transfer, f"sending {event.name}", event.size)
            else:
                where = self.transfers.downloads if self.transfers is not None else "the downloads folder"
                self.say(f"{event.sender} is sending {event.name} ({size}); saving it in {where}")
                bars.start(event.transfer, f"{event.name} from {event.sender}", event.size)
        elif isinstance(event, TransferFinished):
            self._transfer_finished(event)
        elif isinstance(event, TransferWarning):
            self.warn(event.message)

    def _transfer_finished(self, event: TransferFinished) -> None:
        bars = self.main_screen.transfers
        size = format_size(event.size)
        if event.direction == "in":
            if event.ok:
                self.add_line(
                    fmt.system_line(
                        event.time,
                        f"saved {event.name} from {event.sender} to {event.path} ({size}, SHA-256 checked)",
                        "green",
                    )
                )
            else:
                self.warn(f"{event.name} from {event.sender} not saved: {event.reason}")
            bars.finish(event.transfer, f"{event.name}: {'saved' if event.ok else 'failed'}", event.ok)
            return
        outcomes = "; ".join(
            f"{alias} {'saved it' if saved else 'did not: ' + reason}"
            for alias, saved, reason in event.outcomes
        )
        if event.ok:
            self.add_line(fmt.system_line(event.time, f"sent {event.name} ({size}): {outcomes}", "green"))
        else:
            self.warn(f"{event.name} not sent: {event.reason}" + (f" ({outcomes})" if outcomes else ""))
        bars.finish(event.transfer, f"{event.name}: {'sent' if event.ok else 'failed'}", event.ok)

    def show_rounds(self, number: int | None) -> None:
        """The 16 DES rounds of trace record ``number`` (the newest that has a block when None)."""
        panel = self.main_screen.trace
        if number is None:
            number = panel.last_with_block()
            if number is None:
                self.error("no DES block traced yet: send or receive a message in a des or 3des room")
                return
        record = panel.records.get(number)
        if record is None:
            self.error(f"no trace record #{number}")
            return
        if record.first_block is None:
            self.error(
                f"trace record #{number} has no DES block: only messages of the des and 3des suites have one"
            )
            return
        session = None if self.client is None else self.client.session
        traces = None if session is None else session.round_trace(record)
        if traces is None:
            self.error(
                f"the rounds of #{number} are gone: its session key was replaced, or you left the room"
            )
            return
        panel.show(fmt.rounds_text(number, record, traces))
        self.main_screen.show_panel("trace")

    # --- actions, in the order typed ------------------------------------------------------------

    def queue(self, action: Action) -> None:
        """Messages and room changes go out one after another, in the order typed."""
        self._actions.append(action)
        self._action_ready.set()

    async def _action_loop(self) -> None:
        while True:
            await self._action_ready.wait()
            while self._actions:
                action = self._actions.popleft()
                try:
                    await self._perform(action)
                except Exception as exc:
                    self.report_internal(exc)
            self._action_ready.clear()

    async def _perform(self, action: Action) -> None:
        client, link = self.client, self.link
        if client is None or link is None:
            self.error("not connected: fill in the join screen first")
            return
        try:
            if isinstance(action, cmd.Say):
                if link.room is None:
                    self.error(f"not sent (not in a room; /join ROOM first): {action.text}")
                    return
                await link.send(action.text)  # queued (and said so) while reconnecting
            elif isinstance(action, cmd.Leave):
                await link.leave()
            else:
                await self._join(client, link, action)
        except ValueError as exc:
            self.error(f"not sent: {exc}")
        except ClientError as exc:
            if isinstance(action, cmd.Say):
                self.error(f"not sent ({exc.message}): {action.text}")
            else:
                self.error(exc.message)

    async def _join(self, client: ChatClient, link: ResilientClient, action: cmd.JoinRoom) -> None:
        request = self.request
        assert request is not None
        if link.state is ConnectionState.RECONNECTING:
            self.error("reconnecting: /join once the connection is back")
            return
        if not client.connected:
            self.say(f"connecting to {request.server}...")
            await link.connect(request.host, request.port)
        if client.in_room:
            await link.leave()
        try:
            await link.join(action.room, action.cipher, action.kex)
        except JoinError as exc:
            self.error(f"cannot join #{action.room}: {self._refusal(exc)}")
            return
        self.request = JoinRequest(
            request.host, request.port, request.alias, action.room, action.cipher, action.kex
        )

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
        self.unsent_on_exit = await self._close_session()
        self.exit(0)

    # --- failures -------------------------------------------------------------------------------

    def report_internal(self, exc: BaseException) -> None:
        """A bug of ours: one red line, and the app goes on."""
        if isinstance(exc, WorkerFailed):
            exc = exc.error
        text = f"internal error: {type(exc).__name__}: {exc}"
        self.internal_errors.append(text)
        try:
            self.warn(text)
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

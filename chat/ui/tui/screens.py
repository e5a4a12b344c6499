"""The screens: join (where and as whom), main (the chat and its panels), help, and safety-number check.

Screens lay widgets out and turn keys and clicks into calls on the app (:class:`chat.ui.tui.app.ChatApp`),
which owns the connection; they never touch the network themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, ContentSwitcher, Footer, Input, Label, Select, Static

from chat.e2e.suites import SUITES
from chat.ui.commands import COMMANDS
from chat.ui.tui.guard import guarded
from chat.ui.tui.settings import JoinRequest, check_join_form, kex_choices, suite_choices
from chat.ui.tui.widgets import ChatHeader, MemberList, MessageLog, TracePanel, TransferBars, WirePanel

if TYPE_CHECKING:
    from chat.ui.tui.app import ChatApp

DEFAULT = "default"  # the Select value meaning: let the server choose
PANELS = ("chat", "trace", "wire")
HISTORY = 100  # input lines remembered for Up and Down


class JoinScreen(Screen[None]):
    """Server, port, alias, room and (for a new room) suite and kex, with an error under each field."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "app.quit", "Quit"),
        Binding("f1", "app.help", "Help"),
    ]
    FIELDS = ("host", "port", "alias", "room")

    def __init__(
        self,
        *,
        host: str,
        port: int,
        alias: str | None,
        room: str | None,
        cipher: str | None,
        kex: str | None,
        problem: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(id="join-screen")
        self.defaults = (host, str(port), alias or "", room or "lobby", cipher or DEFAULT, kex or DEFAULT)
        self.problem = problem
        self.busy = False

    @property
    def chat_app(self) -> ChatApp:
        return cast("ChatApp", self.app)

    def compose(self) -> ComposeResult:
        host, port, alias, room, cipher, kex = self.defaults
        with VerticalScroll(id="join-form"):
            yield Static(
                Text.assemble(("cipherchat", "bold"), ": join a room (end-to-end encrypted)"),
                id="join-title",
            )
            with Horizontal(classes="join-row"):
                yield Label("Server", classes="join-label")
                yield Input(host, placeholder="127.0.0.1", id="host", compact=True)
                yield Label(" Port ", classes="join-label-short")
                yield Input(
                    port, placeholder="5050", id="port", compact=True, restrict=r"[0-9]*", max_length=5
                )
            yield Static("", id="host-error", classes="field-error")
            yield Static("", id="port-error", classes="field-error")
            with Horizontal(classes="join-row"):
                yield Label("Alias", classes="join-label")
                yield Input(alias, placeholder="your name: letters, digits, _ - .", id="alias", compact=True)
            yield Static("", id="alias-error", classes="field-error")
            with Horizontal(classes="join-row"):
                yield Label("Room", classes="join-label")
                yield Input(room, placeholder="lobby", id="room", compact=True)
            yield Static("", id="room-error", classes="field-error")
            with Horizontal(classes="join-row"):
                yield Label("Suite", classes="join-label")
                suites = suite_choices(DEFAULT)
                yield Select(suites, value=cipher, allow_blank=False, id="cipher", compact=True)
                yield Label(" Kex ", classes="join-label-short")
                yield Select(kex_choices(DEFAULT), value=kex, allow_blank=False, id="kex", compact=True)
            yield Static("", id="suite-note")
            yield Static(
                "Suite and kex apply to a new room; an existing room keeps its own.",
                id="join-hint",
            )
            yield Static("", id="join-status")
            yield Button("Join", id="join", variant="primary")
        yield Footer()

    @guarded
    def on_mount(self) -> None:
        self._show_suite_note()
        if self.problem is not None:
            self.show_problem(*self.problem)
        focus = next((f for f in ("alias", "room") if not self.query_one(f"#{f}", Input).value), "alias")
        self.query_one(f"#{focus}", Input).focus()

    # --- fields ---------------------------------------------------------------------------------

    def _value(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value

    def _choice(self, field: str) -> str | None:
        value = self.query_one(f"#{field}", Select).value
        return None if value == DEFAULT or not isinstance(value, str) else value

    def form(self) -> tuple[JoinRequest | None, dict[str, str]]:
        """The fields as a request, or the problems by field."""
        return check_join_form(
            self._value("host"),
            self._value("port"),
            self._value("alias"),
            self._value("room"),
            self._choice("cipher"),
            self._choice("kex"),
        )

    def set_error(self, field: str, message: str) -> None:
        """Show ``message`` under ``field`` (hide it when empty)."""
        widget = self.query_one(f"#{field}-error", Static)
        widget.update(Text(message, style="red"))
        widget.display = bool(message)

    def errors(self) -> dict[str, str]:
        """The errors shown, by field (for the tests)."""
        found = {}
        for field in self.FIELDS:
            widget = self.query_one(f"#{field}-error", Static)
            if widget.display and str(widget.content):
                found[field] = str(widget.content)
        return found

    def show_problem(self, field: str, message: str) -> None:
        """A failure from the server or the network, under the field it concerns, or in the status line."""
        self.busy = False
        self.query_one("#join", Button).disabled = False
        if field in self.FIELDS:
            self.set_error(field, message)
            self.set_status("")
            self.query_one(f"#{field}", Input).focus()
        else:
            self.set_status(message, "red")

    def set_status(self, message: str, style: str = "") -> None:
        self.query_one("#join-status", Static).update(Text(message, style=style))

    @property
    def status(self) -> str:
        return str(self.query_one("#join-status", Static).content)

    def _show_suite_note(self) -> None:
        cipher = self._choice("cipher")
        note = self.query_one("#suite-note", Static)
        if cipher is None:
            note.update(
                Text("The server picks the suite of a new room (3des unless it was told otherwise).", "dim")
            )
        else:
            info = SUITES[cipher]
            note.update(Text(info.note, style="bold red" if info.insecure else "dim"))

    # --- events ---------------------------------------------------------------------------------

    @guarded
    def on_input_changed(self, event: Input.Changed) -> None:
        field = event.input.id
        if field in self.FIELDS:
            _, problems = self.form()
            self.set_error(field, problems.get(field, "") if event.value else "")

    @guarded
    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "cipher":
            self._show_suite_note()

    @guarded
    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    @guarded
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "join":
            self.submit()

    def submit(self) -> None:
        """Check every field; if all are good, ask the app to connect and join."""
        if self.busy:
            return
        request, problems = self.form()
        for field in self.FIELDS:
            self.set_error(field, problems.get(field, ""))
        if request is None:
            first = next(f for f in self.FIELDS if f in problems)
            self.query_one(f"#{first}", Input).focus()
            self.set_status("")
            return
        self.busy = True
        self.query_one("#join", Button).disabled = True
        self.set_status(f"connecting to {request.server}...", "yellow")
        self.chat_app.start_session(request)


class MainScreen(Screen[None]):
    """Header, then the chat (log and members) or a panel (trace, wire), then transfers and the input line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "app.help", "Help"),
        Binding("f2", "panel('trace')", "Trace"),
        Binding("f3", "panel('wire')", "Wire"),
        Binding("escape", "panel('chat')", "Chat", show=False),
        Binding("ctrl+q", "app.quit", "Quit"),
        Binding("up", "history(-1)", "Previous line", show=False),
        Binding("down", "history(1)", "Next line", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="main-screen")
        self.history: list[str] = []  # lines typed, oldest first (bounded)
        self._recall = 0  # position in history while browsing with Up and Down

    @property
    def chat_app(self) -> ChatApp:
        return cast("ChatApp", self.app)

    def compose(self) -> ComposeResult:
        yield ChatHeader(id="header")
        with ContentSwitcher(initial="chat", id="panels"):
            with Horizontal(id="chat"):
                yield MessageLog(id="log")
                yield MemberList(id="members")
            yield TracePanel(id="trace")
            yield WirePanel(id="wire")
        yield TransferBars(id="transfers")
        yield Input(placeholder="type a message, or /help", id="input")
        yield Footer()

    @guarded
    def on_mount(self) -> None:
        self.query_one("#input", Input).focus()

    # --- parts ----------------------------------------------------------------------------------

    @property
    def log_view(self) -> MessageLog:
        return self.query_one("#log", MessageLog)

    @property
    def header(self) -> ChatHeader:
        return self.query_one("#header", ChatHeader)

    @property
    def members(self) -> MemberList:
        return self.query_one("#members", MemberList)

    @property
    def trace(self) -> TracePanel:
        return self.query_one("#trace", TracePanel)

    @property
    def wire(self) -> WirePanel:
        return self.query_one("#wire", WirePanel)

    @property
    def transfers(self) -> TransferBars:
        return self.query_one("#transfers", TransferBars)

    @property
    def panel(self) -> str:
        """Which of chat, trace and wire is shown."""
        return self.query_one("#panels", ContentSwitcher).current or "chat"

    def add(self, line: Text) -> None:
        self.log_view.add(line)

    # --- panels ---------------------------------------------------------------------------------

    @guarded
    def action_panel(self, name: str) -> None:
        """Show panel ``name``; asking for the one shown goes back to the chat."""
        if name not in PANELS:
            return
        switcher = self.query_one("#panels", ContentSwitcher)
        target = "chat" if switcher.current == name else name
        switcher.current = target
        if target == "trace":
            self.query_one("#trace-table").focus()
        elif target == "wire":
            self.wire.focus()
        else:
            self.query_one("#input", Input).focus()

    def show_panel(self, name: str) -> None:
        """Show panel ``name`` (no toggling)."""
        if self.panel != name:
            self.action_panel(name)

    # --- input ----------------------------------------------------------------------------------

    @guarded
    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "input":
            return
        line = event.value
        event.input.value = ""
        if line.strip() and (not self.history or self.history[-1] != line):
            self.history = [*self.history[-(HISTORY - 1) :], line]
        self._recall = len(self.history)
        self.chat_app.handle_line(line)

    @guarded
    def action_history(self, step: int) -> None:
        """Up and Down in the input line: the lines typed before (an empty line past the newest)."""
        box = self.query_one("#input", Input)
        if self.focused is not box or not self.history:
            return
        self._recall = max(0, min(len(self.history), self._recall + step))
        box.value = self.history[self._recall] if self._recall < len(self.history) else ""
        box.cursor_position = len(box.value)

    @guarded
    def on_trace_panel_rounds_requested(self, event: TracePanel.RoundsRequested) -> None:
        self.chat_app.show_rounds(event.number)


class HelpScreen(ModalScreen[None]):
    """The commands and keys; any of Esc, F1 or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("f1", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        text = Text()
        text.append("Commands\n", style="bold")
        column = 20
        for item in COMMANDS:
            if len(item.usage) < column:
                text.append(f"{item.usage:<{column}}", style="bold")
            else:  # a long usage gets a line of its own
                text.append(item.usage, style="bold")
                text.append("\n" + " " * column)
            text.append(item.summary)
            if item.key:
                text.append(f"  {item.key}", style="cyan")
            text.append("\n")
        text.append("\nAnything else you type goes to the room, end-to-end encrypted.\n")
        text.append("Members: new = first seen; known = same key as last time; verified = you\n")
        text.append("compared the safety number; CHANGED = not the key remembered (a new device,\n")
        text.append("or someone in between): its messages are marked until you /trust it.")
        with VerticalScroll(id="help-box"):
            yield Static(text, id="help-text")
            yield Button("Close (Esc)", id="help-close")

    @guarded
    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    @guarded
    def action_close(self) -> None:
        self.dismiss(None)


class VerifyScreen(ModalScreen[bool]):
    """The safety number of us and ``alias``: both sides see the same 60 digits when no one is in between."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, me: str, my_fingerprint: str, alias: str, fingerprint: str, number: str) -> None:
        super().__init__(id="verify-screen")
        self.alias = alias
        self.number = number
        self.lines = (me, my_fingerprint, alias, fingerprint)

    def compose(self) -> ComposeResult:
        me, mine, alias, theirs = self.lines
        groups = self.number.split()
        text = Text()
        text.append(f"Safety number with {alias}\n\n", style="bold")
        text.append("  " + " ".join(groups[:6]) + "\n", style="bold cyan")
        text.append("  " + " ".join(groups[6:]) + "\n\n", style="bold cyan")
        text.append(f"Compare it with {alias} out of band (in person, or on a call you trust).\n")
        text.append("The same digits on both screens mean no one replaced a key in between.\n\n")
        text.append(f"{me} (you)  {mine}\n", style="dim")
        text.append(f"{alias}  {theirs}", style="dim")
        with Vertical(id="verify-box"):
            yield Static(text, id="verify-text")
            with Horizontal(id="verify-buttons"):
                yield Button("They match: trust", id="verify-trust", variant="success")
                yield Button("Close", id="verify-close")

    @guarded
    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "verify-trust")

    @guarded
    def action_close(self) -> None:
        self.dismiss(False)


__all__ = ["HelpScreen", "JoinScreen", "MainScreen", "VerifyScreen"]

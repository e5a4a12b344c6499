"""The main screen's widgets: header, member list, message log, trace panel, wire panel.

Each is found by the id the screen gives it (the same ids the tests use) and is fed already
formatted rich Text (:mod:`chat.ui.tui.format`); none of them knows about the network.
"""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Label, ProgressBar, RichLog, Static

from chat.client import events as ev
from chat.client.feed import WireFrame
from chat.e2e.session import TraceRecord
from chat.ui.tui import format as fmt
from chat.ui.tui.guard import guarded

LOG_LINES = 2000  # lines the message log keeps
TRACE_ROWS = 1024  # records the trace table keeps (as many as the client's trace feed)
WIRE_ENTRIES = 500  # frames the wire panel keeps
FINISHED_BAR = 5.0  # seconds a finished transfer's bar stays
REFLOW_DELAY = 0.1  # seconds after the last resize before the logs wrap again
REFLOW_ENTRIES = 400  # entries wrapped again after a resize (older ones stay in `entries`)


class ChatHeader(Static):
    """Two lines: room, suite (with an INSECURE badge), state and server; then our alias and fingerprint.

    The suite reads ``3des/rsa`` for a hybrid suite and its key exchange, ``rsa`` for a direct one.
    """

    def show(
        self,
        *,
        server: str,
        room: str | None,
        suite: str | None,
        insecure: bool,
        alias: str | None,
        fingerprint: str | None,
        state: str,
    ) -> None:
        top = Text()
        top.append(f"#{room}" if room else "(no room)", style="bold")
        if suite:
            top.append(f"  {suite}")
        if insecure:
            top.append(" ")
            top.append(" INSECURE ", style="bold white on red")
        if state != "online":
            top.append("  ")
            top.append(f" {state} ", style="bold black on yellow")
        top.append(f"  on {server}", style="dim")
        bottom = Text()
        bottom.append("you: ")
        if alias:
            bottom.append(alias, style=fmt.alias_colour(alias) + " bold")
        if fingerprint:
            bottom.append("  fingerprint ")
            bottom.append(fingerprint, style="bold")
        top.append("\n")
        top.append_text(bottom)
        self.update(top)

    @property
    def text(self) -> str:
        """What the header shows, as plain text."""
        return str(self.content)


class MemberList(VerticalScroll):
    """The members of the room, one block each (see :func:`chat.ui.tui.format.member_list`)."""

    def compose(self) -> ComposeResult:
        yield Static(id="member-text")

    def show(self, text: Text) -> None:
        self.query_one("#member-text", Static).update(text)

    @property
    def text(self) -> str:
        """The list as plain text."""
        return str(self.query_one("#member-text", Static).content)


class ReflowLog(RichLog):
    """A RichLog that keeps its entries as Text and wraps them again when its width changes.

    Rewrapping is deferred a moment (a terminal being dragged sends many sizes) and covers the
    newest :data:`REFLOW_ENTRIES` entries, so a resize costs a fraction of a second at most.
    """

    def __init__(self, size: int, *, id: str | None = None) -> None:
        super().__init__(max_lines=size * 4, wrap=True, markup=False, highlight=False, min_width=20, id=id)
        self.entries: deque[Text] = deque(maxlen=size)
        self._width = 0
        self._reflow: Timer | None = None

    def add(self, entry: Text) -> None:
        """Append ``entry`` and scroll to it."""
        self.entries.append(entry)
        self.write(entry)

    @guarded
    def on_resize(self, event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        if self._width and width and width != self._width:
            if self._reflow is not None:
                self._reflow.stop()
            self._reflow = self.set_timer(REFLOW_DELAY, self.reflow)
        self._width = width or self._width

    def reflow(self) -> None:
        """Wrap the newest entries again at the current width."""
        self._reflow = None
        self.clear()
        for entry in list(self.entries)[-REFLOW_ENTRIES:]:
            self.write(entry)

    @property
    def text(self) -> str:
        """Every entry kept, as plain text."""
        return "\n".join(entry.plain for entry in self.entries)


class MessageLog(ReflowLog):
    """The scrolling log of messages and room events."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(LOG_LINES, id=id)


class TracePanel(Vertical):
    """Every trace record in a table (newest last) and the selected one in full below it.

    Enter on a row asks for the DES rounds of that record (:class:`TracePanel.RoundsRequested`).
    """

    class RoundsRequested(Message):
        """The user asked for the rounds of record ``number``."""

        def __init__(self, number: int) -> None:
            super().__init__()
            self.number = number

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.records: dict[int, TraceRecord] = {}
        self.count = 0

    def compose(self) -> ComposeResult:
        table: DataTable[str | Text] = DataTable(id="trace-table", cursor_type="row", zebra_stripes=True)
        yield table
        with VerticalScroll(id="trace-scroll"):
            yield Static("Each message you send or receive appears here, step by step.", id="trace-detail")

    @guarded
    def on_mount(self) -> None:
        table = self.query_one("#trace-table", DataTable)
        table.add_columns("#", "time", "step", "who", "key", "ctr", "result")

    def add(self, record: TraceRecord) -> int:
        """Add ``record``; its number (1, 2, ...), as ``/trace rounds N`` names it."""
        self.count += 1
        number = self.count
        self.records[number] = record
        table = self.query_one("#trace-table", DataTable)
        table.add_row(*fmt.trace_row(number, record), key=str(number))
        while len(self.records) > TRACE_ROWS:
            oldest = min(self.records)
            del self.records[oldest]
            table.remove_row(str(oldest))
        if table.cursor_row >= table.row_count - 2 or number == 1:
            table.move_cursor(row=table.row_count - 1)
            self.show_detail(number)
        return number

    def last_with_block(self) -> int | None:
        """The newest record that has a first block for the rounds view."""
        numbers = [n for n, r in self.records.items() if r.first_block is not None]
        return max(numbers) if numbers else None

    def show_detail(self, number: int) -> None:
        record = self.records.get(number)
        if record is not None:
            self.show(fmt.trace_detail(number, record))

    def show(self, text: Text) -> None:
        self.query_one("#trace-detail", Static).update(text)
        self.query_one("#trace-scroll", VerticalScroll).scroll_home(animate=False)

    @property
    def detail_text(self) -> str:
        return str(self.query_one("#trace-detail", Static).content)

    @guarded
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.show_detail(int(event.row_key.value))

    @guarded
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(self.RoundsRequested(int(event.row_key.value)))


class WirePanel(ReflowLog):
    """Every frame sent and received, as the relay sees it: a wiretap's view of this client."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(WIRE_ENTRIES, id=id)

    def add_frame(self, frame: WireFrame) -> None:
        """Show ``frame`` (see :func:`chat.ui.tui.format.wire_entry`)."""
        self.add(fmt.wire_entry(frame))


class TransferBars(Vertical):
    """A progress bar per file transfer, ours and others'; a finished one stays a few seconds."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: dict[str, Horizontal] = {}
        self.shown: dict[str, str] = {}  # transfer key -> label text (for the tests)

    def show(self, event: ev.TransferStarted | ev.TransferProgress | ev.TransferFinished) -> None:
        """A transfer's start, progress or end, on its bar."""
        if isinstance(event, ev.TransferProgress):
            self.progress(event.transfer, event.done, event.total)
        elif isinstance(event, ev.TransferStarted):
            ours = event.direction == "out"
            label = f"sending {event.name}" if ours else f"{event.name} from {event.sender}"
            self.start(event.transfer, label, event.size)
        else:
            done = ("sent" if event.direction == "out" else "saved") if event.ok else "failed"
            self.finish(event.transfer, f"{event.name}: {done}", event.ok)

    def start(self, key: str, label: str, total: int) -> None:
        """A bar for transfer ``key`` of ``total`` bytes."""
        if key in self.rows:
            return
        bar = ProgressBar(total=max(total, 1), show_eta=False)
        row = Horizontal(Label(label, classes="transfer-label"), bar, classes="transfer-row")
        self.rows[key] = row
        self.shown[key] = label
        self.mount(row)

    def progress(self, key: str, done: int, total: int) -> None:
        """Transfer ``key`` is at ``done`` of ``total`` bytes."""
        row = self.rows.get(key)
        if row is not None and row.is_mounted:
            row.query_one(ProgressBar).update(total=max(total, 1), progress=done if total else 1)

    def finish(self, key: str, label: str, ok: bool) -> None:
        """Transfer ``key`` ended: its bar full (or as far as it got), then gone after a while."""
        row = self.rows.get(key)
        if row is None:
            return
        self.shown[key] = label
        if row.is_mounted:
            row.query_one(Label).update(Text(label, style="green" if ok else "red"))
            if ok:
                bar = row.query_one(ProgressBar)
                bar.update(progress=bar.total or 1)
        self.set_timer(FINISHED_BAR, lambda: self._remove(key))

    def _remove(self, key: str) -> None:
        row = self.rows.pop(key, None)
        self.shown.pop(key, None)
        if row is not None:
            row.remove()

    def fraction(self, key: str) -> float | None:
        """How far transfer ``key``'s bar is (None without a bar)."""
        row = self.rows.get(key)
        if row is None or not row.is_mounted:
            return None
        bar = row.query_one(ProgressBar)
        return None if not bar.total else bar.progress / bar.total

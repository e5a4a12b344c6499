"""The web page's Python: the join form, the chat and its panels, over the same application core.

The page's JavaScript (``static/main.js``) boots Pyodide, unpacks this package, calls :func:`boot`
and then hands what the user does to the :class:`Page` it returns: the join button to
:meth:`Page.join`, each typed line to :meth:`Page.submit`, a member's "verify" button to
:meth:`Page.command`. Everything else is the terminal clients' code: the join form is checked by
:func:`chat.ui.tui.settings.check_join_form` (the same messages), the session is
:class:`chat.app.chat_session.ChatSession` started with :meth:`chat.ui.options.ClientOptions.session`,
typed lines go through :class:`chat.ui.runner.CommandRunner`, events become words through
:func:`chat.ui.text.describe`. The only differences are the transport (a WebSocket,
:mod:`chat.web.transport`) and where keys and trust are kept (localStorage, :mod:`chat.web.storage`).

Every call from JavaScript is guarded: a failure is one line on the page, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chat.app.chat_session import ChatSession
from chat.client import events as ev
from chat.client.errors import ClientError, ConnectError, JoinError
from chat.client.store import StoreError, config_root
from chat.client.streams import Connector
from chat.e2e.identity import ELGAMAL_FILE, RSA_FILE, Identity, IdentityError
from chat.e2e.suites import SUITES
from chat.e2e.suites import suite as suite_info
from chat.e2e.trust import TrustState
from chat.protocol.names import name_problem
from chat.ui import commands as cmd
from chat.ui.options import DEFAULT_ROOM, ClientOptions
from chat.ui.runner import CommandRunner
from chat.ui.text import describe
from chat.ui.tui.settings import JOIN_FIELDS, check_join_form, kex_choices, suite_choices
from chat.web import panels
from chat.web.dom import append_bounded, element, set_text
from chat.web.storage import BrowserStore, KeyValueStore, export_identity, identity_dir, import_identity
from chat.web.transport import websocket_connector

WEB_CLIENT_NAME = "cipherchat-web"
CONFIG_HOME = "/home/pyodide/.config"  # in Pyodide's in-memory file system; localStorage keeps it
DEFAULT = ""  # the select's value meaning: let the server choose
LOG_LINES = 500
TRACE_ENTRIES = 200
WIRE_ENTRIES = 200
PANELS = ("chat", "trace", "wire")
FORM_FIELDS = ("relay", "alias", "room", "cipher", "kex")
REPAINT = 0.05  # seconds given to the browser to show the status line before a long computation

ConnectorFactory = Callable[[str], Connector]


def default_relay(protocol: str, host: str) -> str:
    """The relay beside the page: ``ws://HOST/ws`` (``wss`` under https); empty for a file:// page."""
    if not host:
        return ""
    return f"{'wss' if protocol == 'https:' else 'ws'}://{host}/ws"


def relay_address(url: str) -> tuple[str, str, str | None]:
    """The host and port (as text, for the form's checks) of a relay URL, and a problem with it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("ws", "wss"):
        return "", "", f"relay must be a ws:// or wss:// URL, not {url.strip()!r}"
    try:
        port = parts.port
    except ValueError:
        return parts.hostname or "", "", None
    default = 443 if parts.scheme == "wss" else 80
    return parts.hostname or "", str(port if port is not None else default), None


class Page:
    """The page (see the module notes): ``document`` and ``storage`` are the browser's or fakes."""

    def __init__(
        self,
        document: Any,
        storage: KeyValueStore,
        *,
        relay: str = "",
        connector: ConnectorFactory = websocket_connector,
        config_home: str = CONFIG_HOME,
    ) -> None:
        self.document = document
        os.environ["XDG_CONFIG_HOME"] = config_home
        self.root = config_root()
        self.store = BrowserStore(self.root, storage)
        self.connector = connector
        self.default_relay = relay
        self.session: ChatSession | None = None
        self.runner = CommandRunner(self)
        self.alias: str | None = None
        self.server = ""
        self.timings: dict[str, float] = {}
        self.trace_count = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._busy = False
        self._fingerprints: dict[Path, tuple[tuple[bytes, ...], str]] = {}

    # --- boot -----------------------------------------------------------------------------------

    def boot(self) -> None:
        """Restore what the browser kept, fill the form's choices, and say the page is ready."""
        restored = self.store.restore()
        self._fill_select("cipher", suite_choices(DEFAULT))
        self._fill_select("kex", kex_choices(DEFAULT))
        relay = self.document.getElementById("relay")
        if not relay.value:
            relay.value = self.default_relay
        room = self.document.getElementById("room")
        if not room.value:
            room.value = DEFAULT_ROOM
        self.suite_note()
        self.alias_changed()
        self._spawn(self.runner.run())
        kept = f" ({restored} files of keys and trust restored from this browser)" if restored else ""
        self.status(f"ready{kept}", "ready")

    def _fill_select(self, field: str, choices: list[tuple[str, str]]) -> None:
        select = self.document.getElementById(field)
        select.replaceChildren()
        for label, value in choices:
            select.appendChild(element(self.document, "option", label, value=value))

    def status(self, text: str, state: str = "busy") -> None:
        """The status line: boot progress, joining, a failure (``state`` styles it)."""
        set_text(self.document, "status", text, f"status status-{state}")

    # --- the join form --------------------------------------------------------------------------

    def _field(self, name: str) -> str:
        return str(self.document.getElementById(name).value)

    def suite_note(self) -> None:
        """The chosen suite's note under the select (INSECURE ones say why)."""
        name = self._field("cipher")
        note = "" if name == DEFAULT else suite_info(name).note
        set_text(
            self.document, "suite-note", note, "note insecure" if name and SUITES[name].insecure else "note"
        )

    def alias_changed(self) -> None:
        """Under the alias: the fingerprint this browser keeps for it, or that a new one will be made."""
        alias = self._field("alias").strip()
        text = ""
        path = identity_dir(alias, self.root) if alias else None
        if path is not None and (path / RSA_FILE).exists():
            with contextlib.suppress(IdentityError, OSError, ValueError):
                text = f"your fingerprint as {alias}: {self._fingerprint(path)}"
        elif alias and name_problem(alias, "alias") is None:
            text = f"new identity keys will be made for {alias} in this browser"
        set_text(self.document, "identity-note", text)

    def _fingerprint(self, path: Path) -> str:
        """The fingerprint of the identity in ``path``, loaded once per version of its files (a
        load checks the private keys: a tenth of a second, too slow for every key typed)."""
        version = tuple((path / name).read_bytes() for name in (RSA_FILE, ELGAMAL_FILE))
        known = self._fingerprints.get(path)
        if known is None or known[0] != version:
            known = (version, Identity.load(path).fingerprint.digits)
            self._fingerprints[path] = known
        return known[1]

    def _show_errors(self, problems: dict[str, str]) -> None:
        for name in ("relay", "alias", "room", "cipher"):
            node = self.document.getElementById(f"{name}-error")
            node.textContent = problems.get(name, "")
            node.hidden = name not in problems

    async def join(self) -> bool:
        """Check the form, make or load the alias's identity, connect and join; False if it failed."""
        if self._busy:
            return False
        self._busy = True
        try:
            return await self._join()
        except Exception as exc:  # a bug of ours: one line, and the form stays usable
            self.report_internal(exc)
            return False
        finally:
            self._busy = False

    async def _join(self) -> bool:
        relay = self._field("relay").strip()
        host, port, problem = relay_address(relay)
        cipher, kex = self._field("cipher") or None, self._field("kex") or None
        request, problems = check_join_form(
            host, port, self._field("alias"), self._field("room"), cipher, kex
        )
        relay_problem = problem or problems.get("host") or problems.get("port")
        problems = {name: text for name, text in problems.items() if name not in ("host", "port")}
        if relay_problem:
            problems["relay"] = relay_problem
        if "kex" in problems:  # one line under the two selects
            problems.setdefault("cipher", problems.pop("kex"))
        self._show_errors(problems)
        if request is None or problems:
            self.status("check the fields marked in red", "error")
            return False
        await self._close_session()
        try:
            identity = await self._identity(request.alias)
        except (StoreError, IdentityError, OSError) as exc:
            self._show_errors({"alias": str(exc)})
            self.status("cannot use the identity keys of this alias", "error")
            return False
        options = ClientOptions().session(
            request.alias,
            ca=None,
            certificate=None,
            client_name=WEB_CLIENT_NAME,
            host=request.host,
            port=request.port,
        )
        session = ChatSession(options, identity, client_options={"connector": self.connector(relay)})
        trace, wire = session.trace.subscribe(), session.wire.subscribe()
        self.status(f"connecting to {relay} and joining #{request.room}…")
        try:
            await session.open(request.room, request.cipher, request.kex)
        except ConnectError as exc:
            return self._join_failed("relay", exc.message)
        except JoinError as exc:
            return self._join_failed(JOIN_FIELDS.get(exc.code, "status"), exc.message)
        except (ClientError, ValueError) as exc:
            return self._join_failed("status", getattr(exc, "message", str(exc)))
        self.session = self.runner.session = session
        self.alias, self.server = request.alias, relay
        self.store.persist()
        self._spawn(self._pump_events(session))
        self._spawn(self._pump_trace(trace))
        self._spawn(self._pump_wire(wire))
        self.document.getElementById("join-view").hidden = True
        self.document.getElementById("chat-view").hidden = False
        self.show_panel("chat")
        self.refresh()
        made = self.timings.pop("identity", None)
        keys = "" if made is None else f" (new identity keys, made in {made:.1f} s)"
        self.status(f"in #{request.room} as {request.alias}{keys}", "ready")
        return True

    async def _identity(self, alias: str) -> Identity:
        """``alias``'s identity from this browser, or new keys (timed: ``timings["identity"]``, which
        the status line reports once joined)."""
        path = identity_dir(alias, self.root)
        if (path / RSA_FILE).exists() or (path / ELGAMAL_FILE).exists():
            return Identity.load(path)
        self.status(f"generating identity keys for {alias} (RSA-2048 and ElGamal)…")
        await asyncio.sleep(REPAINT)
        start = time.perf_counter()
        identity = Identity.generate()
        self.timings["identity"] = time.perf_counter() - start
        identity.save(path)
        self.store.persist()
        return identity

    def _join_failed(self, field: str, message: str) -> bool:
        if field in FORM_FIELDS:
            self._show_errors({field: message})
            self.status("could not join", "error")
        else:
            self.status(message, "error")
        return False

    # --- the chat -------------------------------------------------------------------------------

    def submit(self, line: str) -> None:
        """A line typed in the chat: a message or a command, as in the terminal clients."""
        try:
            self.runner.submit(line)
        except Exception as exc:
            self.report_internal(exc)

    def command(self, line: str) -> None:
        """A button's command (``/verify bob``, ``/trust bob``): performed as if typed."""
        self.submit(line)

    def show_panel(self, name: str) -> None:
        """Show the chat, trace or wire panel (phones show one at a time)."""
        for panel in PANELS:
            self.document.getElementById(f"panel-{panel}").hidden = panel != name
            self.document.getElementById(f"tab-{panel}").className = "tab active" if panel == name else "tab"

    def close_safety(self) -> None:
        self.document.getElementById("safety").hidden = True

    async def quit(self) -> None:
        """Leave the room, disconnect, and go back to the join form."""
        try:
            await self._close_session()
        except Exception as exc:
            self.report_internal(exc)
        self.document.getElementById("chat-view").hidden = True
        self.document.getElementById("join-view").hidden = False
        self.alias_changed()
        self.status("left; join again when you like", "ready")

    # --- what the runner gives back (chat.ui.runner.View) ---------------------------------------

    def show(self, event: ev.ChatEvent) -> None:
        """An event in words, in the log, and the header and members after it; a safety number also
        opens its check."""
        me = self.alias or ""
        attributes = {"data-event": event.event}  # what the event was, for the tests and the style sheet
        if isinstance(event, ev.MessageReceived):
            attributes |= {"data-sender": event.sender, "data-verified": str(event.verified).lower()}
        log = self.document.getElementById("log")
        for line in describe(event, me):
            node = panels.log_line(self.document, line)
            for name, value in attributes.items():
                node.setAttribute(name, value)
            append_bounded(log, node, LOG_LINES)
        if isinstance(event, ev.SafetyNumber):
            self._safety(event)
        if self.session is not None:
            self.refresh()  # what follows from it: members, trust, the state of the connection
        self.store.persist()  # a first contact or a trust is remembered at once

    def view_command(self, command: cmd.ViewCommand) -> None:
        """Help, the panels, quitting."""
        if isinstance(command, cmd.Help):
            log = self.document.getElementById("log")
            for item in cmd.COMMANDS:
                if not item.panel or item.usage.startswith(("/trace", "/wire", "/chat")):
                    line = element(self.document, "div", f"{item.usage}  {item.summary}", "line help")
                    append_bounded(log, line, LOG_LINES)
        elif isinstance(command, cmd.ShowTrace) and command.rounds:
            self.show(ev.ErrorEvent("no_rounds", "the DES rounds are shown by the terminal clients only"))
        elif isinstance(command, cmd.ShowTrace):
            self.show_panel("trace")
        elif isinstance(command, cmd.ShowWire):
            self.show_panel("wire")
        elif isinstance(command, cmd.ShowChat):
            self.show_panel("chat")
        else:
            self._spawn(self.quit())

    def report_internal(self, exc: BaseException) -> None:
        """A bug of ours, in one line (the page goes on)."""
        self.status(f"internal error: {type(exc).__name__}: {exc}", "error")

    # --- the panels -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """The header (room, suite, INSECURE badge, state, us) and the member list."""
        session = self.session
        joined = None if session is None else session.joined
        room = None if session is None else session.room
        set_text(self.document, "room-title", f"#{room}" if room else "(no room)")
        suite = ""
        if joined is not None:
            info = suite_info(joined.suite)
            suite = f"{info.name}/{joined.kex}" if info.hybrid else info.name
        set_text(self.document, "suite", suite)
        self.document.getElementById("insecure").hidden = not (joined is not None and joined.insecure)
        state = "offline" if session is None else session.state
        set_text(self.document, "state", state, f"state state-{state}")
        set_text(self.document, "server", self.server)
        set_text(self.document, "me-alias", self.alias or "")
        set_text(self.document, "me-fingerprint", "" if session is None else session.fingerprint)
        members = self.document.getElementById("members")
        members.replaceChildren()
        if session is None or session.client.room is None:
            members.appendChild(element(self.document, "li", "not in a room", "member none"))
            return
        who = session.who()
        members.appendChild(panels.member_row(self.document, who.you, you=True))
        for member in who.members:
            members.appendChild(panels.member_row(self.document, member))
        changed = [m.alias for m in who.members if m.trust is TrustState.CHANGED]
        self.document.getElementById("members-title").textContent = f"members ({len(who.members) + 1})" + (
            f", CHANGED: {', '.join(changed)}" if changed else ""
        )

    def _safety(self, check: ev.SafetyNumber) -> None:
        set_text(self.document, "safety-alias", check.alias)
        set_text(self.document, "safety-own", check.own_fingerprint.digits)
        set_text(self.document, "safety-theirs", check.fingerprint.digits)
        set_text(self.document, "safety-number", check.number)
        self.document.getElementById("safety-trust").setAttribute("data-command", f"/trust {check.alias}")
        self.document.getElementById("safety").hidden = False

    async def _pump_events(self, session: ChatSession) -> None:
        async for event in session.events():
            try:
                self.show(event)
            except Exception as exc:
                self.report_internal(exc)

    async def _pump_trace(self, trace: Any) -> None:
        async for record in trace:
            self.trace_count += 1
            entry = panels.trace_entry(self.document, self.trace_count, record)
            append_bounded(self.document.getElementById("trace"), entry, TRACE_ENTRIES)

    async def _pump_wire(self, wire: Any) -> None:
        async for frame in wire:
            append_bounded(
                self.document.getElementById("wire"), panels.wire_entry(self.document, frame), WIRE_ENTRIES
            )

    # --- identity files -------------------------------------------------------------------------

    def export_identity(self) -> bytes | None:
        """The alias's identity as a zip for ``cipherchat client --identity DIR``; None (and why) if none."""
        alias = self.alias or self._field("alias").strip()
        if not alias:
            self._show_errors({"alias": "type the alias whose identity to export"})
            return None
        try:
            data = export_identity(alias, self.root)
        except (IdentityError, StoreError, OSError) as exc:
            self.status(f"no identity to export for {alias}: {exc}", "error")
            return None
        self.status(
            f"exported {alias}'s identity (keep the file private: it holds the private keys)", "ready"
        )
        return data

    def import_identity(self, data: Any) -> bool:
        """Make the identity file ``data`` the alias's in this browser (not while in a room)."""
        alias = self._field("alias").strip()
        if self.session is not None:
            self.status("leave the room before importing an identity", "error")
            return False
        if not alias:
            self._show_errors({"alias": "type the alias the imported identity is for"})
            return False
        raw = data.to_bytes() if hasattr(data, "to_bytes") else bytes(data)
        try:
            identity = import_identity(alias, self.root, raw)
        except (StoreError, OSError) as exc:
            self.status(str(exc), "error")
            return False
        self.store.persist()
        self.alias_changed()
        self.status(f"imported: {alias} is now {identity.fingerprint.digits}", "ready")
        return True

    # --- tasks ----------------------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _close_session(self) -> None:
        session, self.session = self.session, None
        self.runner.session = None
        if session is not None:
            await session.close()
        self.refresh()


async def boot(document: Any, storage: KeyValueStore, protocol: str = "", host: str = "") -> Page:
    """The page, booted: what ``static/main.js`` awaits once Python and this package are loaded
    (a coroutine, so that the page's tasks start on Pyodide's running event loop)."""
    page = Page(document, storage, relay=default_relay(protocol, host))
    page.boot()
    return page

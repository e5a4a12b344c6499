"""The page's Python (chat.web.page) in CPython: a fake document built from the real index.html, a
fake localStorage, and the real transport over a WebSocket bridged to a real relay on 127.0.0.1;
a terminal ChatSession in the same room. No browser (tests/test_web_browser.py has one)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from chat.app.chat_session import ChatSession, SessionOptions
from chat.client import events as ev
from chat.client.streams import Connector
from chat.e2e.identity import Identity
from chat.e2e.suites import SUITES
from chat.e2e.trust import TrustState
from chat.protocol.names import name_problem
from chat.relay.server import RelayServer, ServerConfig, serve
from chat.ui.text import TRUST_LABELS
from chat.web.page import Page, default_relay, relay_address
from chat.web.storage import identity_dir
from chat.web.transport import websocket_connector
from tests.chat_net import Recorder, eventually, run
from tests.chat_support import identity
from tests.web_support import FakeDocument, FakeElement, FakeStorage, RelayWebSocket

pytestmark = pytest.mark.usefixtures("config_home")
TIMEOUT = 10.0


def bridged(port: int) -> Callable[[str], Connector]:
    """The page's connector factory, its WebSockets bridged to the relay's TCP port."""

    def factory(url: str) -> Connector:
        return websocket_connector(url, socket_factory=lambda u: RelayWebSocket(u, port), proxy=lambda f: f)

    return factory


def make_page(
    tmp_path: Path, storage: FakeStorage, port: int = 1, name: str = "tab"
) -> tuple[Page, FakeDocument]:
    document = FakeDocument()
    page = Page(
        document,
        storage,
        relay="ws://127.0.0.1:8080/ws",
        connector=bridged(port),
        config_home=str(tmp_path / name),
    )
    page.boot()
    return page, document


def fill(document: FakeDocument, **fields: str) -> None:
    for name, value in fields.items():
        document.getElementById(name).value = value


def lines(
    document: FakeDocument, predicate: Callable[[FakeElement], bool] | None = None
) -> list[FakeElement]:
    log = document.getElementById("log")
    return [node for node in log.children if predicate is None or predicate(node)]


def _part(entry: FakeElement, cls: str) -> str:
    """The text of ``entry``'s first element of class ``cls``."""
    found = entry.find(lambda node: node.className == cls)
    return found[0].textContent if found else ""


def _terms(entry: FakeElement) -> list[str]:
    return [node.textContent.lower() for node in entry.find(lambda node: node.tag == "dt")]


def test_the_relay_beside_the_page_and_the_form_s_relay_checks() -> None:
    assert default_relay("http:", "school.example:8080") == "ws://school.example:8080/ws"
    assert default_relay("https:", "school.example") == "wss://school.example/ws"
    assert default_relay("file:", "") == ""
    assert relay_address("ws://127.0.0.1:8080/ws") == ("127.0.0.1", "8080", None)
    assert relay_address("wss://school.example/ws") == ("school.example", "443", None)
    assert relay_address("http://x/")[2] == "relay must be a ws:// or wss:// URL, not 'http://x/'"


def test_boot_offers_the_registry_s_suites_with_their_insecure_marks(tmp_path: Path) -> None:
    async def scenario() -> None:
        page, document = make_page(tmp_path, FakeStorage())
        options = document.getElementById("cipher").children
        labels = {node.attributes["value"]: node.textContent for node in options}
        assert set(labels) == {"", *SUITES}
        for name, info in SUITES.items():
            assert labels[name].endswith("(INSECURE)") == info.insecure
        assert document.getElementById("relay").value == "ws://127.0.0.1:8080/ws"
        assert document.getElementById("room").value == "lobby"
        assert document.getElementById("status").className == "status status-ready"
        insecure = next(name for name, info in SUITES.items() if info.insecure)
        fill(document, cipher=insecure)
        page.suite_note()
        assert document.text("suite-note") == SUITES[insecure].note
        assert "insecure" in document.getElementById("suite-note").className

    run(scenario, timeout=TIMEOUT)


def test_the_join_form_says_what_the_terminal_client_says_under_each_field(tmp_path: Path) -> None:
    async def scenario() -> None:
        page, document = make_page(tmp_path, FakeStorage())
        fill(document, relay="http://relay/", alias="no spaces", room="")
        assert not await page.join()
        assert document.text("relay-error") == "relay must be a ws:// or wss:// URL, not 'http://relay/'"
        assert document.text("alias-error") == name_problem("no spaces", "alias")
        assert document.text("room-error") == name_problem("", "room name")
        assert not document.getElementById("alias-error").hidden
        fill(document, relay="ws://127.0.0.1:99999/ws", alias="alice", room="lobby")
        assert not await page.join()
        assert document.text("relay-error") == "port must be a number from 1 to 65535, not ''"
        assert document.getElementById("alias-error").hidden
        assert not (identity_dir("alice", page.root) / "rsa.pem").exists()  # no keys made for a bad form

    run(scenario, timeout=TIMEOUT)


def test_a_relay_that_is_not_there_is_one_line_under_the_relay_field(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        port = server.port
        await server.close()
        page, document = make_page(tmp_path, FakeStorage(), port)
        identity("alice").save(identity_dir("alice", page.root))
        fill(document, relay=f"ws://127.0.0.1:{port}/ws", alias="alice")
        assert not await page.join()
        assert document.text("relay-error") == f"cannot connect to 127.0.0.1:{port}: connection refused"
        assert document.getElementById("chat-view").hidden

    run(scenario, timeout=TIMEOUT)


async def _terminal(server: RelayServer, alias: str, keys: Identity) -> tuple[ChatSession, Recorder]:
    session = ChatSession(SessionOptions(alias, port=server.port), keys)
    await session.open("lobby")
    recorder = Recorder(session)
    return session, recorder


def test_the_page_chats_with_a_terminal_client_and_checks_its_safety_number(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        storage = FakeStorage()
        page, document = make_page(tmp_path, storage, server.port)
        fill(
            document,
            relay=f"ws://127.0.0.1:{server.port}/ws",
            alias="alice",
            room="lobby",
            cipher="3des",
            kex="rsa",
        )
        page.alias_changed()
        assert document.text("identity-note") == "new identity keys will be made for alice in this browser"
        bob = None
        try:
            assert await page.join()
            assert document.text("status").startswith("in #lobby as alice (new identity keys, made in ")
            assert not document.getElementById("chat-view").hidden
            await eventually(lambda: document.text("suite") == "3des/rsa", "the room's suite in the header")
            assert document.getElementById("insecure").hidden
            assert page.session is not None
            assert document.text("me-fingerprint") == page.session.fingerprint
            bob, heard = await _terminal(server, "bob", identity("bob"))
            members = document.getElementById("members")
            await eventually(lambda: len(members.children) == 2, "bob in the member list")
            row = members.children[1]
            assert row.attributes["data-alias"] == "bob"
            assert identity("bob").fingerprint.digits in row.textContent
            assert TRUST_LABELS[TrustState.NEW] in row.textContent
            await bob.say("hello alice")
            received = lambda node: node.attributes.get("data-event") == "message"  # noqa: E731
            await eventually(lambda: bool(lines(document, received)), "bob's message in the page")
            message = lines(document, received)[0]
            assert (
                message.attributes["data-sender"] == "bob" and message.attributes["data-verified"] == "true"
            )
            assert "hello alice" in message.textContent
            page.submit("hello bob")
            await eventually(lambda: heard.texts() == [("alice", "hello bob")], "alice's message at bob")
            assert all(m.verified for m in heard.of(ev.MessageReceived))
            # the safety number: the member's button runs /verify, the dialog's runs /trust
            button = row.find(lambda node: node.tag == "button")[0]
            page.command(button.attributes["data-command"])
            await eventually(lambda: not document.getElementById("safety").hidden, "the safety dialog")
            assert document.text("safety-number") == bob.verify("alice").number
            page.command(document.getElementById("safety-trust").attributes["data-command"])
            await eventually(
                lambda: "verified" in document.getElementById("members").children[1].textContent, "trusted"
            )
            # the panels: how the messages were sealed and opened, and the frames as the relay saw them
            trace = document.getElementById("trace").children
            opened = [entry for entry in trace if _part(entry, "step") == "opened"]
            assert opened and all(_part(entry, "outcome") == "verified" for entry in opened)
            assert {"iv", "ciphertext", "mac", "signature"} <= set(_terms(opened[0]))
            wire = document.getElementById("wire").children
            assert any("message" in frame.textContent for frame in wire)
            assert all("hello bob" not in frame.textContent for frame in wire)  # only ciphertext
            fingerprint = page.session.fingerprint
            await page.quit()
            assert not document.getElementById("join-view").hidden
        finally:
            if bob is not None:
                await bob.close()
            await page._close_session()
            await server.close()
        # A reload: a new page on the same localStorage has the same keys and remembers bob
        again, document_again = make_page(tmp_path, storage, server.port, name="reloaded")
        fill(document_again, alias="alice")
        again.alias_changed()
        assert document_again.text("identity-note") == f"your fingerprint as alice: {fingerprint}"
        assert any("known_peers" in key for key in storage.items)

    run(scenario, timeout=90)


def test_a_changed_key_under_a_pinned_alias_is_a_red_warning_and_a_changed_member(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        page, document = make_page(tmp_path, FakeStorage(), server.port)
        identity("alice").save(identity_dir("alice", page.root))
        fill(document, relay=f"ws://127.0.0.1:{server.port}/ws", alias="alice", room="lobby")
        try:
            assert await page.join()
            bob, _ = await _terminal(server, "bob", identity("bob"))
            await eventually(lambda: len(document.getElementById("members").children) == 2, "bob")
            await bob.close()
            await eventually(lambda: len(document.getElementById("members").children) == 1, "bob gone")
            impostor, _ = await _terminal(server, "bob", identity("mallory"))
            warned = lambda node: "tone-warning" in node.className and "bob" in node.textContent  # noqa: E731
            await eventually(lambda: bool(lines(document, warned)), "the changed key's warning")
            members = document.getElementById("members")
            await eventually(
                lambda: len(members.children) == 2 and "changed" in members.children[1].className, "CHANGED"
            )
            assert "CHANGED" in members.children[1].textContent
            assert "CHANGED: bob" in document.text("members-title")
            await impostor.close()
        finally:
            await page._close_session()
            await server.close()

    run(scenario, timeout=60)


def test_an_insecure_suite_shows_the_badge_and_the_core_s_warning(tmp_path: Path) -> None:
    insecure = next(name for name, info in SUITES.items() if info.insecure)

    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        page, document = make_page(tmp_path, FakeStorage(), server.port)
        identity("alice").save(identity_dir("alice", page.root))
        fill(document, relay=f"ws://127.0.0.1:{server.port}/ws", alias="alice", room="old", cipher=insecure)
        try:
            assert await page.join()
            badge = document.getElementById("insecure")
            await eventually(lambda: not badge.hidden, "the INSECURE badge")
            assert badge.textContent == "INSECURE"
            warned = lines(document, lambda node: node.attributes.get("data-event") == "warning")
            assert warned and "tone-warning" in warned[0].className
        finally:
            await page._close_session()
            await server.close()

    run(scenario, timeout=TIMEOUT)


def test_an_identity_exported_from_one_browser_imports_into_another(tmp_path: Path) -> None:
    async def scenario() -> None:
        one, document_one = make_page(tmp_path, FakeStorage(), name="one")
        identity("alice").save(identity_dir("alice", one.root))
        fill(document_one, alias="alice")
        data = one.export_identity()
        assert data is not None
        two, document_two = make_page(tmp_path, FakeStorage(), name="two")
        identity("bob").save(identity_dir("alice", two.root))  # other keys under the same alias
        fill(document_two, alias="alice")
        two.alias_changed()
        assert identity("bob").fingerprint.digits in document_two.text("identity-note")
        assert two.import_identity(data)
        assert (
            document_two.text("identity-note")
            == f"your fingerprint as alice: {identity('alice').fingerprint.digits}"
        )
        assert not two.import_identity(b"garbage")
        assert document_two.text("status") == "not an identity file: expected a zip of an identity directory"
        assert "status-error" in document_two.getElementById("status").className

    run(scenario, timeout=TIMEOUT)


def test_help_and_panels_are_the_page_s_and_a_message_out_of_a_room_is_a_red_line(tmp_path: Path) -> None:
    async def scenario() -> None:
        page, document = make_page(tmp_path, FakeStorage())
        page.submit("/help")
        assert any("/verify ALIAS" in node.textContent for node in lines(document))
        page.submit("/wire")
        assert (
            not document.getElementById("panel-wire").hidden and document.getElementById("panel-chat").hidden
        )
        page.submit("/chat")
        assert not document.getElementById("panel-chat").hidden
        page.submit("/verify")  # a mistake in a command: the parser's words, in red
        await asyncio.sleep(0)
        errors = lines(document, lambda node: "tone-error" in node.className)
        assert errors and "usage: /verify ALIAS" in errors[-1].textContent

    run(scenario, timeout=TIMEOUT)

"""The Textual client driven headless (App.run_test and Pilot) against a real relay on 127.0.0.1."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import Input, Static

from chat.app.chat_session import ChatSession
from chat.client import events as ev
from chat.client.backoff import Backoff
from chat.client.chat_client import ChatClient
from chat.client.errors import JoinError
from chat.client.store import known_peers_path
from chat.e2e.identity import safety_number
from chat.e2e.trust import KnownPeers
from chat.ui.tui.app import ChatApp
from chat.ui.tui.screens import HelpScreen, JoinScreen, VerifyScreen
from tests.chat_net import Recorder, eventually, run
from tests.chat_support import identity
from tests.tui_pilot import (
    SIZE,
    chat_app,
    close_all,
    joined,
    library_client,
    log_text,
    relay,
    type_line,
    until,
)

pytestmark = pytest.mark.usefixtures("config_home")  # known peers (and any identity) stay in the test


def fill(app: ChatApp, **fields: str) -> None:
    screen = app.screen
    assert isinstance(screen, JoinScreen)
    for name, value in fields.items():
        screen.query_one(f"#{name}", Input).value = value


# --- the join screen ----------------------------------------------------------------------------


def test_join_screen_checks_fields_inline_then_joins() -> None:
    async def scenario() -> None:
        server = await relay()
        app = chat_app(server.port)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, JoinScreen)
            assert screen.query_one("#port", Input).value == str(server.port)
            fill(app, alias="no spaces", room="lobby")
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen is screen
            assert "alias may hold only letters" in screen.errors()["alias"]
            assert app.client is None
            fill(app, alias="alice", room="-x")
            await pilot.press("enter")
            await pilot.pause()
            assert list(screen.errors()) == ["room"]
            fill(app, room="maths")
            await pilot.click("#join")
            await joined(pilot, app)
            assert app.client is not None and app.client.room == "maths"
            header = app.main_screen.header.text
            assert f"127.0.0.1:{server.port}" in header and "#maths" in header and "3des" in header
            assert "alice" in header and identity("alice").fingerprint.digits in header
            assert "INSECURE" not in header
            assert "joined #maths as alice" in log_text(app)
            assert app.internal_errors == []
            await pilot.press("ctrl+q")
        assert app.return_code == 0
        await server.close()

    run(scenario, timeout=60)


def test_join_screen_shows_refused_connection_and_taken_alias_under_their_field(free_port: int) -> None:
    async def scenario() -> None:
        server = await relay()
        bob = await library_client(server.port, "bob", "lobby")
        app = chat_app(free_port)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, JoinScreen)
            fill(app, alias="Bob", room="lobby")
            await pilot.press("enter")
            await until(pilot, lambda: "host" in screen.errors(), "the refused connection")
            assert "connection refused" in screen.errors()["host"]
            fill(app, port=str(server.port))
            await pilot.press("enter")
            await until(pilot, lambda: "alias" in screen.errors(), "the taken alias")
            assert "taken" in screen.errors()["alias"]
            assert app.screen is screen and app.client is None
            fill(app, alias="alice")
            await pilot.press("enter")
            await joined(pilot, app)
            await until(pilot, lambda: "bob" in app.main_screen.members.text, "bob in the list")
            assert app.internal_errors == []
        await close_all(bob, server)

    run(scenario, timeout=60)


def test_alias_and_room_given_skip_the_join_screen() -> None:
    async def scenario() -> None:
        server = await relay()
        app = chat_app(server.port, "alice", "lobby", cipher="des")
        async with app.run_test(size=SIZE) as pilot:
            await joined(pilot, app)
            assert not any(isinstance(s, JoinScreen) for s in app.screen_stack)
            header = app.main_screen.header.text
            assert "#lobby" in header and "des" in header and "INSECURE" in header
            assert "INSECURE: single DES has a 56-bit key" in log_text(app)
        await server.close()

    run(scenario, timeout=60)


# --- chatting -----------------------------------------------------------------------------------


def test_two_apps_chat_and_see_each_other() -> None:
    async def scenario() -> None:
        server = await relay()
        alice, bob = chat_app(server.port, "alice", "lobby"), chat_app(server.port, "bob", "lobby")
        async with alice.run_test(size=SIZE) as pa, bob.run_test(size=SIZE) as pb:
            await joined(pa, alice)
            await joined(pb, bob)
            await until(pa, lambda: "bob" in alice.main_screen.members.text, "bob in alice's list")
            assert "alice (you)" in alice.main_screen.members.text
            assert identity("bob").fingerprint.short in alice.main_screen.members.text
            await until(pb, lambda: "alice" in bob.main_screen.members.text, "alice in bob's list")
            await type_line(pa, alice, "hello bob")
            await until(pb, lambda: "alice: hello bob" in log_text(bob), "the message at bob")
            await type_line(pb, bob, "hi alice")
            await until(pa, lambda: "bob: hi alice" in log_text(alice), "the answer at alice")
            assert "alice: hello bob" in log_text(alice)
            assert "bob joined (fingerprint " + identity("bob").fingerprint.digits + ", new)" in log_text(
                alice
            )
            await type_line(pb, bob, "/leave")
            await until(pa, lambda: "bob left" in log_text(alice), "bob leaving")
            await until(pa, lambda: "bob" not in alice.main_screen.members.text, "bob gone from the list")
            await until(pa, lambda: "rekeyed: new session key: a member left" in log_text(alice), "the rekey")
            assert alice.internal_errors == [] and bob.internal_errors == []
        await server.close()

    run(scenario, timeout=60)


def test_trace_shows_ciphertext_and_verified_signature_and_wire_shows_no_plaintext() -> None:
    async def scenario() -> None:
        server = await relay()
        bob = await library_client(server.port, "bob", "lobby")
        recorder = Recorder(bob)
        app = chat_app(server.port, "alice", "lobby")
        secret, answer = "attack at dawn 4711", "retreat at dusk 0815"
        async with app.run_test(size=SIZE) as pilot:
            await joined(pilot, app)
            await until(pilot, lambda: "received bob's session key" in log_text(app), "bob's key")
            await type_line(pilot, app, secret)
            await until(pilot, lambda: ("alice", secret) in recorder.texts(), "the message at bob")
            await bob.send(answer)
            await until(pilot, lambda: f"bob: {answer}" in log_text(app), "bob's message")
            await pilot.press("f2")
            await pilot.pause()
            assert app.main_screen.panel == "trace"
            panel = app.main_screen.trace
            steps = [(r.step, r.sender) for r in panel.records.values()]
            assert ("seal", "alice") in steps and ("open", "bob") in steps and ("unwrap", "bob") in steps
            number = max(n for n, r in panel.records.items() if r.step == "open")
            panel.show_detail(number)
            detail = panel.detail_text
            record = panel.records[number]
            assert "checks: mac ok  signature ok" in detail
            assert record.fields["ciphertext"] in detail and record.fields["signature"] in detail
            assert secret not in detail and answer not in detail
            # the ciphertext traced is the one that crossed the wire
            relayed = [
                f.obj["body"] for f in app.client.wire.history() if f.obj and f.obj.get("type") == "message"
            ]
            cts = [base64.b64decode(body["ct"]).hex() for body in relayed]
            assert record.fields["ciphertext"] in cts
            await pilot.press("f3")
            await pilot.pause()
            assert app.main_screen.panel == "wire"
            wire = app.main_screen.wire.text
            assert '"type":"message"' in wire and '"ct":' in wire
            assert secret not in wire and answer not in wire
            assert base64.b64encode(secret.encode()).decode()[:12] not in wire
            await pilot.press("escape")
            await pilot.pause()
            assert app.main_screen.panel == "chat"
            assert app.internal_errors == []
        await recorder.stop()
        await server.close()

    run(scenario, timeout=60)


def test_des_rounds_end_in_the_ciphertext() -> None:
    async def scenario() -> None:
        server = await relay()
        app = chat_app(server.port, "alice", "desroom", cipher="des")
        async with app.run_test(size=SIZE) as pilot:
            await joined(pilot, app)
            await type_line(pilot, app, "/trace rounds")
            assert "no DES block traced yet" in log_text(app)
            await type_line(pilot, app, "sixteen rounds")
            panel = app.main_screen.trace
            await until(pilot, lambda: panel.last_with_block() is not None, "the sealed message")
            await type_line(pilot, app, "/trace rounds")
            assert app.main_screen.panel == "trace"
            text = panel.detail_text
            number = panel.last_with_block()
            assert number is not None
            ciphertext = panel.records[number].fields["ciphertext"]
            lines = text.splitlines()
            rounds = [line for line in lines if line.strip()[:2].strip().isdigit() and len(line.split()) == 4]
            assert [int(line.split()[0]) for line in rounds] == list(range(1, 17))
            assert f"output {ciphertext[:16]}" in text  # DES of (P1 xor IV) is C1
            await type_line(pilot, app, "/trace rounds 99")
            assert "no trace record #99" in log_text(app)
            assert app.internal_errors == []
        await server.close()

    run(scenario, timeout=60)


# --- identity and trust -------------------------------------------------------------------------


def test_changed_key_warns_marks_messages_until_trusted(config_home: Path) -> None:
    async def scenario() -> None:
        server = await relay()
        peers = KnownPeers(known_peers_path("alice", "127.0.0.1", server.port, config_home))
        peers.check("bob", identity("mallory").fingerprint)  # bob was seen before with another key
        app = chat_app(server.port, "alice", "lobby")
        async with app.run_test(size=SIZE) as pilot:
            await joined(pilot, app)
            bob = await library_client(server.port, "bob", "lobby")
            bob_reads = Recorder(bob)
            await until(pilot, lambda: "identity key changed" in log_text(app), "the warning")
            warning = next(
                line for line in app.main_screen.log_view.entries if "identity key changed" in line.plain
            )
            assert any("red" in str(span.style) for span in warning.spans)
            await until(pilot, lambda: "CHANGED" in app.main_screen.members.text, "CHANGED in the list")
            withheld = "your key is withheld from bob: its identity key CHANGED (/verify bob, then /trust bob"
            await until(pilot, lambda: withheld in log_text(app), "the key withheld")
            line = next(e for e in app.main_screen.log_view.entries if withheld in e.plain)
            assert any("red" in str(span.style) for span in line.spans)
            await until(pilot, lambda: "received bob's session key" in log_text(app), "bob's key")
            await bob.send("it is really me")
            await until(pilot, lambda: "bob [unverified key]: it is really me" in log_text(app), "the mark")
            await type_line(pilot, app, "not for a changed key")
            await type_line(pilot, app, "/verify bob")
            assert isinstance(app.screen, VerifyScreen)
            number = safety_number("alice", identity("alice").public, "bob", identity("bob").public)
            assert app.screen.number == number
            assert f"safety number with bob: {number}" in log_text(app)
            await pilot.click("#verify-trust")
            await until(pilot, lambda: "verified" in app.main_screen.members.text, "bob verified")
            assert "CHANGED" not in app.main_screen.members.text
            await bob.send("and again")
            await until(pilot, lambda: "bob: and again" in log_text(app), "an unmarked message")
            await type_line(pilot, app, "now you can read me")  # trusted: bob got alice's chain
            await eventually(
                lambda: ("alice", "now you can read me") in bob_reads.texts(), "bob reading alice"
            )
            assert bob_reads.texts() == [("alice", "now you can read me")]  # nothing from before /trust
            stored = KnownPeers(known_peers_path("alice", "127.0.0.1", server.port, config_home))
            assert stored.remembered("bob") == identity("bob").fingerprint.hex
            assert app.internal_errors == []
            await close_all(bob)
        await server.close()

    run(scenario, timeout=60)


def test_safety_numbers_match_on_both_sides() -> None:
    async def scenario() -> None:
        server = await relay()
        alice, bob = chat_app(server.port, "alice", "lobby"), chat_app(server.port, "bob", "lobby")
        async with alice.run_test(size=SIZE) as pa, bob.run_test(size=SIZE) as pb:
            await joined(pa, alice)
            await joined(pb, bob)
            await until(pa, lambda: "bob" in alice.main_screen.members.text, "bob in alice's list")
            await type_line(pa, alice, "/verify bob")
            await type_line(pb, bob, "/verify alice")
            assert isinstance(alice.screen, VerifyScreen) and isinstance(bob.screen, VerifyScreen)
            assert alice.screen.number == bob.screen.number
            assert len(alice.screen.number.replace(" ", "")) == 60
            await pa.press("escape")
            await pa.pause()
            assert not isinstance(alice.screen, VerifyScreen)
            assert "verified" not in alice.main_screen.members.text
            await type_line(pa, alice, "/trust bob")
            assert "you marked bob's key as verified" in log_text(alice)
            await until(pa, lambda: "verified" in alice.main_screen.members.text, "bob verified in the list")
        await server.close()

    run(scenario, timeout=60)


# --- commands and failures ----------------------------------------------------------------------


def test_bad_commands_are_red_lines_and_help_opens() -> None:
    async def scenario() -> None:
        server = await relay()
        app = chat_app(server.port, "alice", "lobby")
        async with app.run_test(size=SIZE) as pilot:
            await joined(pilot, app)
            for line, shown in [
                ("/frobnicate", "unknown command /frobnicate"),
                ("/join", "/join needs a room"),
                ("/verify nobody", "no member 'nobody'"),
                ("/trust", "/trust needs one alias"),
                ("/cert nobody", "no member 'nobody'"),
            ]:
                await type_line(pilot, app, line)
                last = app.main_screen.log_view.entries[-1]
                assert shown in last.plain, line
                assert any("red" in str(span.style) for span in last.spans), line
            await type_line(pilot, app, "//slash message")
            await until(pilot, lambda: "alice: /slash message" in log_text(app), "the slash message")
            await pilot.press("f1")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            assert "/verify ALIAS" in str(app.screen.query_one("#help-text").content)
            await pilot.press("escape")
            await pilot.pause()
            await type_line(pilot, app, "/help")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            await type_line(pilot, app, "/who")
            assert "members of #lobby:" in log_text(app)
            await type_line(pilot, app, "/leave")
            await until(pilot, lambda: "left #lobby" in log_text(app), "leaving")
            await type_line(pilot, app, "nobody hears this")
            assert "not sent (not in a room; /join ROOM first): nobody hears this" in log_text(app)
            await type_line(pilot, app, "/join other --cipher des")
            await until(pilot, lambda: app.client is not None and app.client.room == "other", "the new room")
            await until(pilot, lambda: "#other" in app.main_screen.header.text, "the header")
            assert app.internal_errors == []
        await server.close()

    run(scenario, timeout=60)


def test_a_crash_in_a_handler_is_a_red_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: ChatSession) -> None:
        raise RuntimeError("boom")

    async def scenario() -> None:
        server = await relay()
        app = chat_app(server.port, "alice", "lobby")
        async with app.run_test(size=SIZE) as pilot:
            await joined(pilot, app)
            monkeypatch.setattr(ChatSession, "cancel_transfers", broken)  # what /cancel runs, alone
            await type_line(pilot, app, "/cancel")
            await until(pilot, lambda: "internal error: RuntimeError: boom" in log_text(app), "the red line")
            assert app.is_running
            await type_line(pilot, app, "still here")
            await until(pilot, lambda: "alice: still here" in log_text(app), "the next message")
            assert app.internal_errors == ["internal error: RuntimeError: boom"]
        await server.close()

    run(scenario, timeout=60)


def test_the_app_reconnects_after_the_server_restarts_and_sends_what_was_typed() -> None:
    async def scenario() -> None:
        server = await relay()
        port = server.port
        alice, bob = chat_app(port, "alice", "lobby"), chat_app(port, "bob", "lobby")
        async with alice.run_test(size=SIZE) as pa, bob.run_test(size=SIZE) as pb:
            await joined(pa, alice)
            await joined(pb, bob)
            await until(pa, lambda: "received bob's session key" in log_text(alice), "bob's key")
            await type_line(pa, alice, "before the outage")
            await until(pb, lambda: "alice: before the outage" in log_text(bob), "the first message")
            assert alice.client is not None
            fingerprint = alice.client.fingerprint
            await server.close()
            await until(pa, lambda: "disconnected: server shutting down" in log_text(alice), "the loss")
            lost = next(e for e in alice.main_screen.log_view.entries if "disconnected:" in e.plain)
            assert any("red" in str(span.style) for span in lost.spans)
            await until(pa, lambda: "reconnecting in" in log_text(alice), "the first attempt")
            assert "reconnecting" in alice.main_screen.header.text
            await type_line(pa, alice, "typed during the outage")
            await until(pa, lambda: "queued until the connection is back" in log_text(alice), "the queue")
            server = await relay(port=port)
            await until(pa, lambda: "reconnected after" in log_text(alice), "alice back", timeout=15)
            await until(pb, lambda: "alice: typed during the outage" in log_text(bob), "the queued message")
            await type_line(pa, alice, "after the outage")
            await until(pb, lambda: "alice: after the outage" in log_text(bob), "the next message")
            assert log_text(bob).count("alice: typed during the outage") == 1
            assert "rejoined #lobby with a fresh session key" in log_text(alice)
            assert (
                "#lobby" in alice.main_screen.header.text
                and "reconnecting" not in alice.main_screen.header.text
            )
            assert alice.client is not None and alice.client.fingerprint == fingerprint
            assert "NOT SENT" not in log_text(alice)
            assert alice.internal_errors == [] and bob.internal_errors == []
        await server.close()

    run(scenario, timeout=60)


def test_messages_typed_offline_are_marked_not_sent_when_the_bound_runs_out() -> None:
    async def scenario() -> None:
        server = await relay()
        app = chat_app(server.port, "alice", "lobby", backoff=Backoff(initial=0.3, max_attempts=2, jitter=0))
        async with app.run_test(size=SIZE) as pilot:
            await joined(pilot, app)
            await server.close()
            await until(pilot, lambda: "reconnecting in" in log_text(app), "the first attempt")
            await type_line(pilot, app, "into the void")
            await until(pilot, lambda: "gave up reconnecting" in log_text(app), "giving up")
            await until(pilot, lambda: "NOT SENT" in log_text(app), "the unsent line")
            line = next(e for e in app.main_screen.log_view.entries if "NOT SENT" in e.plain)
            assert line.plain.endswith(": into the void")
            assert any("red" in str(span.style) for span in line.spans)
            assert app.unsent == ["into the void"]
            await type_line(pilot, app, "and this one")
            await until(pilot, lambda: "and this one" in log_text(app), "the refused line")
            last = app.main_screen.log_view.entries[-1]
            assert "not sent" in last.plain and "gave up" in last.plain
            assert app.internal_errors == []

    run(scenario, timeout=60)


# --- layout -------------------------------------------------------------------------------------


def _inside(app: ChatApp, *selectors: str) -> None:
    width, height = app.size
    for selector in selectors:
        region = app.screen.query_one(selector).region
        assert region.width > 0 and region.height > 0, selector
        assert region.x >= 0 and region.y >= 0, selector
        assert region.right <= width and region.bottom <= height, (selector, region, app.size)


def _log_fits(app: ChatApp) -> bool:
    """Every line of the log, as wrapped, fits its width."""
    log = app.main_screen.log_view
    usable = log.scrollable_content_region.width
    return bool(log.lines) and all(strip.cell_length <= usable for strip in log.lines)


def test_main_screen_fits_80x24_and_follows_resizes() -> None:
    async def scenario() -> None:
        server = await relay()
        bob = await library_client(server.port, "bob", "lobby")
        app = chat_app(server.port, "alice", "lobby")
        async with app.run_test(size=(80, 24)) as pilot:
            await joined(pilot, app)
            await type_line(pilot, app, "a long line " * 20)
            await until(pilot, lambda: "alice: a long line" in log_text(app), "the long line")
            await pilot.pause(0.1)
            assert app.size == (80, 24)
            _inside(app, "#header", "#log", "#members", "#input", "Footer")
            header = app.main_screen.header
            assert all(len(line) <= header.content_region.width for line in header.text.splitlines())
            members = app.main_screen.members
            assert all(len(line) <= members.content_region.width for line in members.text.splitlines())
            assert app.screen.query_one("#log").region.width >= 40
            await until(pilot, lambda: _log_fits(app), "the log to fit")
            for size in ((120, 40), (60, 20), (80, 24)):
                await pilot.resize_terminal(*size)
                await pilot.pause(0.1)
                assert app.size == size
                _inside(app, "#header", "#log", "#members", "#input", "Footer")
                await until(pilot, lambda: _log_fits(app), "the log to fit")
            await pilot.press("f2")
            await pilot.pause()
            _inside(app, "#trace-table", "#trace-scroll")
            await pilot.press("f3")
            await pilot.pause()
            _inside(app, "#wire")
            assert app.internal_errors == []
        await close_all(bob, server)

    run(scenario, timeout=60)


def test_join_screen_fits_80x24(free_port: int) -> None:
    async def scenario() -> None:
        app = chat_app(free_port)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            fill(app, alias="bad alias", room="")
            await pilot.press("enter")
            await pilot.pause()
            _inside(app, "#host", "#port", "#alias", "#room", "#cipher", "#kex", "#join", "#alias-error")

    run(scenario, timeout=30)


def test_lines_go_out_in_the_order_typed_and_come_back_with_up() -> None:
    async def scenario() -> None:
        server = await relay()
        bob = await library_client(server.port, "bob", "lobby")
        recorder = Recorder(bob)
        app = chat_app(server.port, "alice", "lobby")
        async with app.run_test(size=SIZE) as pilot:
            await joined(pilot, app)
            for number in range(5):
                box = app.main_screen.query_one("#input", Input)
                box.value = f"line {number}"
                await pilot.press("enter")
            await until(pilot, lambda: len(recorder.texts()) == 5, "five messages")
            assert recorder.texts() == [("alice", f"line {n}") for n in range(5)]
            assert not recorder.of(ev.WarningEvent)
            box = app.main_screen.query_one("#input", Input)
            seen = []
            for key in ("up", "up", "down", "down", "down"):
                await pilot.press(key)
                seen.append(box.value)
            assert seen == ["line 4", "line 3", "line 4", "", ""]  # Up and Down walk what was typed
        await recorder.stop()
        await server.close()

    run(scenario, timeout=60)


DOWNGRADE = (
    "the relay offered 3des/elgamal for room 'maths', but you asked for 3des/rsa: refused, as the relay "
    "could be downgrading the room (join without asking to accept the room's)"
)


def test_a_room_refused_as_a_downgrade_is_one_red_line_on_the_join_screen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The client's refusal (JoinError code downgrade) as it reaches the view; the refusal itself is
    # the client's (tests of chat.client): here, only how the join screen says it.
    async def refuse(self: ChatClient, *args: object, **kwargs: object) -> ev.Joined:
        raise JoinError(DOWNGRADE, "downgrade")

    async def scenario() -> None:
        server = await relay()
        monkeypatch.setattr(ChatClient, "join", refuse)
        app = chat_app(server.port, cipher="3des", kex="rsa")
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, JoinScreen)
            fill(app, alias="alice", room="maths")
            await pilot.press("enter")
            await until(pilot, lambda: bool(screen.status), "the refusal")
            assert screen.status == DOWNGRADE and screen.errors() == {}
            status = screen.query_one("#join-status", Static)
            assert isinstance(status.content, Text) and status.content.style == "red"
            assert app.client is None and app.internal_errors == []
        await server.close()

    run(scenario, timeout=60)

"""The application core (chat.app) and the command runner on it: pure decisions first, then a
ChatSession and a CommandRunner on a relay in the test's event loop (127.0.0.1)."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any
from unittest.mock import ANY

import pytest

from chat.app.ca_checks import NO_CERTIFICATE, UNUSABLE, CertificateChecks
from chat.app.chat_session import ChatSession, SessionOptions, connection_state
from chat.app.policy import exclusion, first_contact, insecure_warning, join_refusal, sender_refusal
from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.client.errors import ClientError, JoinError
from chat.client.reconnect import ConnectionState
from chat.e2e.certificates import CertificateState, CertificateStatus, issue
from chat.e2e.suites import SUITES
from chat.e2e.trust import TrustState
from chat.relay.server import ServerConfig, serve
from chat.transfer.errors import TransferError
from chat.ui import commands as cmd
from chat.ui.line import run_line_client
from chat.ui.options import ClientOptions
from chat.ui.runner import CommandRunner
from chat.ui.text import plain_lines
from tests.chat_net import Recorder, eventually, run
from tests.chat_support import identity
from tests.test_certificates import ca_key

pytestmark = pytest.mark.usefixtures("config_home")  # the processes inherit the variable


# --- pure decisions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "connected", "in_room", "shown"),
    [
        (ConnectionState.ONLINE, True, True, "online"),
        (ConnectionState.ONLINE, True, False, "connected"),
        (ConnectionState.ONLINE, False, False, "offline"),
        (ConnectionState.OFFLINE, False, False, "offline"),
        (ConnectionState.RECONNECTING, False, False, "reconnecting"),
        (ConnectionState.GAVE_UP, False, False, "offline"),
    ],
)
def test_connection_state(link: ConnectionState, connected: bool, in_room: bool, shown: str) -> None:
    assert connection_state(link, connected, in_room) == shown


def test_a_refusal_for_want_of_a_certificate_says_how_to_present_one() -> None:
    refused = JoinError("no certificate", "unauthorized")
    assert join_refusal(refused, certified=False) == (
        "refused: no certificate (this server admits only certified members: start with --cert FILE)"
    )
    assert join_refusal(refused, certified=True) == "refused: no certificate"
    taken = JoinError("alias 'bob' is taken in room 'lobby'", "alias_taken")
    assert join_refusal(taken, certified=False) == taken.message


def test_every_insecure_suite_has_its_warning() -> None:
    for name, info in SUITES.items():
        warning = insecure_warning(name)
        assert (warning.code, warning.message) == ("insecure_suite", f"{name} is insecure: {info.note}")


def test_the_key_goes_to_neither_a_changed_key_nor_a_certificate_that_does_not_hold() -> None:
    assert exclusion("bob", TrustState.NEW, None) is None  # first contact: trust on first use
    assert exclusion("bob", TrustState.KNOWN, CertificateStatus(CertificateState.VALID, "ok")) is None
    changed = exclusion("bob", TrustState.CHANGED, None)
    assert changed == "its identity key CHANGED (/verify bob, then /trust bob if the numbers match)"
    assert (
        exclusion("bob", TrustState.VERIFIED, NO_CERTIFICATE)
        == "its certificate does not hold (no certificate)"
    )
    assert exclusion("bob", None, UNUSABLE) == "its certificate does not hold (identity keys unusable)"
    refused = sender_refusal("bob", TrustState.KNOWN, NO_CERTIFICATE)
    assert (
        refused is not None
        and refused.to_sender == "this member checks certificates, and yours does not hold"
    )
    assert sender_refusal("bob", TrustState.KNOWN, None) is None


def test_first_contact_is_said_once_per_key() -> None:
    fingerprint = identity("bob").fingerprint
    assert first_contact("bob", fingerprint, TrustState.NEW) == ev.FirstContact("bob", fingerprint, time=ANY)
    for trust in (TrustState.KNOWN, TrustState.VERIFIED, TrustState.CHANGED, None):
        assert first_contact("bob", fingerprint, trust) is None
    assert first_contact("bob", None, TrustState.NEW) is None


def test_certificate_checks_are_remembered_per_alias_certificate_and_key() -> None:
    now = int(time.time())
    times: list[float] = []

    def clock() -> float:
        times.append(now)
        return now

    checks = CertificateChecks(ca_key().public_key(), clock)
    text = issue(ca_key(), "bob", identity("bob").public, days=1, now=now).encode()
    bob = ev.MemberView("bob", identity("bob").fingerprint, certificate=text)
    assert checks.member(bob, identity("bob").public).state is CertificateState.VALID
    assert checks.member(bob, identity("bob").public).ok and len(times) == 1  # remembered
    impostor = ev.MemberView("bob", identity("mallory").fingerprint, certificate=text)
    status = checks.member(impostor, identity("mallory").public)
    assert status.state is CertificateState.INVALID and "does not match" in status.reason
    assert checks.member(ev.MemberView("carol", None), None) == UNUSABLE
    assert checks.own("alice", identity("alice").public, None) == NO_CERTIFICATE


# --- a session on a relay -----------------------------------------------------------------------


async def opened(
    port: int, alias: str, room: str = "lobby", suite: str | None = None, **options: Any
) -> Recorder:
    """A session of ``alias`` (the tests' identity) in ``room``, its events recorded."""
    session = ChatSession(SessionOptions(alias, port=port, **options), identity(alias))
    await session.open(room, suite)
    return Recorder(session)


def test_a_session_answers_who_verify_trust_and_cert_and_shows_the_insecure_suite() -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        alice = await opened(server.port, "alice", suite="des", ca=ca_key().public_key())
        bob = ChatClient("bob", identity("bob"))
        await bob.connect("127.0.0.1", server.port)
        await bob.join("lobby")
        await eventually(lambda: bool(alice.of(ev.MemberJoined)), "bob's arrival")
        assert [(e.alias, e.fingerprint) for e in alice.of(ev.FirstContact)] == [
            ("bob", identity("bob").fingerprint)
        ]
        (warning,) = alice.of(ev.WarningEvent)
        assert warning.code == "insecure_suite"
        checked = {(c.alias, c.own): c.status for c in alice.of(ev.CertificateChecked)}
        assert checked == {("alice", True): NO_CERTIFICATE, ("bob", False): NO_CERTIFICATE}
        session = alice.client
        assert isinstance(session, ChatSession)
        who = session.who()
        assert (who.room, who.you.alias, [m.alias for m in who.members]) == ("lobby", "alice", ["bob"])
        assert who.members[0].trust is TrustState.NEW
        assert who.members[0].certificate_status == NO_CERTIFICATE
        number = session.verify("Bob")
        assert number.fingerprint == identity("bob").fingerprint and len(number.number.replace(" ", "")) == 60
        assert (await session.trust("bob")).fingerprint == identity("bob").fingerprint
        assert session.who().members[0].trust is TrustState.VERIFIED
        details = session.certificate("bob")
        assert (details.alias, details.status, details.certificate) == ("bob", NO_CERTIFICATE, None)
        assert session.certificate().own and session.certificate().certificate is None
        assert session.cancel_transfers().count == 0
        for question in (lambda: session.verify("nobody"), lambda: session.certificate("nobody")):
            with pytest.raises(ClientError, match="no member 'nobody'"):
                question()
        await session.leave()
        await eventually(lambda: bool(alice.of(ev.Left)), "the leave")
        assert session.joined is None and session.state == "connected"
        with pytest.raises(ClientError, match="not in a room"):
            await session.say("to nobody")
        with pytest.raises(TransferError, match="not in a room"):
            await session.send_file(__file__)
        assert await session.close() == ()
        await bob.close()
        await server.close()

    run(scenario, timeout=60)


def test_a_failed_open_closes_the_session_and_says_why_in_one_line() -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        bob = await opened(server.port, "bob")
        twin = ChatSession(SessionOptions("Bob", port=server.port), identity("bob"))
        with pytest.raises(JoinError, match="taken"):
            await twin.open("lobby")
        assert [event async for event in twin.events()] == []  # closed: the events ended
        await bob.client.close()
        await server.close()

    run(scenario, timeout=60)


class FakeView:
    """The runner's view, recording what it was given."""

    def __init__(self) -> None:
        self.shown: list[ev.ChatEvent] = []
        self.commands: list[cmd.ViewCommand] = []
        self.internal: list[BaseException] = []

    def show(self, event: ev.ChatEvent) -> None:
        self.shown.append(event)

    def view_command(self, command: cmd.ViewCommand) -> None:
        self.commands.append(command)

    def report_internal(self, exc: BaseException) -> None:
        self.internal.append(exc)


def test_the_runner_answers_at_once_queues_actions_in_order_and_hands_views_their_commands() -> None:
    async def scenario() -> None:
        view = FakeView()
        runner = CommandRunner(view)
        assert isinstance(runner.submit("/who"), cmd.Who)
        assert runner.submit("/frobnicate") is None
        runner.submit("/trace rounds 3")
        assert [(e.code, e.message.split(":")[0]) for e in view.shown] == [
            ("not_connected", "not connected"),
            (
                "unknown_command",
                "unknown command /frobnicate; /help lists them (// sends a line starting with /)",
            ),
        ]
        assert view.commands == [cmd.ShowTrace(rounds=True, record=3)]
        server = await serve(ServerConfig(port=0))
        alice = await opened(server.port, "alice")
        bob = await opened(server.port, "bob")
        runner.session = alice.client
        acting = asyncio.ensure_future(runner.run())
        for number in range(5):
            runner.submit(f"line {number}")
        runner.submit("/join other")
        runner.submit("/who")  # answered before the queued lines went out
        assert isinstance(view.shown[-1], ev.Members) and runner.pending() == [f"line {n}" for n in range(5)]
        await runner.drain()
        assert runner.pending() == [] and alice.client.room == "other"
        await eventually(lambda: len(bob.of(ev.MessageReceived)) == 5, "five messages")
        assert [e.text for e in bob.of(ev.MessageReceived)] == [f"line {n}" for n in range(5)]
        runner.submit("/send /no/such/file")
        await runner.drain()
        failure = view.shown[-1]
        assert isinstance(failure, ev.ErrorEvent) and failure.code == "not_sent" and view.internal == []
        acting.cancel()
        await alice.client.close()
        await bob.client.close()
        await server.close()

    run(scenario, timeout=60)


DOWNGRADE = (
    "the relay offered 3des/elgamal for room 'maths', but you asked for 3des/rsa: refused, as the relay "
    "could be downgrading the room (join without asking to accept the room's)"
)


async def refuse_as_downgrade(self: ChatClient, *args: object, **kwargs: object) -> ev.Joined:
    """The client's refusal of a room with another suite (JoinError code downgrade), as views get it."""
    raise JoinError(DOWNGRADE, "downgrade")


def test_a_downgrade_refused_is_one_line_in_the_line_client_and_after_a_join_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        alice = await opened(server.port, "alice")
        session = alice.client
        assert isinstance(session, ChatSession)
        monkeypatch.setattr(ChatClient, "join", refuse_as_downgrade)
        view = FakeView()
        runner = CommandRunner(view, session)
        acting = asyncio.ensure_future(runner.run())
        runner.submit("/join maths --cipher 3des --kex rsa")
        await runner.drain()
        (refused,) = view.shown
        assert isinstance(refused, ev.ErrorEvent) and refused.code == "downgrade"
        assert plain_lines(refused, "alice") == [f"! error downgrade: cannot join #maths: {DOWNGRADE}"]
        acting.cancel()
        await session.close()
        out, err = io.StringIO(), io.StringIO()
        options = ClientOptions(port=server.port, alias="bob", room="maths", cipher="3des", kex="rsa")
        status = await run_line_client(options, lambda loop, queue: queue.put_nowait(None), out, err)
        assert (status, err.getvalue(), out.getvalue()) == (1, f"error: {DOWNGRADE}\n", "")
        await server.close()

    run(scenario, timeout=60)

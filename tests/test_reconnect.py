"""Connection loss: the backoff schedule alone, then a real relay stopped, restarted or gone for good.

Relays run in-process on 127.0.0.1. Tests with a relay that never returns use a fake clock, so the
bound is reached at once; the restart test uses real, small intervals. Expected delays are written
by hand from the formula in the Backoff docstring.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from chat.client import events as ev
from chat.client.backoff import Backoff
from chat.client.chat_client import ChatClient
from chat.client.errors import ClientError
from chat.client.events import GaveUp, MessageQueued, MessagesUnsent, Reconnected, Reconnecting
from chat.client.reconnect import ConnectionState, ResilientClient
from chat.protocol.events import JoinFrame, ProveFrame
from chat.relay.server import ServerConfig, serve
from ciphers.rng import DeterministicRNG
from tests.chat_net import eventually, run
from tests.chat_support import identity

FAST = Backoff(initial=0.05, factor=2.0, max_delay=0.4, max_attempts=None, max_total=20.0, jitter=0.5)

# --- the schedule -------------------------------------------------------------------------------


def test_delays_grow_exponentially_up_to_the_cap() -> None:
    backoff = Backoff(initial=0.5, factor=2.0, max_delay=3.0, jitter=0.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]
    assert backoff.base_delay(100_000) == 3.0  # no overflow far out


def test_jitter_stays_within_its_fraction_and_varies() -> None:
    backoff = Backoff(initial=1.0, factor=3.0, max_delay=9.0, jitter=0.25)
    rng = DeterministicRNG("jitter")
    delays = [backoff.delay(n, rng) for n in (1, 2, 3, 4) for _ in range(20)]
    bases = [1.0] * 20 + [3.0] * 20 + [9.0] * 40
    assert all(0.75 * base <= delay <= base for delay, base in zip(delays, bases, strict=True))
    assert len(set(delays)) == len(delays)


def test_the_bound_counts_attempts_and_total_time() -> None:
    by_count = Backoff(max_attempts=3, max_total=None)
    assert by_count.allows(3, 1000.0, 1000.0) and not by_count.allows(4, 0.0, 0.0)
    by_time = Backoff(max_attempts=None, max_total=10.0)
    assert by_time.allows(50, 7.0, 3.0) and not by_time.allows(2, 7.0, 3.5)


@pytest.mark.parametrize(
    "options",
    [
        {"max_attempts": None, "max_total": None},
        {"factor": 0.5},
        {"jitter": 1.5},
        {"max_attempts": 0},
        {"initial": -1.0},
    ],
)
def test_a_backoff_without_a_sane_bound_is_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Backoff(**options)


# --- helpers ------------------------------------------------------------------------------------


class FakeTime:
    """A clock that moves only when the client sleeps; ``hold`` stops the first sleep until released."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.hold = asyncio.Event()

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        await self.hold.wait()
        self.now += delay


class Watched:
    """A ResilientClient and every event it gave."""

    def __init__(self, client: ResilientClient) -> None:
        self.client = client
        self.events: list[ev.ChatEvent] = []
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for event in self.client.events():
            self.events.append(event)

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def texts(self) -> list[str]:
        return [e.text for e in self.of(ev.MessageReceived)]

    async def close(self) -> tuple[str, ...]:
        unsent = await self.client.close()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            async with asyncio.timeout(5):
                await self.task
        return unsent


async def member(name: str, port: int, room: str = "lobby", suite: str = "3des", **options: Any) -> Watched:
    chat = ChatClient(name, identity(name), ping_interval=None)
    options.setdefault("backoff", FAST)
    watched = Watched(ResilientClient(chat, **options))
    await watched.client.connect("127.0.0.1", port)
    await watched.client.join(room, suite)
    return watched


# --- the relay never comes back -----------------------------------------------------------------


def test_when_the_bound_runs_out_every_queued_message_is_reported_unsent() -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        fake = FakeTime()
        backoff = Backoff(initial=1.0, max_delay=100.0, max_attempts=None, max_total=10.0, jitter=0.0)
        alice = await member("alice", server.port, backoff=backoff, sleep=fake.sleep, clock=fake.clock)
        await server.close()
        await eventually(lambda: bool(alice.of(Reconnecting)), "the first attempt to be announced")
        assert alice.client.state is ConnectionState.RECONNECTING
        assert await alice.client.send("one") is None
        assert await alice.client.send("two") is None
        assert alice.client.queued == ("one", "two")
        waiting = asyncio.ensure_future(alice.client.wait_sent(timeout=10))
        fake.hold.set()
        assert await waiting is False
        await eventually(lambda: bool(alice.of(MessagesUnsent)), "the unsent report")
        assert fake.sleeps == [1.0, 2.0, 4.0]  # 7 s spent; waiting 8 more would pass the 10 s bound
        outage = (ev.Disconnected, Reconnecting, MessageQueued, GaveUp, MessagesUnsent)
        assert [type(e).__name__ for e in alice.events if isinstance(e, outage)] == [
            "Disconnected",
            "Reconnecting",
            "MessageQueued",
            "MessageQueued",
            "Reconnecting",
            "Reconnecting",
            "GaveUp",
            "MessagesUnsent",
        ]
        (gave_up,) = alice.of(GaveUp)
        assert gave_up.attempts == 3
        assert gave_up.reason.startswith("no connection after 3 attempts in 7.0 s: ")
        assert "connection refused" in gave_up.reason
        (unsent,) = alice.of(MessagesUnsent)
        assert unsent.texts == ("one", "two") and unsent.reason == gave_up.reason
        assert [(q.text, q.position) for q in alice.of(MessageQueued)] == [("one", 1), ("two", 2)]
        assert [r.attempt for r in alice.of(Reconnecting)] == [1, 2, 3]
        assert alice.client.state is ConnectionState.GAVE_UP and alice.client.queued == ()
        assert await alice.client.wait_sent(timeout=1) is False  # offline
        with pytest.raises(ClientError) as offline:
            await alice.client.send("three")
        assert offline.value.code == "offline"
        await alice.close()

    run(scenario)


def test_the_attempt_count_bounds_too() -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        fake = FakeTime()
        fake.hold.set()
        backoff = Backoff(initial=0.5, factor=2.0, max_delay=1.0, max_attempts=4, max_total=None, jitter=0)
        alice = await member("alice", server.port, backoff=backoff, sleep=fake.sleep, clock=fake.clock)
        await server.close()
        await eventually(lambda: bool(alice.of(GaveUp)), "giving up")
        assert fake.sleeps == [0.5, 1.0, 1.0, 1.0]
        (gave_up,) = alice.of(GaveUp)
        assert gave_up.attempts == 4 and gave_up.reason.startswith("no connection after 4 attempts in 3.5 s")
        assert alice.of(MessagesUnsent) == []  # nothing was queued, so nothing to report
        await alice.close()

    run(scenario)


def test_closing_while_reconnecting_reports_the_queue() -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        fake = FakeTime()
        alice = await member("alice", server.port, sleep=fake.sleep, clock=fake.clock)
        await server.close()
        await eventually(lambda: bool(alice.of(Reconnecting)), "reconnecting")
        await alice.client.send("typed at the last moment")
        assert await alice.close() == ("typed at the last moment",)
        (unsent,) = alice.of(MessagesUnsent)
        assert unsent.texts == ("typed at the last moment",)
        assert unsent.reason == "the client closed before they could be sent"
        assert alice.client.state is ConnectionState.CLOSED

    run(scenario)


# --- the relay restarts on the same port --------------------------------------------------------


def test_after_a_restart_the_client_rejoins_rekeys_and_sends_the_queue_exactly_once() -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        port = server.port
        alice = await member("alice", port, rng=DeterministicRNG("alice-jitter"))
        bob = await member("bob", port)
        await eventually(lambda: len(alice.client.client.members) == 1, "alice to see bob")
        await alice.client.send("before")
        await eventually(lambda: bob.texts() == ["before"], "the first message")
        session = alice.client.client.session
        assert session is not None and session.key_id is not None
        old_chain = session.chain_key(session.key_id)
        fingerprint = alice.client.client.fingerprint

        await server.close()
        await eventually(lambda: alice.client.state is ConnectionState.RECONNECTING, "alice to notice")
        assert await alice.client.send("typed during the outage") is None
        assert await alice.client.send("and another") is None
        server = await serve(ServerConfig(port=port))
        try:
            assert await alice.client.wait_sent(timeout=15)
            await eventually(lambda: len(bob.texts()) >= 3, "the queued messages")
            await alice.client.send("after")
            await eventually(lambda: len(bob.texts()) >= 4, "the message after")
            await asyncio.sleep(0.3)  # a duplicate would have arrived by now
            assert bob.texts() == ["before", "typed during the outage", "and another", "after"]
            assert [m.sender for m in bob.of(ev.MessageReceived)] == ["alice"] * 4

            for watched in (alice, bob):
                (reconnected,) = watched.of(Reconnected)
                assert reconnected.room == "lobby" and reconnected.attempts >= 1
                joins = watched.of(ev.Joined)
                assert [(j.room, j.suite) for j in joins] == [("lobby", "3des")] * 2
                assert watched.client.state is ConnectionState.ONLINE
            assert alice.of(Reconnected)[0].queued == 2
            (disconnected,) = alice.of(ev.Disconnected)
            assert disconnected.reason.startswith("server shutting down")
            attempts = [r.attempt for r in alice.of(Reconnecting)]
            assert attempts == list(range(1, len(attempts) + 1))

            # the same identity, a fresh session key: nothing from before the gap is used after it
            assert alice.client.client.fingerprint == fingerprint
            session = alice.client.client.session
            assert session is not None and session.key_id is not None
            new_chain = session.chain_key(session.key_id)
            assert new_chain is not None and old_chain is not None
            assert new_chain[0] != old_chain[0]
            starts = [e for e in alice.of(ev.Rekeyed) if e.alias == "alice" and e.reason == "start"]
            assert len(starts) == 2
            received = bob.of(ev.MessageReceived)
            assert received[0].key_id == received[1].key_id == "alice/1"  # ids restart, keys do not
            assert received[-1].key_id == session.key_id
            assert not alice.of(ev.WarningEvent) and not bob.of(ev.WarningEvent)
        finally:
            await alice.close()
            await bob.close()
            await server.close()

    run(scenario, timeout=60)


def test_a_retryable_refusal_is_retried_and_a_final_one_gives_up() -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        port = server.port
        gate = asyncio.Event()

        async def gated_sleep(delay: float) -> None:
            await gate.wait()
            await asyncio.sleep(delay)

        alice = await member("alice", port, room="seats", sleep=gated_sleep)
        await server.close()
        await eventually(lambda: alice.client.state is ConnectionState.RECONNECTING, "alice to notice")
        await alice.client.send("queued")

        refusing: dict[str, str | None] = {"reason": None}

        class Refusing:
            def check(self, join: JoinFrame, challenge: bytes, proof: ProveFrame) -> str | None:
                return refusing["reason"]

        server = await serve(ServerConfig(port=port, admission=Refusing()))
        try:
            twin = ChatClient("ALICE", identity("bob"), ping_interval=None)
            await twin.connect("127.0.0.1", port)
            await twin.join("seats")
            gate.set()  # alice tries only once the twin holds her alias
            await eventually(
                lambda: any("refused" in r.reason for r in alice.of(Reconnecting)), "an alias_taken refusal"
            )
            await twin.close()
            assert await alice.client.wait_sent(timeout=15)
            refusals = [r.reason for r in alice.of(Reconnecting) if "refused" in r.reason]
            assert refusals[0].startswith("rejoining seats refused: ")
            assert alice.client.state is ConnectionState.ONLINE

            refusing["reason"] = "members only"
            await server.close()
            server = await serve(ServerConfig(port=port, admission=Refusing()))
            await eventually(lambda: bool(alice.of(GaveUp)), "a final refusal")
            (gave_up,) = alice.of(GaveUp)
            assert gave_up.reason.startswith("rejoining seats refused:") and "members only" in gave_up.reason
        finally:
            await alice.close()
            await server.close()

    run(scenario, timeout=60)


def test_after_leaving_a_drop_reconnects_without_rejoining() -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        port = server.port
        alice = await member("alice", port)
        await alice.client.leave()
        with pytest.raises(ClientError):
            await alice.client.send("nowhere")
        await server.close()
        server = await serve(ServerConfig(port=port))
        try:
            await eventually(lambda: bool(alice.of(Reconnected)), "reconnection")
            (reconnected,) = alice.of(Reconnected)
            assert reconnected.room is None and alice.client.client.connected
            assert not alice.client.client.in_room
        finally:
            await alice.close()
            await server.close()

    run(scenario)


def test_a_bug_while_reconnecting_ends_in_gave_up_not_a_hang() -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        fake = FakeTime()
        fake.hold.set()
        alice = await member("alice", server.port, sleep=fake.sleep, clock=fake.clock)

        async def broken() -> None:
            raise RuntimeError("boom")

        alice.client._attempt = broken  # type: ignore[method-assign]
        await server.close()
        await eventually(lambda: bool(alice.of(GaveUp)), "giving up")
        (gave_up,) = alice.of(GaveUp)
        assert gave_up.reason == "internal error while reconnecting: RuntimeError: boom"
        assert alice.client.state is ConnectionState.GAVE_UP
        await alice.close()

    run(scenario)

"""Replays after a rejoin (issue 10, point 3), with real clients: each join draws a fresh join nonce,
sent in ``join`` and handed to the others in the member entry, and what alice sends bob is bound
to it. A relay that recorded alice's key bundle and message to bob ("I approve payment #1") and
plays them again after bob rejoins, on the same connection or after a reconnection it forced,
gets them refused: the words display once.

Through a proxy in front of the real relay on 127.0.0.1; alice is connected directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.relay.server import ServerConfig, serve
from tests.chat_net import Recorder, TapProxy, eventually, run
from tests.chat_support import SUITE_IDS, SUITE_KEX, identity

Frame = dict[str, Any]
APPROVAL = "I approve payment #1"


class Recording:
    """A proxy hook that records what alice sends bob and, once armed, plays it again right after
    bob's next ``welcome``: ahead of anything alice sends the new join, so that only the join
    nonce tells the recording from the real thing."""

    def __init__(
        self, plays_to: str = "bob", kinds: tuple[str, ...] = ("key_bundle", "message"), tamper: bool = False
    ) -> None:
        self.plays_to = plays_to  # whose next welcome the recording follows
        self.kinds = kinds  # the frames of alice's it records
        self.tamper = tamper  # play one more copy of the last message, its ciphertext altered
        self.recorded: list[Frame] = []
        self.armed = False
        self.played = False
        self.port = 0  # the proxy's

    def down(self, _number: int, alias: str | None, obj: Frame) -> list[Frame]:
        if self.armed and alias == self.plays_to and obj.get("type") == "welcome" and not self.played:
            self.played = True
            return [obj, *self.recorded, *self.altered()]
        if alias != "bob":
            return [obj]
        if not self.armed and obj.get("from") == "alice" and obj.get("type") in self.kinds:
            self.recorded.append(obj)
        return [obj]

    def altered(self) -> list[Frame]:
        if not self.tamper:
            return []
        last = next(f for f in reversed(self.recorded) if f["type"] == "message")
        ct = last["body"]["ct"]
        return [{**last, "body": {**last["body"], "ct": ("B" if ct[0] == "A" else "A") + ct[1:]}}]


@asynccontextmanager
async def recorded_room(
    suite: str, kex: str, tap: Recording | None = None
) -> AsyncIterator[tuple[Recording, Recorder, Recorder]]:
    server = await serve(ServerConfig(port=0))
    tap = tap or Recording()
    proxy = await TapProxy(server.port, down=tap.down).start()
    tap.port = proxy.port
    alice = Recorder(ChatClient("alice", identity("alice"), ping_interval=None))
    bob = Recorder(ChatClient("bob", identity("bob"), ping_interval=None, hold_timeout=0.3))
    try:
        await alice.client.connect("127.0.0.1", server.port)
        await alice.client.join("lobby", suite, kex)
        await bob.client.connect("127.0.0.1", proxy.port)
        await bob.client.join("lobby")
        yield tap, alice, bob
    finally:
        await bob.stop()
        await alice.stop()
        await proxy.close()
        await server.close()
        assert server.internal_errors == 0


def shown(bob: Recorder, text: str) -> int:
    return bob.texts().count(("alice", text))


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
@pytest.mark.parametrize("how", ["rejoin", "reconnect"])
def test_frames_recorded_before_a_rejoin_are_refused_after_it(suite: str, kex: str, how: str) -> None:
    async def scenario() -> None:
        async with recorded_room(suite, kex) as (tap, alice, bob):
            await alice.client.send(APPROVAL)
            await eventually(lambda: shown(bob, APPROVAL) == 1, "bob to read the approval")
            assert "message" in {f["type"] for f in tap.recorded}
            before = bob.client._join_sent
            tap.armed = True
            if how == "rejoin":
                await bob.client.leave()
            else:
                await bob.client.disconnect()
                await bob.client.connect("127.0.0.1", tap.port)
            await bob.client.join("lobby")
            after = bob.client._join_sent
            assert before is not None and after is not None and before.nonce != after.nonce
            await eventually(
                lambda: len([e for e in alice.of(ev.MemberJoined) if e.alias == "bob"]) == 2,
                "alice to see bob again",
            )
            await alice.client.send("and nothing else")
            await eventually(lambda: shown(bob, "and nothing else") == 1, "bob to read the new message")
            assert tap.played
            assert shown(bob, APPROVAL) == 1  # displayed once, never again
            refused = {w.code for w in bob.warnings() if w.sender == "alice"}
            assert "stale_session" in refused  # the recording names bob's earlier join
            assert refused <= {"stale_session", "unknown_key"}, refused
            # one warning per frame played again: each is refused, never shown
            assert len([w for w in bob.warnings() if w.sender == "alice"]) == len(tap.recorded)

    run(scenario)


@pytest.mark.parametrize(
    ("suite", "kex"), [("3des", "rsa"), ("des", "elgamal")], ids=["3des-rsa", "des-elgamal"]
)
def test_frames_from_before_a_join_played_to_the_newcomer_show_nothing_and_a_forgery_is_named(
    suite: str, kex: str
) -> None:
    """The relay plays carol, as she joins, what alice sent before carol was there (as frames in
    transit at a join, or a file's batch being sealed, reach a newcomer), and one copy with its
    ciphertext altered. Alice's own frames were sealed before she handed carol her chain: carol
    reads none of them and is not warned of them. The altered one is not alice's: carol names it
    (``bad_signature``). Nothing of it is ever shown."""

    async def scenario() -> None:
        async with recorded_room(suite, kex, Recording("carol", ("message",), tamper=True)) as (
            tap,
            alice,
            bob,
        ):
            for n in range(3):
                await alice.client.send(f"{APPROVAL}, copy {n}")
            await eventually(lambda: len(bob.texts()) == 3, "bob to read the three")
            tap.armed = True
            carol = Recorder(ChatClient("carol", identity("carol"), ping_interval=None, hold_timeout=5.0))
            try:
                await carol.client.connect("127.0.0.1", tap.port)
                await carol.client.join("lobby")
                await eventually(lambda: tap.played, "the recording to be played")
                await alice.client.send("welcome, carol")
                await eventually(lambda: ("alice", "welcome, carol") in carol.texts(), "carol to read alice")
                assert carol.texts() == [("alice", "welcome, carol")]
                assert [w.code for w in carol.warnings() if w.sender == "alice"] == ["bad_signature"]
            finally:
                await carol.stop()

    run(scenario)

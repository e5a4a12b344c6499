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

    def __init__(self) -> None:
        self.recorded: list[Frame] = []
        self.armed = False
        self.played = False
        self.port = 0  # the proxy's

    def down(self, _number: int, alias: str | None, obj: Frame) -> list[Frame]:
        if alias != "bob":
            return [obj]
        if self.armed and obj.get("type") == "welcome" and not self.played:
            self.played = True
            return [obj, *self.recorded]
        if not self.armed and obj.get("from") == "alice" and obj.get("type") in ("key_bundle", "message"):
            self.recorded.append(obj)
        return [obj]


@asynccontextmanager
async def recorded_room(suite: str, kex: str) -> AsyncIterator[tuple[Recording, Recorder, Recorder]]:
    server = await serve(ServerConfig(port=0))
    tap = Recording()
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

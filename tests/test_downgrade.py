"""Suite and kex integrity at the join (issue 10, point 2): the relay chooses the room's suite and
key exchange, so a client that asked for one refuses a ``welcome`` with another.

A hostile relay on 127.0.0.1 (the real relay behind a proxy that rewrites bob's ``welcome``) moves
bob, who asked for 3des/rsa, into a weaker room. Bob leaves at once and ``join`` raises a
``JoinError`` with code ``downgrade`` naming both; nothing was sealed or wrapped, on the wire or in
his trace. A client that asked for nothing accepts the room's suite and is told what it is worth.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.client.errors import JoinError
from chat.relay.server import ServerConfig, serve
from tests.chat_net import Recorder, TapProxy, eventually, run
from tests.chat_support import identity

Frame = dict[str, Any]


def offering(suite: str, kex: str) -> Any:
    """A proxy hook: bob's ``welcome`` says the room is ``suite``/``kex``, whatever it is."""

    def down(_number: int, alias: str | None, obj: Frame) -> list[Frame]:
        if alias == "bob" and obj.get("type") == "welcome":
            return [obj | {"suite": suite, "kex": kex}]
        return [obj]

    return down


@asynccontextmanager
async def hostile_room(suite: str, kex: str) -> AsyncIterator[tuple[TapProxy, Recorder, ChatClient]]:
    """A real relay, alice in its 3des/rsa room, and a proxy telling bob the room is ``suite``/``kex``."""
    server = await serve(ServerConfig(port=0))
    proxy = await TapProxy(server.port, down=offering(suite, kex)).start()
    alice = ChatClient("alice", identity("alice"), ping_interval=None)
    await alice.connect("127.0.0.1", server.port)
    recorder = Recorder(alice)
    await alice.join("lobby", "3des", "rsa")
    bob = ChatClient("bob", identity("bob"), ping_interval=None)
    await bob.connect("127.0.0.1", proxy.port)
    try:
        yield proxy, recorder, bob
    finally:
        await bob.close()
        await recorder.stop()
        await proxy.close()
        await server.close()
        assert server.internal_errors == 0


def sent_by(proxy: TapProxy, alias: str) -> list[str]:
    """The types of the frames ``alias``'s client sent, as the relay received them."""
    return [obj["type"] for obj in proxy.link(alias).up_frames]


@pytest.mark.parametrize(
    ("offered", "asked_shown", "offered_shown"),
    [
        (("3des", "elgamal"), "3des/rsa", "3des/elgamal"),
        (("des", "rsa"), "3des/rsa", "des/rsa"),
        (("des", "elgamal"), "3des/rsa", "des/elgamal"),
    ],
    ids=["kex", "suite", "both"],
)
def test_a_client_that_asked_refuses_another_suite_or_kex(
    offered: tuple[str, str], asked_shown: str, offered_shown: str
) -> None:
    async def scenario() -> None:
        async with hostile_room(*offered) as (proxy, alice, bob):
            with pytest.raises(JoinError) as refused:
                await bob.join("lobby", "3des", "rsa")
            assert refused.value.code == "downgrade"
            message = refused.value.message
            assert f"asked for {asked_shown}" in message and f"relay offered {offered_shown}" in message
            assert not bob.in_room and bob.session is None and bob.room is None
            # Bob left the room the relay put him in, and sent nothing else: no key, no message.
            await eventually(lambda: bool(alice.of(ev.MemberLeft)), "bob to leave alice's room")
            assert [(e.alias, e.reason) for e in alice.of(ev.MemberLeft)] == [("bob", "left")]
            assert sent_by(proxy, "bob") == ["join", "prove", "leave"]
            assert [r.step for r in bob.trace.history()] == []
            # Free to join again: asking for nothing, he takes the room as it is offered.
            joined = await bob.join("lobby")
            assert (joined.suite, joined.kex) == offered

    run(scenario)


def test_asking_for_the_suite_alone_leaves_the_kex_to_the_room() -> None:
    async def scenario() -> None:
        async with hostile_room("3des", "elgamal") as (_proxy, _alice, bob):
            joined = await bob.join("lobby", "3des")
            assert (joined.suite, joined.kex) == ("3des", "elgamal")

    run(scenario)


def test_a_client_that_asked_for_nothing_accepts_the_room_and_is_told_what_it_is_worth() -> None:
    async def scenario() -> None:
        async with hostile_room("des", "rsa") as (_proxy, _alice, bob):
            joined = await bob.join("lobby")
            assert (joined.suite, joined.kex) == ("des", "rsa")
            assert joined.insecure and joined.description.startswith("DES-CBC + HMAC-SHA256 (insecure)")

    run(scenario)


def test_an_honest_room_of_another_suite_is_refused_too() -> None:
    """No hostility needed: the room exists with des, and bob asked for 3des."""

    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        alice = ChatClient("alice", identity("alice"), ping_interval=None)
        bob = ChatClient("bob", identity("bob"), ping_interval=None)
        try:
            await alice.connect("127.0.0.1", server.port)
            await alice.join("lobby", "des", "rsa")
            await bob.connect("127.0.0.1", server.port)
            with pytest.raises(JoinError) as refused:
                await bob.join("lobby", "3des", "rsa")
            assert refused.value.code == "downgrade"
            message = refused.value.message
            assert "asked for 3des/rsa" in message and "relay offered des/rsa" in message
        finally:
            await bob.close()
            await alice.close()
            await server.close()

    run(scenario)

"""The client core against a real server process: errors, rooms, feeds, trust, data, disconnection."""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest

from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.client.errors import ClientError, ConnectError, JoinError
from chat.client.feed import Feed
from chat.e2e.trust import KnownPeers
from tests.chat_net import Recorder, ServerProcess, eventually, run
from tests.chat_support import identity

ROOMS = itertools.count()


def client(name: str, *, as_: str | None = None, **options: object) -> ChatClient:
    return ChatClient(as_ or name, identity(name), ping_interval=None, **options)  # type: ignore[arg-type]


async def joined(name: str, port: int, room: str, *, suite: str | None = None, **options: object) -> Recorder:
    c = client(name, **options)
    await c.connect("127.0.0.1", port)
    recorder = Recorder(c)
    await c.join(room, suite)
    await eventually(lambda: bool(recorder.of(ev.Joined)), f"{name} to join")
    return recorder


def test_connection_refused_is_one_clear_error(free_port: int) -> None:
    async def scenario() -> None:
        port = free_port
        c = client("alice")
        with pytest.raises(
            ConnectError, match=rf"^cannot connect to 127\.0\.0\.1:{port}: connection refused$"
        ):
            await c.connect("127.0.0.1", port)
        assert not c.connected
        await c.close()

    run(scenario)


def test_bad_alias_is_refused_before_connecting() -> None:
    with pytest.raises(ValueError, match="alias"):
        ChatClient("no spaces allowed", identity("alice"))


def test_join_refusals(server: ServerProcess) -> None:
    async def scenario() -> None:
        room = f"refusals{next(ROOMS)}"
        alice = await joined("alice", server.port, room)
        twin = client("bob", as_="ALICE")
        await twin.connect("127.0.0.1", server.port)
        with pytest.raises(JoinError) as refused:
            await twin.join(room)
        assert refused.value.code == "alias_taken"
        with pytest.raises(ClientError) as bad:
            await twin.join("not a room name")
        assert bad.value.code == "bad_room"
        with pytest.raises(ValueError, match="unknown cipher suite"):
            await twin.join("elsewhere", suite="aes")
        # Still connected: another room takes the same alias.
        other = await twin.join(f"other{next(ROOMS)}", suite="rsa")
        assert (other.alias, other.suite, other.insecure) == ("ALICE", "rsa", True)
        with pytest.raises(ClientError, match="leave the room first"):
            await twin.join(room)
        await twin.close()
        await alice.stop()

    run(scenario)


def test_sending_needs_a_room_and_respects_the_limit(server: ServerProcess) -> None:
    async def scenario() -> None:
        c = client("alice")
        with pytest.raises(ClientError, match="not connected"):
            await c.send("x")
        await c.connect("127.0.0.1", server.port)
        with pytest.raises(ClientError, match="not in a room") as info:
            await c.send("x")
        assert info.value.code == "not_in_room"
        await c.join(f"limit{next(ROOMS)}")
        with pytest.raises(ValueError, match="above the limit of 4096"):
            await c.send("x" * 4097)
        sent = await c.send("x" * 4096)
        assert sent.recipients == () and sent.size == 4096
        await c.close()
        await c.close()  # twice is fine
        with pytest.raises(ClientError, match="closed"):
            await c.connect("127.0.0.1", server.port)

    run(scenario)


def test_leave_then_join_another_room(server: ServerProcess) -> None:
    async def scenario() -> None:
        first, second = f"first{next(ROOMS)}", f"second{next(ROOMS)}"
        alice = await joined("alice", server.port, first)
        bob = await joined("bob", server.port, first)
        await alice.client.leave()
        assert not alice.client.in_room and alice.client.room is None and alice.client.members == ()
        await eventually(lambda: bool(alice.of(ev.Left)), "the left event")
        assert alice.of(ev.Left)[0].room == first
        await eventually(
            lambda: [e.alias for e in bob.of(ev.MemberLeft)] == ["alice"], "bob to see alice leave"
        )
        assert bob.of(ev.MemberLeft)[0].reason == "left"
        await alice.client.join(second)
        await bob.client.leave()
        await bob.client.join(second)
        await bob.client.send("found you")
        await eventually(lambda: alice.texts() == [("bob", "found you")], "the message in the second room")
        await alice.stop()
        await bob.stop()

    run(scenario)


def test_trace_and_wire_feeds(server: ServerProcess) -> None:
    async def scenario() -> None:
        room = f"feeds{next(ROOMS)}"
        alice = await joined("alice", server.port, room, suite="3des")
        bob = await joined("bob", server.port, room)
        trace = alice.client.trace.subscribe()
        wire = alice.client.wire.subscribe()
        bob_trace = bob.client.trace.subscribe()
        secret = "a message the wire must never show"
        await alice.client.send(secret)
        await eventually(lambda: bob.texts() == [("alice", secret)], "the message")
        (sealed,) = [r for r in trace.pending() if r.step == "seal"]
        assert (sealed.key_id, sealed.counter, sealed.sender) == ("alice/1", 0, "alice")  # chain index 0
        assert len(sealed.fields["iv"]) == 16 and len(sealed.fields["mac"]) == 64
        assert len(sealed.fields["signature"]) == 512 and sealed.time is not None
        opened = [r for r in bob_trace.pending() if r.step == "open"]
        assert [(r.key_id, r.verified, r.checks) for r in opened] == [
            ("alice/1", True, (("mac", True), ("signature", True)))
        ]
        assert opened[0].fields["ciphertext"] == sealed.fields["ciphertext"]
        frames = wire.pending()
        (message,) = [f for f in frames if f.direction == "sent" and f.type == "message"]
        assert message.obj is not None and message.obj["body"]["ct"]
        assert json.loads(message.raw[4:]) == message.obj
        assert int.from_bytes(message.raw[:4], "big") == len(message.raw) - 4
        assert all(secret.encode() not in f.raw for f in alice.client.wire.history())
        unwraps = [r for r in alice.client.trace.history() if r.step == "unwrap"]
        assert [(r.sender, r.key_id, r.verified) for r in unwraps] == [("bob", "bob/1", True)]
        assert any(f.direction == "received" and f.type == "key_bundle" for f in alice.client.wire.history())
        # The round trace of the first block is available while it is the chain's latest message.
        session = alice.client.session
        assert session is not None
        rounds = session.round_trace(sealed)
        assert rounds is not None and len(rounds) == 3
        await alice.stop()
        await bob.stop()

    run(scenario)


def test_members_safety_numbers_and_trust(server: ServerProcess) -> None:
    async def scenario() -> None:
        room = f"trust{next(ROOMS)}"
        alice = await joined("alice", server.port, room, known_peers=KnownPeers())
        bob = await joined("bob", server.port, room, certificate="bob's opaque certificate")
        await eventually(lambda: len(alice.client.members) == 1, "alice to see bob")
        (member,) = alice.client.members
        assert (member.alias, member.fingerprint, member.trust) == ("bob", identity("bob").fingerprint, "new")
        assert member.certificate == "bob's opaque certificate"
        assert [m.certificate for m in bob.client.members] == [None]
        number = alice.client.safety_number("bob")
        assert number == bob.client.safety_number("alice") and len(number.split()) == 12
        alice.client.trust("bob")
        assert alice.client.members[0].trust == "verified"
        with pytest.raises(ClientError, match="no member 'carol'"):
            alice.client.safety_number("carol")
        (joined_event,) = alice.of(ev.MemberJoined)
        assert joined_event.to_dict()["fingerprint"] == identity("bob").fingerprint.digits
        await alice.stop()
        await bob.stop()

    run(scenario)


def test_a_changed_key_on_rejoin_is_flagged(server: ServerProcess) -> None:
    async def scenario() -> None:
        room = f"rejoin{next(ROOMS)}"
        alice = await joined("alice", server.port, room, known_peers=KnownPeers())
        bob = await joined("bob", server.port, room)
        await eventually(lambda: len(alice.client.members) == 1, "bob's arrival")
        await bob.stop()
        impostor = await joined("mallory", server.port, room, **{"as_": "bob"})
        await impostor.client.send("same name, other key")
        await eventually(lambda: alice.texts() == [("bob", "same name, other key")], "the impostor's message")
        (message,) = alice.of(ev.MessageReceived)
        assert message.verified and message.trust == "changed"
        (warning,) = alice.warnings()
        assert warning.code == "identity_changed" and warning.sender == "bob"
        now, then = identity("mallory").fingerprint.digits, identity("bob").fingerprint.digits
        assert f"now {now}, remembered {then};" in warning.message  # both in the same digits
        arrivals = [e for e in alice.of(ev.MemberJoined) if e.alias == "bob"]
        assert [e.trust for e in arrivals] == ["new", "changed"]
        assert arrivals[1].fingerprint == identity("mallory").fingerprint
        await alice.stop()
        await impostor.stop()

    run(scenario)


@pytest.mark.parametrize("suite", ["3des", "elgamal"])
def test_binary_data(server: ServerProcess, suite: str) -> None:
    async def scenario() -> None:
        room = f"data{next(ROOMS)}"
        alice = await joined("alice", server.port, room, suite=suite)
        bob = await joined("bob", server.port, room)
        data = bytes(range(256)) * 40
        sent = await alice.client.send_data(data, "file/chunk")
        assert (sent.content_type, sent.text, sent.size) == ("file/chunk", None, len(data))
        await eventually(lambda: bool(bob.of(ev.DataReceived)), "the data")
        (got,) = bob.of(ev.DataReceived)
        assert (got.sender, got.content_type, got.data, got.verified) == ("alice", "file/chunk", data, True)
        assert bob.texts() == []
        await alice.stop()
        await bob.stop()

    run(scenario)


def test_server_going_away_then_reconnect() -> None:
    async def scenario() -> None:
        first = ServerProcess()
        alice = await joined("alice", first.port, "lobby")
        fingerprint = alice.client.fingerprint
        assert first.stop() == 0
        await eventually(lambda: bool(alice.of(ev.Disconnected)), "the disconnection")
        (gone,) = alice.of(ev.Disconnected)
        assert "shutting down" in gone.reason and not gone.by_us
        assert not alice.client.connected and not alice.client.in_room
        with pytest.raises(ClientError, match="not connected"):
            await alice.client.send("into the void")
        second = ServerProcess()
        try:
            await alice.client.connect("127.0.0.1", second.port)
            again = await alice.client.join("lobby")
            assert again.fingerprint.digits == fingerprint
            bob = await joined("bob", second.port, "lobby")
            await alice.client.send("back again")
            await eventually(
                lambda: bob.texts() == [("alice", "back again")], "the message after reconnecting"
            )
            # A dropped connection without leaving: the room says "disconnected".
            await alice.client.disconnect()
            await eventually(
                lambda: [e.reason for e in bob.of(ev.MemberLeft)] == ["disconnected"], "the drop"
            )
            assert alice.of(ev.Disconnected)[-1].by_us
            await alice.stop()
            await bob.stop()
        finally:
            second.stop()

    run(scenario, timeout=90)


def test_events_end_after_close(server: ServerProcess) -> None:
    async def scenario() -> None:
        c = client("alice")
        await c.connect("127.0.0.1", server.port)
        assert isinstance(await c.next_event(5), ev.Connected)
        with pytest.raises(TimeoutError):
            await c.next_event(0.05)
        await c.close()
        seen = [e async for e in c.events()]
        assert [type(e) for e in seen] == [ev.Disconnected]
        with pytest.raises(ClientError, match="closed"):
            await c.next_event(1)

    run(scenario)


# --- the feed -----------------------------------------------------------------------------------


def test_feed_is_bounded_and_drops_the_oldest() -> None:
    async def scenario() -> None:
        feed: Feed[int] = Feed(size=3)
        early = feed.subscribe(size=2)
        for i in range(5):
            feed.publish(i)
        assert feed.history() == [2, 3, 4]
        assert early.dropped == 3 and early.pending() == [3, 4]
        late = feed.subscribe()
        feed.publish(5)
        assert [await anext(late)] == [5]
        waiting = asyncio.ensure_future(anext(late))
        await asyncio.sleep(0)
        feed.publish(6)
        assert await asyncio.wait_for(waiting, 1) == 6
        feed.close()
        assert [i async for i in late] == []
        feed.publish(7)
        assert early.pending() == [5, 6]  # closed subscriptions get nothing more

    asyncio.run(scenario())

"""The relay on real sockets (127.0.0.1, ephemeral ports), driven by raw test clients.

No crypto is needed: bodies are opaque to the relay. Every wait is bounded (``asyncio.wait_for``),
and every test checks that the server caught no internal error.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from rich.console import Console

from chat.cli.server import BINARY_FIELDS
from chat.e2e.admission import prove_join
from chat.e2e.identity import Identity
from chat.protocol.events import JoinFrame, ProveFrame
from chat.protocol.limits import CHALLENGE_BYTES, Limits
from chat.relay.console import WireView
from chat.relay.server import RelayServer, ServerConfig, serve
from ciphers import strict_base64
from tests.chat_net import FrameInbox, run

TIMEOUT = 3.0
CT = "3q2+7wABAgMEBQYHCAkKCw=="  # base64 of de ad be ef 00 01 ... 0b
NONCE = "AAECAwQFBgcICQoLDA0ODw=="  # base64 of the 16-byte join nonce 00 01 ... 0f
PROOF = {"type": "prove", "v": 2, "signature": "c2lnbmF0dXJl"}  # checked only by an admission hook


@pytest.fixture(autouse=True)
def no_event_loop_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No traceback from the event loop in any relay test: no "Exception in callback", no "Task
    exception was never retrieved", no "Fatal error" of a transport (import it to use it elsewhere)."""
    caplog.set_level(logging.WARNING, logger="asyncio")
    yield
    records = caplog.get_records("setup") + caplog.get_records("call")
    logged = [r.getMessage() for r in records if r.name == "asyncio" and r.levelno >= logging.WARNING]
    assert logged == []


def frame(obj: dict[str, Any]) -> bytes:
    payload = json.dumps(obj).encode()
    return len(payload).to_bytes(4, "big") + payload


def join_frame(alias: str, room: str = "lobby", **fields: Any) -> dict[str, Any]:
    """A join as a v2 client sends it, with a join nonce."""
    base = {"type": "join", "v": 2, "alias": alias, "room": room, "identity": {"rsa": f"PEM of {alias}"}}
    return base | {"nonce": NONCE} | fields


class WireClient(FrameInbox):
    """A bare test client: writes frames from dicts; a reader task queues the frames received."""

    wait = TIMEOUT

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        super().__init__()
        self.challenges: list[str] = []  # the nonce of each challenge answered by ask()
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, port: int, source: str | None = None) -> WireClient:
        """Connect to the relay on 127.0.0.1 (from ``source``, another loopback address, if given)."""
        local = None if source is None else (source, 0)
        opening = asyncio.open_connection("127.0.0.1", port, local_addr=local)
        reader, writer = await asyncio.wait_for(opening, TIMEOUT)
        return cls(reader, writer)

    async def _read(self) -> None:
        try:
            while True:
                header = await self.reader.readexactly(4)
                payload = await self.reader.readexactly(int.from_bytes(header, "big"))
                await self.frames.put(json.loads(payload))
        except (asyncio.IncompleteReadError, ConnectionError):
            await self.frames.put(None)

    def send(self, obj: dict[str, Any]) -> None:
        self.writer.write(frame(obj))

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def error(self, code: str) -> dict[str, Any]:
        obj = await self.expect("error")
        assert obj["code"] == code, obj
        return obj

    async def ask(
        self, alias: str, room: str = "lobby", *, signer: Identity | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Join, answer the challenge, and return the server's verdict: ``welcome`` or ``error``.

        The proof is ``signer``'s, as a real client makes it; without a signer, a signature only an
        admission hook would check (and refuse).
        """
        join = join_frame(alias, room, **fields)
        self.send(join)
        challenge = await self.expect("challenge")
        self.challenges.append(challenge["nonce"])
        proof = PROOF
        if signer is not None:
            nonce, raw = strict_base64.decode(join["nonce"]), strict_base64.decode(challenge["nonce"])
            signature = prove_join(signer, raw, alias, room, nonce)
            proof = PROOF | {"signature": strict_base64.encode(signature)}
        self.send(proof)
        return await self.recv()

    async def join(
        self, alias: str, room: str = "lobby", *, signer: Identity | None = None, **fields: Any
    ) -> dict[str, Any]:
        welcome = await self.ask(alias, room, signer=signer, **fields)
        assert welcome["type"] == "welcome", welcome
        return welcome

    async def ping(self, data: str = "sync") -> None:
        """Round trip: everything the server sent before the pong has arrived."""
        self.send({"type": "ping", "v": 2, "data": data})
        assert await self.expect("pong") == {"type": "pong", "v": 2, "data": data}

    async def close(self) -> None:
        self.task.cancel()
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(self.writer.wait_closed(), TIMEOUT)


def message(**body: str) -> dict[str, Any]:
    return {"type": "message", "v": 2, "body": body or {"ct": CT}}


@contextlib.asynccontextmanager
async def running(**config: Any) -> AsyncIterator[RelayServer]:
    view = config.pop("view", None)
    server = await serve(ServerConfig(port=0, **config), view)
    try:
        yield server
    finally:
        await asyncio.wait_for(server.close(), 10)
    assert server.internal_errors == 0


async def room_of(server: RelayServer, *aliases: str) -> list[WireClient]:
    clients = []
    for alias in aliases:
        client = await WireClient.connect(server.port)
        await client.join(alias)
        for other in clients:
            await other.expect("member_joined")
        clients.append(client)
    return clients


async def still_serving(server: RelayServer) -> None:
    """Two fresh clients can still meet and exchange a message."""
    a, b = await room_of(server, "witness1", "witness2")
    a.send(message(ct="AAAA"))
    assert (await b.expect("message"))["body"] == {"ct": "AAAA"}
    await a.close()
    await b.expect("member_left")
    await b.close()


# --- joining and presence -----------------------------------------------------------------------


def test_join_welcome_and_presence_with_identities() -> None:
    async def scenario() -> None:
        async with running(suite="des", kex="elgamal") as server:
            alice = await WireClient.connect(server.port)
            welcome = await alice.join(
                "alice", identity={"rsa": "A-PEM", "elgamal": "A-JSON"}, certificate="CERT"
            )
            assert welcome == {
                "type": "welcome",
                "v": 2,
                "room": "lobby",
                "suite": "des",
                "kex": "elgamal",
            } | {
                "you": "alice",
                "members": [],
            }
            bob = await WireClient.connect(server.port)
            welcome = await bob.join(
                "bob", "LOBBY", identity={"rsa": "B-PEM"}, nonce="AAAAAAAAAAAAAAAAAAAAAA=="
            )
            assert welcome["room"] == "lobby"
            assert welcome["members"] == [
                {
                    "alias": "alice",
                    "identity": {"rsa": "A-PEM", "elgamal": "A-JSON"},
                    "certificate": "CERT",
                    "nonce": NONCE,
                }
            ]
            joined = await alice.expect("member_joined")
            assert joined["member"] == {
                "alias": "bob",
                "identity": {"rsa": "B-PEM"},
                "nonce": "AAAAAAAAAAAAAAAAAAAAAA==",
            }
            await alice.close()
            assert await bob.expect("member_left") == {"type": "member_left", "v": 2, "alias": "alice"} | {
                "reason": "disconnected"
            }
            await bob.close()

    run(scenario)


def test_the_first_client_chooses_the_suite_of_a_new_room() -> None:
    async def scenario() -> None:
        async with running(suite="3des") as server:
            a = await WireClient.connect(server.port)
            assert (await a.join("a", "r1", suite="rsa", kex="elgamal"))[("suite")] == "rsa"
            b = await WireClient.connect(server.port)
            welcome = await b.join("b", "r1", suite="des", kex="rsa")
            assert (welcome["suite"], welcome["kex"]) == ("rsa", "elgamal")
            c = await WireClient.connect(server.port)
            assert (await c.join("c", "r2"))["suite"] == "3des"
            for client in (a, b, c):
                await client.close()

    run(scenario)


def test_leave_then_rooms_disappear_when_empty() -> None:
    async def scenario() -> None:
        async with running() as server:
            alice, bob = await room_of(server, "alice", "bob")
            assert server.rooms.names() == ["lobby"]
            alice.send({"type": "leave", "v": 2})
            assert await alice.expect("left") == {"type": "left", "v": 2, "room": "lobby"}
            assert (await bob.expect("member_left"))["reason"] == "left"
            await alice.join("alice", "elsewhere")
            assert sorted(server.rooms.names()) == ["elsewhere", "lobby"]
            await bob.close()
            await alice.ping()
            for _ in range(100):
                if server.rooms.names() == ["elsewhere"]:
                    break
                await asyncio.sleep(0.01)
            assert server.rooms.names() == ["elsewhere"]
            await alice.close()

    run(scenario)


# --- relaying -----------------------------------------------------------------------------------


def test_messages_are_relayed_to_the_others_with_a_server_stamped_from() -> None:
    async def scenario() -> None:
        async with running() as server:
            alice, bob, carol = await room_of(server, "alice", "bob", "carol")
            alice.send(message(iv="AAECAwQFBgc=", ct=CT))
            for client in (bob, carol):
                got = await client.expect("message")
                assert got == {
                    "type": "message",
                    "v": 2,
                    "from": "alice",
                    "body": {"iv": "AAECAwQFBgc=", "ct": CT},
                }
            await alice.ping()  # no echo to the sender: the pong comes first
            forged = message() | {"from": "bob"}
            alice.send(forged)
            assert (await alice.error("bad_field"))["ref"] == "message"
            await bob.ping()  # nothing was relayed
            for client in (alice, bob, carol):
                await client.close()

    run(scenario)


def test_each_senders_messages_arrive_in_order_exactly_once() -> None:
    async def scenario() -> None:
        async with running() as server:
            alice, bob, carol = await room_of(server, "alice", "bob", "carol")
            for i in range(200):  # written in bursts: the relay reads many frames at a time
                alice.send(message(n=str(i)))
                bob.send(message(n=str(i)))
            seen: dict[str, list[str]] = {"alice": [], "bob": []}
            for _ in range(400):
                got = await carol.expect("message")
                seen[got["from"]].append(got["body"]["n"])
            assert seen == {"alice": [str(i) for i in range(200)], "bob": [str(i) for i in range(200)]}
            await carol.ping()  # and nothing more
            for client in (alice, bob, carol):
                await client.close()

    run(scenario)


def test_payloads_go_only_to_their_recipient() -> None:
    async def scenario() -> None:
        async with running() as server:
            alice, bob, carol = await room_of(server, "alice", "bob", "carol")
            alice.send(message(sig="c2ln") | {"payloads": {"BOB": {"ct": "Ym9i"}}})
            got = await bob.expect("message")
            assert got == {
                "type": "message",
                "v": 2,
                "from": "alice",
                "body": {"sig": "c2ln"},
                "payload": {"ct": "Ym9i"},
            }
            await carol.ping()  # carol got nothing
            bundle = {"type": "key_bundle", "v": 2, "key_id": "alice/1", "body": {"sig": "c2ln"}}
            bundle["payloads"] = {
                "bob": {"wrapped": "Qg=="},
                "carol": {"wrapped": "Qw=="},
                "dave": {"wrapped": "RA=="},
            }
            alice.send(bundle)
            for client, wrapped in ((bob, "Qg=="), (carol, "Qw==")):
                got = await client.expect("key_bundle")
                assert got == {
                    "type": "key_bundle",
                    "v": 2,
                    "from": "alice",
                    "key_id": "alice/1",
                    "body": {"sig": "c2ln"},
                    "payload": {"wrapped": wrapped},
                }
            error = await alice.error("unknown_member")
            assert "'dave'" in error["message"] and error["ref"] == "key_bundle" and not error["fatal"]
            alice.send(message() | {"payloads": {"alice": {"ct": "AA=="}}})  # to oneself: nobody
            await alice.error("unknown_member")
            for client in (alice, bob, carol):
                await client.close()

    run(scenario)


def test_rooms_are_separate() -> None:
    async def scenario() -> None:
        async with running() as server:
            a = await WireClient.connect(server.port)
            await a.join("alice", "one")
            b = await WireClient.connect(server.port)
            await b.join("alice", "two")  # the same alias in another room is fine
            a.send(message())
            await b.ping()
            await a.close()
            await b.close()

    run(scenario)


# --- bad input costs only its sender ------------------------------------------------------------

BIG = Limits().max_frame

BAD_INPUT: list[tuple[str, bytes, str, bool]] = [
    ("length-above-limit", (BIG + 1).to_bytes(4, "big") + b"{}", "too_large", True),
    ("length-4GiB", b"\xff\xff\xff\xff", "too_large", True),
    ("empty-frame", b"\x00\x00\x00\x00", "bad_frame", False),
    ("not-json", b"\x00\x00\x00\x05hello", "bad_json", False),
    ("not-utf8", b"\x00\x00\x00\x02\xff\xfe", "bad_json", False),
    ("json-array", b"\x00\x00\x00\x07[1,2,3]", "bad_json", False),
    ("unknown-type", frame({"type": "hello", "v": 2}), "unknown_type", False),
    ("old-version", frame({"type": "ping", "v": 0}), "bad_version", False),
    ("oversized-client-frame", frame(message(ct="A" * (BIG - 1000))), "too_large", False),
    (
        "invalid-alias",
        frame(join_frame("bad alias", "r")),
        "bad_alias",
        False,
    ),
    (
        "invalid-room",
        frame(join_frame("x", "")),
        "bad_room",
        False,
    ),
    ("join-without-nonce", frame(join_frame("x") | {"nonce": None}), "bad_field", False),
    ("join-v1", frame(join_frame("x") | {"v": 1}), "bad_version", False),
    ("prove-before-join", frame(PROOF), "bad_state", False),
    ("message-before-join", frame(message()), "not_in_room", False),
    ("leave-before-join", frame({"type": "leave", "v": 2}), "not_in_room", False),
]


@pytest.mark.parametrize(("data", "code", "fatal"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_gets_an_error_and_the_server_serves_on(data: bytes, code: str, fatal: bool) -> None:
    async def scenario() -> None:
        async with running() as server:
            alice, bob = await room_of(server, "alice", "bob")
            bad = await WireClient.connect(server.port)
            bad.send_raw(data)
            error = await bad.error(code)
            assert error["fatal"] is fatal
            if fatal:
                assert await bad.until_closed() == []
            else:
                await bad.ping()
            alice.send(message())
            assert (await bob.expect("message"))["from"] == "alice"
            await still_serving(server)
            for client in (alice, bob, bad):
                await client.close()

    run(scenario)


def test_out_of_state_join_and_duplicate_alias() -> None:
    async def scenario() -> None:
        async with running() as server:
            (alice,) = await room_of(server, "alice")
            alice.send(join_frame("alice", "other"))
            error = await alice.error("bad_state")
            assert error["ref"] == "join" and not error["fatal"]
            alice.send(PROOF)
            assert (await alice.error("bad_state"))["ref"] == "prove"
            twin = await WireClient.connect(server.port)
            refused = await twin.ask("ALICE", "Lobby")
            assert (refused["type"], refused["code"], refused["ref"]) == ("error", "alias_taken", "join")
            await twin.join("alice2")  # back to idle: it may try again
            await alice.expect("member_joined")
            await still_serving(server)
            await alice.close()
            await twin.close()

    run(scenario)


def test_a_full_room_refuses_the_next_member() -> None:
    async def scenario() -> None:
        async with running(limits=Limits.for_members(2)) as server:
            members = await room_of(server, "a", "b")
            c = await WireClient.connect(server.port)
            refused = await c.ask("c")
            assert (refused["type"], refused["code"]) == ("error", "room_full")
            await c.join("c", "annex")
            for client in (*members, c):
                await client.close()

    run(scenario)


def test_a_peer_vanishing_mid_frame_leaves_the_others_alone() -> None:
    async def scenario() -> None:
        async with running() as server:
            alice, bob = await room_of(server, "alice", "bob")
            whole = frame(message())
            alice.send_raw(whole[:10])
            await asyncio.sleep(0.05)
            alice.writer.transport.abort()
            left = await bob.expect("member_left")
            assert (left["alias"], left["reason"]) in {("alice", "bad_frame"), ("alice", "disconnected")}
            await bob.ping()  # the half frame was never relayed
            await still_serving(server)
            await bob.close()

    run(scenario)


class Recording:
    """An admission hook that admits a certificate "valid" and records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[JoinFrame, bytes, ProveFrame]] = []

    def check(self, join: JoinFrame, challenge: bytes, proof: ProveFrame) -> str | None:
        self.asked.append((join, challenge, proof))
        return None if join.certificate == "valid" else f"no valid certificate for {join.alias}"


def test_the_admission_hook_sees_the_join_its_challenge_and_the_proof() -> None:
    hook = Recording()

    async def scenario() -> None:
        async with running(admission=hook) as server:
            a = await WireClient.connect(server.port)
            refused = await a.ask("mallory")
            assert (refused["code"], refused["ref"]) == ("unauthorized", "join")
            assert refused["message"] == "no valid certificate for mallory"
            assert server.rooms.names() == []
            await a.join("alice", certificate="valid")
            assert server.rooms.names() == ["lobby"]
            await a.close()
            assert [strict_base64.encode(challenge) for _, challenge, _ in hook.asked] == a.challenges

    run(scenario)
    assert [join.alias for join, _, _ in hook.asked] == ["mallory", "alice"]
    assert all(len(challenge) == CHALLENGE_BYTES for _, challenge, _ in hook.asked)
    assert hook.asked[0][1] != hook.asked[1][1]  # fresh for each join
    assert {proof.signature for _, _, proof in hook.asked} == {b"signature"}
    assert hook.asked[1][0].nonce == strict_base64.decode(NONCE)


def test_the_seat_waits_for_the_proof() -> None:
    async def scenario() -> None:
        async with running() as server:
            (alice,) = await room_of(server, "alice")
            squatter = await WireClient.connect(server.port)
            squatter.send(join_frame("bob"))
            await squatter.expect("challenge")
            room = server.rooms.get("lobby")
            assert room is not None and [seat.alias for seat in room.seats.values()] == ["alice"]
            await alice.ping()  # no member_joined before the proof
            bob = await WireClient.connect(server.port)
            await bob.join("bob")  # the unproved join held nothing
            await alice.expect("member_joined")
            squatter.send(PROOF)
            assert (await squatter.error("alias_taken"))["ref"] == "join"
            for client in (alice, bob, squatter):
                await client.close()

    run(scenario)


def test_a_join_without_a_proof_in_time_is_refused_and_may_be_retried() -> None:
    async def scenario() -> None:
        async with running(prove_timeout=0.2) as server:
            silent = await WireClient.connect(server.port)
            silent.send(join_frame("silent"))
            await silent.expect("challenge")
            error = await silent.error("unauthorized")
            assert error["message"] == "no proof of possession within 0.2 s"
            assert error["ref"] == "join" and not error["fatal"]
            silent.send(PROOF)  # too late: the join is over
            assert (await silent.error("bad_state"))["ref"] == "prove"
            await silent.join("silent")
            await asyncio.sleep(0.3)  # the deadline of the first join is long gone
            await silent.ping()
            assert server.rooms.names() == ["lobby"]
            await silent.close()

    run(scenario)


def test_a_bad_frame_while_proving_ends_the_join() -> None:
    async def scenario() -> None:
        async with running(prove_timeout=0.2) as server:
            client = await WireClient.connect(server.port)
            client.send(join_frame("alice"))
            await client.expect("challenge")
            client.send(message())
            assert (await client.error("bad_state"))["ref"] == "message"
            client.send(PROOF)
            await client.error("bad_state")
            await asyncio.sleep(0.3)
            await client.ping()  # the old deadline refuses nothing now
            await client.join("alice")
            await client.close()

    run(scenario)


def test_the_wiretap_sees_every_byte_in_and_out() -> None:
    taps: list[tuple[str, str, bytes]] = []

    async def scenario() -> None:
        async with running(wiretap=lambda peer, way, data: taps.append((peer, way, data))) as server:
            alice, bob = await room_of(server, "alice", "bob")
            alice.send(message(ct="c2VjcmV0"))
            await bob.expect("message")
            await alice.close()
            await bob.close()

    run(scenario)
    incoming = b"".join(d for _, way, d in taps if way == "in")
    outgoing = b"".join(d for _, way, d in taps if way == "out")
    assert b'"ct": "c2VjcmV0"' in incoming
    assert b'"from":"alice","body":{"ct":"c2VjcmV0"}' in outgoing


# --- slow readers, idle clients, limits, shutdown -----------------------------------------------


def slow_reader(port: int) -> socket.socket:
    """A blocking socket with a small receive window that joins as "slow" and never reads."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: it sets the window
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", port))
    # Without an admission hook the proof is not checked: it may go before the challenge is read.
    sock.sendall(frame(join_frame("slow")) + frame(PROOF))
    return sock


def test_a_client_that_does_not_read_is_disconnected_with_a_reason() -> None:
    async def scenario() -> None:
        async with running(queue_bytes=256 * 1024, stall_timeout=0.3) as server:
            alice, bob = await room_of(server, "alice", "bob")
            # A blocking socket with a small receive buffer that never reads after joining.
            slow = slow_reader(server.port)
            for client in (alice, bob):
                await client.expect("member_joined")
            chunk = message(ct="A" * 60_000)
            left = None
            for _ in range(400):
                alice.send(chunk)
                await asyncio.wait_for(alice.writer.drain(), TIMEOUT)
                with contextlib.suppress(TimeoutError):
                    while True:
                        got = await alice.recv(timeout=0.001)
                        if got["type"] == "member_left":
                            left = got
                            break
                if left is not None:
                    break
            assert left == {"type": "member_left", "v": 2, "alias": "slow", "reason": "slow_reader"}
            # bob read everything alice sent; the room goes on
            alice.send(message(ct="bGFzdA=="))
            for _ in range(1000):
                got = await bob.recv()
                if got["type"] == "message" and got["body"] == {"ct": "bGFzdA=="}:
                    break
            else:
                raise AssertionError("bob never got the last message")
            slow.close()
            await still_serving(server)
            await alice.close()
            await bob.close()

    run(scenario, timeout=30)


def test_an_idle_client_is_disconnected() -> None:
    async def scenario() -> None:
        async with running(idle_timeout=0.2) as server:
            idle = await WireClient.connect(server.port)
            frames = await idle.until_closed(timeout=3)
            assert [(f["type"], f["code"], f["fatal"]) for f in frames] == [("error", "idle_timeout", True)]

    run(scenario)


def test_connections_above_the_limit_are_refused() -> None:
    async def scenario() -> None:
        async with running(max_connections=2) as server:
            a, b = await room_of(server, "a", "b")
            c = await WireClient.connect(server.port)
            frames = await c.until_closed()
            assert [(f["code"], f["fatal"]) for f in frames] == [("server_full", True)]
            await a.close()
            await b.expect("member_left")
            d = await WireClient.connect(server.port)
            await d.join("d")

    run(scenario)


def test_shutdown_tells_every_client() -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        alice, bob = await room_of(server, "alice", "bob")
        idle = await WireClient.connect(server.port)
        await idle.ping()
        await asyncio.wait_for(server.close("maintenance"), 10)
        for client in (alice, bob, idle):
            assert await client.until_closed() == [{"type": "shutdown", "v": 2, "reason": "maintenance"}]
        with pytest.raises(OSError):
            await asyncio.wait_for(asyncio.open_connection("127.0.0.1", server.port), TIMEOUT)
        assert server.internal_errors == 0

    run(scenario)


def test_shutdown_does_not_wait_forever_for_a_client_that_never_reads() -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0, shutdown_grace=0.3))
        slow = slow_reader(server.port)
        (alice,) = await room_of(server, "alice")
        for _ in range(20):
            alice.send(message(ct="A" * 50_000))
        await asyncio.wait_for(alice.writer.drain(), TIMEOUT)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.wait_for(server.close(), 10)
        assert loop.time() - start < 3
        slow.close()

    run(scenario)


# --- the eavesdropper's view --------------------------------------------------------------------


def test_the_console_shows_ciphertext_previews_and_never_client_markup() -> None:
    console = Console(record=True, width=200, color_system=None, file=io.StringIO())

    async def scenario() -> None:
        async with running(view=WireView(console, binary=BINARY_FIELDS)) as server:
            alice, bob = await room_of(server, "alice", "bob")
            alice.send(message(ct=CT) | {"body": {"ct": CT, "[bold]x[/]": "\x1b[31mred"}})
            await bob.expect("message")
            bad = await WireClient.connect(server.port)
            bad.send_raw(b"\x00\x00\x00\x03abc")
            await bad.error("bad_json")
            for client in (alice, bob, bad):
                await client.close()

    run(scenario)
    text = console.export_text()
    assert "[lobby] alice → 1  message" in text
    assert re.search(r"\[lobby\] bob asks to join from 127\.0\.0\.1:\d+: challenge 32 B [0-9a-f]{32}…", text)
    assert "deadbeef000102030405060708090a0b" in text  # hex of the ciphertext's first 16 bytes
    assert "[bold]x[/]" in text  # shown literally, not as markup
    assert "\x1b" not in text and "\\x1b[31mred" in text  # control characters escaped
    assert "bad_json: frame is not valid JSON" in text


def _recorded() -> Console:
    return Console(record=True, width=200, color_system=None, file=io.StringIO())


def _field_lines(text: str) -> dict[str, str]:
    """The console's field lines, by field name: what follows the name."""
    found = {}
    for line in text.splitlines():
        parts = line.split(maxsplit=1)
        if len(parts) == 2 and not line.startswith(("0", "1", "2")):
            found[parts[0]] = parts[1]
    return found


def test_the_console_decodes_only_the_fields_it_is_told_are_binary() -> None:
    """``type text`` is four characters of text, not the three bytes b5ec6d its base64 reading gives."""
    console = _recorded()
    body = {"kid": "alice/1", "ctr": "1", "type": "text", "iv": "AAECAwQFBgc=", "ct": CT, "to": "abcd"}
    WireView(console, binary=BINARY_FIELDS).relayed("lobby", "alice", "message", 300, 2, body)
    shown = _field_lines(console.export_text())
    assert shown["type"].split() == ["4", "ch", "'text'"]
    assert "b5ec6d" not in console.export_text()
    assert shown["kid"].split() == ["7", "ch", "'alice/1'"] and shown["ctr"].split() == ["1", "ch", "'1'"]
    assert shown["to"].split() == ["4", "ch", "'abcd'"]
    assert shown["iv"].split() == ["8", "B", "0001020304050607"]
    assert shown["ct"].split() == ["16", "B", "deadbeef000102030405060708090a0b"]
    # Told nothing, the relay decodes nothing: it knows no end-to-end format.
    console = _recorded()
    WireView(console).relayed("lobby", "alice", "message", 300, 2, body)
    assert _field_lines(console.export_text())["ct"].split() == ["24", "ch", f"'{CT}'"]


def test_the_console_shows_identity_keys_by_their_kind() -> None:
    console = _recorded()
    identity = {"v": "1", "rsa": "-----BEGIN PUBLIC KEY-----", "elgamal.group": "ffdhe2048", "elgamal.y": CT}
    WireView(console, binary=BINARY_FIELDS).joined("peer", "lobby", "alice", "3des", "rsa", identity)
    text = console.export_text()
    assert "identity: v 1 ch, rsa 26 ch, elgamal.group 9 ch, elgamal.y 16 B" in text


def test_the_banner_shows_the_note_it_is_given_and_colours_an_insecure_suite() -> None:
    def banner(note: str, insecure: bool) -> str:
        console = Console(record=True, width=200, color_system="standard", file=io.StringIO())
        WireView(console).started("127.0.0.1", 5050, "des", "rsa", note, insecure=insecure)
        styled = console.export_text(styles=True, clear=False)
        plain = console.export_text()
        assert "default suite des  kex rsa" in plain and f"note {note}\n" in plain
        return styled

    insecure, legacy = banner("INSECURE: a note", True), banner("legacy: a note", False)
    assert "\x1b[1;31mnote" in insecure and "\x1b[1;31mnote" not in legacy
    assert "\x1b[33mnote" in legacy


def test_a_send_queue_past_its_bound_drops_the_client_at_once() -> None:
    async def scenario() -> None:
        async with running(queue_bytes=64 * 1024, stall_timeout=30) as server:
            slow = slow_reader(server.port)
            senders = await room_of(server, "s1", "s2", "s3", "s4")
            loop = asyncio.get_running_loop()
            start = loop.time()
            # 9.6 MB for "slow" alone: past the kernel's buffers, each sender is held in turn by the
            # stall wait, but together they push the queue past its bound before 30 s.
            to_slow = message() | {"payloads": {"slow": {"ct": "A" * 60_000}}}
            for _ in range(40):
                for sender in senders:
                    sender.send(to_slow)
            watcher = senders[0]
            got = await watcher.recv(timeout=10)
            assert got == {"type": "member_left", "v": 2, "alias": "slow", "reason": "slow_reader"}
            assert loop.time() - start < 10  # long before the 30 s stall timeout
            slow.close()
            for sender in senders:
                await sender.close()

    run(scenario, timeout=30)

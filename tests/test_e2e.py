"""End to end with a real server process and three clients, for every suite and key exchange.

A proxy between the clients and the relay records every byte the relay receives (and sends). It
must never contain a plaintext, a private key number or PEM, or a chain key, in any encoding;
messages arrive in order, exactly once, from the right sender; after a member leaves, the others
start new chains and the leaver's old chains cannot open what follows.
"""

from __future__ import annotations

import pytest

from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.e2e.bodies import parse_hybrid_message
from chat.e2e.chain import message_key, message_keys, next_chain_key
from chat.e2e.sealed import message_header
from chat.e2e.session import Held, Rejected
from chat.e2e.suites import SUITES
from ciphers import strict_base64
from ciphers.envelope import authenticate
from ciphers.errors import DecryptionError
from ciphers.rsa.formats import dump_private_key
from tests.chat_net import (
    Recorder,
    ServerProcess,
    TapProxy,
    byte_forms,
    connect_all,
    eventually,
    find_secrets,
    int_forms,
    run,
)
from tests.chat_support import SUITE_IDS, SUITE_KEX, identity

NAMES = ["alice", "bob", "carol"]
ROUNDS = 3


@pytest.fixture(scope="module")
def server_args() -> tuple[str, ...]:
    """A default other than the relay's own, so that a room naming no suite shows it took the server's."""
    return ("--cipher", "des", "--kex", "elgamal")


def make_client(name: str) -> ChatClient:
    return ChatClient(name, identity(name), ping_interval=None, hold_timeout=1.0)


def text_of(sender: str, number: int) -> str:
    return f"secret number {number} from {sender}: the eagle lands at midnight by the {sender}-gate"


def private_secrets() -> dict[str, list[bytes]]:
    secrets: dict[str, list[bytes]] = {}
    for name in NAMES:
        keys = identity(name)
        rsa = keys.rsa
        for part in ("d", "p", "q", "dp", "dq", "qinv"):
            secrets[f"{name} rsa {part}"] = int_forms(getattr(rsa, part))
        secrets[f"{name} elgamal x"] = int_forms(keys.elgamal.x)
        pem = dump_private_key(rsa).decode().splitlines()
        secrets[f"{name} rsa pkcs8 pem"] = [line.encode() for line in pem[1:3]]
        secrets[f"{name} rsa pkcs1 pem"] = [
            line.encode() for line in dump_private_key(rsa, format="pkcs1").decode().splitlines()[1:3]
        ]
    return secrets


def session_secrets(recorders: dict[str, Recorder]) -> dict[str, list[bytes]]:
    secrets: dict[str, list[bytes]] = {}
    for name, recorder in recorders.items():
        session = recorder.client.session
        if session is None or session.key_id is None:
            continue
        chain = session.chain_key(session.key_id)
        assert chain is not None
        secrets[f"{name} chain key {session.key_id}"] = byte_forms(chain[0])
    return secrets


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_three_clients_through_a_real_server(server: ServerProcess, suite: str, kex: str) -> None:
    async def scenario() -> None:
        proxy = await TapProxy(server.port).start()
        room = f"room-{suite}-{kex}"
        clients = await connect_all(NAMES, proxy.port, make_client, room, suite, kex)
        alice, bob, carol = (clients[n] for n in NAMES)
        await eventually(lambda: all(r.of(ev.Joined) for r in clients.values()), "the joined events")
        for recorder in clients.values():
            joined = recorder.of(ev.Joined)
            assert [(j.suite, j.kex, j.room) for j in joined] == [(suite, kex, room)]
        hybrid = suite in ("3des", "des")
        if hybrid:
            await eventually(
                lambda: all(
                    all(m.key_id for m in r.client.members) and len(r.client.members) == 2
                    for r in clients.values()
                ),
                "every member to hold every other member's key",
            )

        for number in range(ROUNDS):
            for name in NAMES:
                await clients[name].client.send(text_of(name, number))
        expected_each = ROUNDS * (len(NAMES) - 1)
        await eventually(
            lambda: all(len(r.texts()) == expected_each for r in clients.values()), "all messages"
        )

        for name, recorder in clients.items():
            received = recorder.texts()
            assert len(received) == len(set(received)) == expected_each  # exactly once
            for sender in NAMES:
                if sender != name:
                    assert [t for s, t in received if s == sender] == [
                        text_of(sender, n) for n in range(ROUNDS)
                    ]
            assert all(e.verified for e in recorder.of(ev.MessageReceived))
            assert recorder.warnings() == []
            fingerprints = {e.alias: e.fingerprint for e in recorder.of(ev.MemberJoined)}
            for alias, fingerprint in fingerprints.items():
                assert fingerprint == identity(alias).fingerprint

        # The tap: what the relay received (and sent) holds no plaintext, private key or chain key.
        secrets = private_secrets() | session_secrets(clients)
        for name in NAMES:
            for number in range(ROUNDS):
                secrets[f"text {name} {number}"] = byte_forms(text_of(name, number).encode())
        tapped = proxy.upstream() + proxy.downstream()
        assert len(tapped) > 5000
        assert find_secrets(tapped, secrets) == []
        # The check itself can fail: a text sent in clear is found.
        assert find_secrets(tapped + text_of("bob", 1).encode("ascii").hex().encode(), secrets) == [
            "text bob 1"
        ]

        # Carol leaves: the others rekey, and her old keys cannot open what follows.
        leaver = carol.client.session
        assert leaver is not None
        old_alice_chain = leaver.chain_key("alice/1") if hybrid else None
        await carol.stop()
        await eventually(lambda: alice.of(ev.MemberLeft) and bob.of(ev.MemberLeft), "the leave to be seen")
        if hybrid:
            await eventually(
                lambda: (
                    alice.client.session is not None
                    and bob.client.session is not None
                    and alice.client.session.key_id == "alice/2"
                    and bob.client.session.key_id == "bob/2"
                    and [m.key_id for m in alice.client.members] == ["bob/2"]
                    and [m.key_id for m in bob.client.members] == ["alice/2"]
                ),
                "the remaining members to rekey",
            )
        after = f"said after carol left, in {suite}"
        await alice.client.send(after)
        await eventually(lambda: ("alice", after) in bob.texts(), "the message after the leave")
        frame = [f for f in proxy.link("alice").up_frames if f["type"] == "message"][-1]
        if hybrid:
            assert frame["body"]["kid"] == "alice/2"
            opened = leaver.open_message("alice", frame["body"], None)
            assert [type(e) for e in opened.events] == [Held]
            expired = leaver.expire_held("alice")
            assert [e.reason.value for e in expired.events if isinstance(e, Rejected)] == ["unknown_key"]
            # Even told which header to use, the old chain, ratcheted to the same index, fails the MAC.
            assert old_alice_chain is not None
            fields = parse_hybrid_message(frame["body"], SUITES[suite], 64)
            chain_key, index = old_alice_chain
            for _ in range(fields.index - index):
                chain_key = next_chain_key(chain_key)
            _, mac_key = message_keys(message_key(chain_key), suite, SUITES[suite].key_size)
            header = message_header(
                suite,
                kex,
                room,
                "alice",
                strict_base64.decode(frame["body"]["nonce"]),
                "alice/2",
                fields.index,
                "text",
                fields.epoch,
                fields.view,
            )
            with pytest.raises(DecryptionError):
                authenticate(mac_key, header, fields.box)
        else:
            assert set(frame["payloads"]) == {"bob"}
        for recorder in (alice, bob):
            await recorder.stop()
        await proxy.close()

    run(scenario, timeout=90)


def test_a_room_takes_the_servers_default_suite(server: ServerProcess) -> None:
    async def scenario() -> None:
        clients = await connect_all(["alice", "bob"], server.port, make_client, "defaults", None, None)
        await eventually(lambda: all(r.of(ev.Joined) for r in clients.values()), "the joined events")
        for recorder in clients.values():
            (joined,) = recorder.of(ev.Joined)
            assert (joined.suite, joined.kex, joined.insecure) == ("des", "elgamal", True)
        await clients["alice"].client.send("in the default suite")
        await eventually(lambda: clients["bob"].texts() == [("alice", "in the default suite")], "the message")
        for recorder in clients.values():
            await recorder.stop()

    run(scenario, timeout=60)

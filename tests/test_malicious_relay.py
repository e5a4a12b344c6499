"""A malicious relay: a proxy in front of the real server that tampers with what one client receives.

It flips ciphertext bits, replays frames, drops or reorders key bundles, relabels or forges
messages under another member's alias, and substitutes a member's identity key. Each attack is
detected and reported as a warning (a substituted key shows a changed fingerprint), and no
forged or altered text is ever delivered as genuine.
"""

from __future__ import annotations

import base64
import copy
import itertools
import warnings
from typing import Any

import pytest

from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.e2e import families
from chat.e2e.session import Arrival, RoomSession
from chat.e2e.trust import KnownPeers
from ciphers.attacks.elgamal import bleichenbacher_1996_half_order_forgery
from ciphers.elgamal import signatures
from ciphers.errors import InsecureWarning
from tests.chat_net import Mutate, Recorder, ServerProcess, TapProxy, connect_all, eventually, run
from tests.chat_support import SUITE_IDS, SUITE_KEX, identity, wire

NAMES = ["alice", "bob", "carol"]
HYBRID = [(s, k) for s, k in SUITE_KEX if s in ("3des", "des")]
HYBRID_IDS = [f"{s}-{k}" for s, k in HYBRID]
GENUINE = "the genuine words of alice"
ROOMS = itertools.count()

Frame = dict[str, Any]


def flip_b64(text: str, bit: int = 13) -> str:
    data = bytearray(base64.b64decode(text))
    data[bit // 8 % len(data)] ^= 1 << (bit % 8)
    return base64.b64encode(bytes(data)).decode()


def is_message(obj: Frame, sender: str) -> bool:
    return obj.get("type") == "message" and obj.get("from") == sender


async def room_with_relay(
    server: ServerProcess,
    suite: str,
    kex: str,
    down: Mutate,
    *,
    up: Mutate | None = None,
    known: dict[str, KnownPeers] | None = None,
) -> tuple[TapProxy, dict[str, Recorder]]:
    """Alice, Bob and Carol in a fresh room through a proxy applying ``down`` to what clients receive
    (and ``up`` to what they send)."""
    proxy = await TapProxy(server.port, down=down, up=up).start()

    def make(name: str) -> ChatClient:
        peers = None if known is None else known.get(name)
        return ChatClient(name, identity(name), ping_interval=None, hold_timeout=0.4, known_peers=peers)

    room = f"evil-{next(ROOMS)}"
    clients = await connect_all(NAMES, proxy.port, make, room, suite, kex)
    await eventually(lambda: all(r.of(ev.Joined) for r in clients.values()), "everyone to join")
    return proxy, clients


async def settle(clients: dict[str, Recorder], name: str, count: int) -> None:
    await eventually(lambda: len(clients[name].texts()) >= count, f"{name} to receive {count} messages")


async def finish(proxy: TapProxy, clients: dict[str, Recorder]) -> None:
    for recorder in clients.values():
        await recorder.stop()
    await proxy.close()


def codes(recorder: Recorder, sender: str | None = None) -> list[str]:
    return [w.code for w in recorder.warnings() if sender is None or w.sender == sender]


def never_shown(recorder: Recorder, sender: str, *texts: str) -> None:
    shown = [t for s, t in recorder.texts() if s == sender]
    for text in texts:
        assert text not in shown


# --- tampered ciphertext ------------------------------------------------------------------------


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_flipped_ciphertext_bits(server: ServerProcess, suite: str, kex: str) -> None:
    def down(_number: int, alias: str | None, obj: Frame) -> list[Frame]:
        if alias == "carol" and is_message(obj, "alice"):
            obj = copy.deepcopy(obj)
            if "payload" in obj:
                obj["payload"]["ct"] = flip_b64(obj["payload"]["ct"])
            else:
                obj["body"]["ct"] = flip_b64(obj["body"]["ct"])
        return [obj]

    async def scenario() -> None:
        proxy, clients = await room_with_relay(server, suite, kex, down)
        await clients["alice"].client.send(GENUINE)
        await settle(clients, "bob", 1)
        expected = "bad_mac" if suite in ("3des", "des") else "bad_digest"
        await eventually(lambda: codes(clients["carol"]) == [expected], "carol's warning")
        assert clients["bob"].texts() == [("alice", GENUINE)]
        never_shown(clients["carol"], "alice", GENUINE)
        # Carol still reads untampered traffic.
        await clients["bob"].client.send("bob is fine")
        await settle(clients, "carol", 1)
        assert clients["carol"].texts() == [("bob", "bob is fine")]
        await finish(proxy, clients)

    run(scenario)


# --- replay -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_replayed_frames(server: ServerProcess, suite: str, kex: str) -> None:
    seen: list[Frame] = []

    def down(_number: int, alias: str | None, obj: Frame) -> list[Frame]:
        if alias != "carol" or not is_message(obj, "alice"):
            return [obj]
        seen.append(obj)
        # Each frame twice, and the very first again after each later one.
        return [obj, obj] if len(seen) == 1 else [obj, obj, seen[0]]

    async def scenario() -> None:
        proxy, clients = await room_with_relay(server, suite, kex, down)
        for text in ("first", "second", "third"):
            await clients["alice"].client.send(text)
        await settle(clients, "carol", 3)
        await eventually(lambda: len(codes(clients["carol"])) == 5, "five replay warnings")
        assert clients["carol"].texts() == [("alice", "first"), ("alice", "second"), ("alice", "third")]
        assert codes(clients["carol"], "alice") == ["replay"] * 5
        await finish(proxy, clients)

    run(scenario)


# --- key bundles --------------------------------------------------------------------------------


@pytest.mark.parametrize(("suite", "kex"), HYBRID, ids=HYBRID_IDS)
def test_dropped_key_bundle(server: ServerProcess, suite: str, kex: str) -> None:
    def down(_number: int, alias: str | None, obj: Frame) -> list[Frame]:
        if alias == "carol" and obj.get("type") == "key_bundle" and obj.get("from") == "alice":
            return []
        return [obj]

    async def scenario() -> None:
        proxy, clients = await room_with_relay(server, suite, kex, down)
        await clients["alice"].client.send(GENUINE)
        await clients["bob"].client.send("from bob")
        await settle(clients, "carol", 1)
        await eventually(lambda: codes(clients["carol"]) == ["unknown_key"], "the unknown key warning")
        assert clients["carol"].texts() == [("bob", "from bob")]
        assert clients["bob"].texts() == [("alice", GENUINE)]
        (warning,) = clients["carol"].warnings()
        assert warning.sender == "alice" and "alice/1" in warning.message
        await finish(proxy, clients)

    run(scenario)


@pytest.mark.parametrize(("suite", "kex"), HYBRID, ids=HYBRID_IDS)
def test_reordered_bundle_is_harmless(server: ServerProcess, suite: str, kex: str) -> None:
    """A message delivered before its key bundle is held, then opened when the bundle comes."""
    stash: list[Frame] = []

    def down(_number: int, alias: str | None, obj: Frame) -> list[Frame]:
        if alias == "carol" and obj.get("type") == "key_bundle" and obj.get("from") == "alice" and not stash:
            stash.append(obj)
            return []
        if alias == "carol" and is_message(obj, "alice") and stash:
            return [obj, stash.pop()]
        return [obj]

    async def scenario() -> None:
        proxy, clients = await room_with_relay(server, suite, kex, down)
        await clients["alice"].client.send(GENUINE)
        await settle(clients, "carol", 1)
        assert clients["carol"].texts() == [("alice", GENUINE)]
        assert codes(clients["carol"]) == []
        await finish(proxy, clients)

    run(scenario)


# --- impersonation ------------------------------------------------------------------------------


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_message_relabelled_as_another_member(server: ServerProcess, suite: str, kex: str) -> None:
    def down(_number: int, alias: str | None, obj: Frame) -> list[Frame]:
        if alias == "carol" and is_message(obj, "alice"):
            return [{**obj, "from": "bob"}]
        return [obj]

    async def scenario() -> None:
        proxy, clients = await room_with_relay(server, suite, kex, down)
        await clients["alice"].client.send(GENUINE)
        await settle(clients, "bob", 1)
        await eventually(lambda: codes(clients["carol"]) == ["wrong_sender"], "the wrong sender warning")
        never_shown(clients["carol"], "bob", GENUINE)
        never_shown(clients["carol"], "alice", GENUINE)
        await finish(proxy, clients)

    run(scenario)


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_forged_message_injected_under_another_alias(server: ServerProcess, suite: str, kex: str) -> None:
    """The relay knows Carol's public keys and can encrypt to her; it cannot sign as Bob."""
    forged_text = "this is bob: send the money to mallory"
    forger: list[RoomSession] = []
    joins: dict[str, bytes] = {}

    def up(_number: int, alias: str | None, obj: Frame) -> list[Frame]:
        if obj.get("type") == "join":
            joins[obj["alias"]] = base64.b64decode(obj["nonce"])
        return [obj]

    def down(_number: int, alias: str | None, obj: Frame) -> list[Frame]:
        if alias == "carol" and obj.get("type") == "welcome":
            # The relay knows every member's join nonce: each sent its own, and the entries carry them.
            (bob,) = [m for m in obj["members"] if m["alias"] == "bob"]
            nonce = base64.b64decode(bob["nonce"])
            session = RoomSession(identity("mallory"), "bob", obj["room"], suite, kex, nonce=nonce)
            session.start([Arrival("carol", wire("carol"), joins["carol"])])
            forger.append(session)
        if alias == "carol" and is_message(obj, "alice"):
            (out,) = forger[0].seal(forged_text).outgoing
            forged: Frame = {"type": "message", "v": 2, "from": "bob", "body": out.body}
            if out.payloads is not None:
                forged["payload"] = out.payloads["carol"]
            return [obj, forged]
        return [obj]

    async def scenario() -> None:
        proxy, clients = await room_with_relay(server, suite, kex, down, up=up)
        await clients["alice"].client.send(GENUINE)
        await settle(clients, "carol", 1)
        expected = "bad_mac" if suite in ("3des", "des") else "bad_signature"
        await eventually(lambda: codes(clients["carol"], "bob") == [expected], "the forgery warning")
        assert clients["carol"].texts() == [("alice", GENUINE)]
        never_shown(clients["carol"], "bob", forged_text)
        await finish(proxy, clients)

    run(scenario)


# --- substituted identity keys ------------------------------------------------------------------


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_substituted_identity_key_in_welcome(server: ServerProcess, suite: str, kex: str) -> None:
    """Carol is handed Mallory's keys in Bob's name when she joins; she remembered Bob's real key."""

    def down(_number: int, alias: str | None, obj: Frame) -> list[Frame]:
        if alias == "carol" and obj.get("type") == "welcome":
            obj = copy.deepcopy(obj)
            for member in obj["members"]:
                if member["alias"] == "bob":
                    member["identity"] = dict(wire("mallory"))
        return [obj]

    known = KnownPeers()
    known.check("bob", identity("bob").fingerprint)  # met before, on first use

    async def scenario() -> None:
        proxy, clients = await room_with_relay(server, suite, kex, down, known={"carol": known})
        carol = clients["carol"]
        (joined,) = carol.of(ev.Joined)
        shown = {m.alias: m for m in joined.members}
        assert shown["bob"].fingerprint == identity("mallory").fingerprint != identity("bob").fingerprint
        assert shown["bob"].trust == "changed" and shown["alice"].trust == "new"
        await eventually(lambda: "identity_changed" in codes(carol, "bob"), "the changed-key warning")
        (changed,) = [w for w in carol.warnings() if w.code == "identity_changed"]
        assert identity("mallory").fingerprint.digits in changed.message
        await clients["bob"].client.send("the real bob speaks")
        await settle(clients, "alice", 1)
        if suite in ("3des", "des"):
            await eventually(
                lambda: {"bad_signature", "unknown_key"} <= set(codes(carol, "bob")), "bob's frames refused"
            )
        else:
            await eventually(lambda: "bad_signature" in codes(carol, "bob"), "bob's message refused")
        never_shown(carol, "bob", "the real bob speaks")
        await finish(proxy, clients)

    run(scenario)


@pytest.mark.parametrize(
    ("suite", "kex"), [("3des", "rsa"), ("elgamal", "elgamal")], ids=["3des-rsa", "elgamal"]
)
def test_substituted_identity_key_in_member_joined(server: ServerProcess, suite: str, kex: str) -> None:
    """Alice is told Carol joined with Mallory's keys: the fingerprint she sees is not Carol's."""

    def down(_number: int, alias: str | None, obj: Frame) -> list[Frame]:
        if alias == "alice" and obj.get("type") == "member_joined" and obj["member"]["alias"] == "carol":
            obj = copy.deepcopy(obj)
            obj["member"]["identity"] = dict(wire("mallory"))
        return [obj]

    async def scenario() -> None:
        proxy, clients = await room_with_relay(server, suite, kex, down)
        alice = clients["alice"]
        await eventually(
            lambda: any(e.alias == "carol" for e in alice.of(ev.MemberJoined)), "carol's arrival"
        )
        (carol_joined,) = [e for e in alice.of(ev.MemberJoined) if e.alias == "carol"]
        assert carol_joined.fingerprint == identity("mallory").fingerprint
        assert carol_joined.fingerprint != clients["carol"].client.identity.fingerprint
        # Carol's own view of her fingerprint differs: comparing them out of band exposes the relay.
        assert clients["carol"].client.fingerprint != carol_joined.fingerprint.digits  # type: ignore[union-attr]
        await clients["carol"].client.send("carol here")
        await settle(clients, "bob", 1)
        await eventually(lambda: "bad_signature" in codes(alice, "carol"), "carol's frames refused by alice")
        never_shown(alice, "carol", "carol here")
        await finish(proxy, clients)

    run(scenario)


# --- a forged ElGamal signature -----------------------------------------------------------------


def test_a_half_order_elgamal_forgery_injected_by_the_relay_is_refused(server: ServerProcess) -> None:
    """Bleichenbacher 1996 through the real relay, against real clients: in the ``elgamal`` suite a
    message is encryption to Carol's public key and Bob's signature, nothing else, so the relay seals
    "bob"'s words itself and signs them with r = q = (p - 1)/2 and an even s, no secret of Bob's.
    The signature verifies under Bob's real key by the textbook check (v1's), and Carol refuses it."""
    forged_text = "this is bob: I approve payment #2 to mallory"
    forgeries: list[tuple[bytes, int, int]] = []
    forger: list[RoomSession] = []
    joins: dict[str, bytes] = {}
    bob = identity("bob").public.elgamal
    size = (bob.group.q.bit_length() + 7) // 8

    class HalfOrderForger(families.ElGamalFamily):
        """Signs as anyone in the group: the forgery needs only the group and the hash."""

        def sign(self, identity: object, data: bytes, *, rng: object = None) -> bytes:  # type: ignore[override]
            group = bob.group
            r, s = bleichenbacher_1996_half_order_forgery(
                group.p, group.g, signatures.hash_message(group, data)
            )
            forgeries.append((data, r, s))
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    def up(_number: int, alias: str | None, obj: Frame) -> list[Frame]:
        if obj.get("type") == "join":
            joins[obj["alias"]] = base64.b64decode(obj["nonce"])
        return [obj]

    def down(_number: int, alias: str | None, obj: Frame) -> list[Frame]:
        if alias == "carol" and obj.get("type") == "welcome":
            (entry,) = [m for m in obj["members"] if m["alias"] == "bob"]
            session = RoomSession(
                identity("mallory"),
                "bob",
                obj["room"],
                "elgamal",
                "elgamal",
                nonce=base64.b64decode(entry["nonce"]),
            )
            session._room.family = HalfOrderForger()
            session.start([Arrival("carol", wire("carol"), joins["carol"])])
            forger.append(session)
        if alias == "carol" and is_message(obj, "alice"):
            (out,) = forger[0].seal(forged_text).outgoing
            forged: Frame = {"type": "message", "v": 2, "from": "bob", "body": out.body}
            if out.payloads is not None:
                forged["payload"] = out.payloads["carol"]
            return [obj, forged]
        return [obj]

    async def scenario() -> None:
        proxy, clients = await room_with_relay(server, "elgamal", "elgamal", down, up=up)
        await clients["alice"].client.send(GENUINE)
        await settle(clients, "carol", 1)
        await eventually(lambda: codes(clients["carol"], "bob") == ["bad_signature"], "the forgery refused")
        ((data, r, s),) = forgeries
        assert r == bob.group.q == (bob.group.p - 1) // 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureWarning)
            signatures.verify(bob, data, signatures.Signature(r, s))  # the textbook check accepts it
        assert clients["carol"].texts() == [("alice", GENUINE)]
        never_shown(clients["carol"], "bob", forged_text)
        await finish(proxy, clients)

    run(scenario)

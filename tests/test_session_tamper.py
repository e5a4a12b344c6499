"""Every tampering a relay (or a member) can try is rejected with its reason, and never shown as text."""

from __future__ import annotations

import base64
import copy
import dataclasses
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat.e2e.chain import SendingChain
from chat.e2e.session import Delivered, Held, KeyReceived, Outgoing, Reason, Rejected, Result, RoomSession
from ciphers import strict_base64
from tests.chat_support import SUITE_IDS, SUITE_KEX, Room, arrival, identity, session_of

HYBRID = [(s, k) for s, k in SUITE_KEX if s in ("3des", "des")]
HYBRID_IDS = [f"{s}-{k}" for s, k in HYBRID]
DIRECT = [(s, k) for s, k in SUITE_KEX if s in ("rsa", "elgamal")]
DIRECT_IDS = [f"{s}-{k}" for s, k in DIRECT]


def flip(text: str, bit: int = 0) -> str:
    """The base64 ``text`` with one bit of its decoded bytes flipped."""
    data = bytearray(base64.b64decode(text))
    data[bit // 8 % len(data)] ^= 1 << (bit % 8)
    return base64.b64encode(bytes(data)).decode()


def three(suite: str, kex: str) -> Room:
    room = Room(suite, kex)
    for name in ("alice", "bob", "carol"):
        room.join(name)
    return room


def sealed_by(room: Room, name: str, text: str = "the genuine text") -> Outgoing:
    (out,) = room.sessions[name].seal(text).outgoing
    return out


def open_as(
    session: RoomSession,
    sender: str,
    out: Outgoing,
    body: Mapping[str, str] | None = None,
    payload: Mapping[str, str] | None = None,
) -> Result:
    body = dict(out.body) if body is None else body
    if payload is None and out.payloads is not None:
        payload = out.payloads[session.alias]
    return session.open_message(sender, body, payload)


def reasons(result: Result) -> list[Reason]:
    assert not any(isinstance(e, Delivered) for e in result.events), "tampered text was delivered"
    return [e.reason for e in result.events if isinstance(e, Rejected)]


# --- messages of the hybrid suites --------------------------------------------------------------


@pytest.mark.parametrize(("suite", "kex"), HYBRID, ids=HYBRID_IDS)
@pytest.mark.parametrize(
    ("field", "reason"),
    [("ct", Reason.BAD_MAC), ("iv", Reason.BAD_MAC), ("mac", Reason.BAD_MAC), ("sig", Reason.BAD_SIGNATURE)],
)
def test_bit_flip_in_a_hybrid_message(suite: str, kex: str, field: str, reason: Reason) -> None:
    room = three(suite, kex)
    out = sealed_by(room, "alice")
    bob = room.sessions["bob"]
    for bit in (0, 7, 100):
        body = dict(out.body)
        body[field] = flip(body[field], bit)
        assert reasons(open_as(bob, "alice", out, body)) == [reason]
    # The genuine frame still opens afterwards: a rejected forgery does not advance the counter.
    assert [e.text for e in open_as(bob, "alice", out).events] == ["the genuine text"]  # type: ignore[union-attr]


@pytest.mark.parametrize(("suite", "kex"), HYBRID, ids=HYBRID_IDS)
def test_changed_header_fields_break_the_mac(suite: str, kex: str) -> None:
    room = three(suite, kex)
    out = sealed_by(room, "alice")
    bob = room.sessions["bob"]
    assert reasons(open_as(bob, "alice", out, {**out.body, "idx": "1"})) == [Reason.BAD_MAC]
    assert reasons(open_as(bob, "alice", out, {**out.body, "type": "file"})) == [Reason.BAD_MAC]
    assert reasons(open_as(bob, "alice", out, {**out.body, "epoch": "7"})) == [Reason.BAD_MAC]
    view = strict_base64.encode(bytes(32))
    assert reasons(open_as(bob, "alice", out, {**out.body, "view": view})) == [Reason.BAD_MAC]
    # The changes are not MACed but signed: another list fails the signature.
    changed = "+zed:" + "ab" * 32 + ":" + "cd" * 16
    assert reasons(open_as(bob, "alice", out, {**out.body, "changes": changed})) == [Reason.BAD_SIGNATURE]
    other_room = session_of("bob", suite, kex, "Elsewhere", nonce=room.nonces["bob"])
    other_room.start([arrival("alice", room.nonces["alice"])])
    # Same chain in another room would not help: the room name is MACed and signed.
    assert alice_chain_in(room, "alice/1", other_room)
    assert reasons(open_as(other_room, "alice", out)) == [Reason.BAD_MAC]


def alice_chain_in(room: Room, key_id: str, target: RoomSession) -> bool:
    """Give ``target`` Alice's chain by replaying her bundle to Bob in the real room: it must be refused."""
    bundle = next(
        d for d in room.log if d.kind == "key_bundle" and d.key_id == key_id and d.recipient == "bob"
    )
    refused = target.open_bundle("alice", key_id, bundle.body, bundle.payload or {})
    assert reasons(refused) == [Reason.BAD_SIGNATURE]
    # Install the chain by hand (as a member of both rooms could), to show the MAC still binds the room.
    target._room.members["alice"].chain = copy.deepcopy(room.sessions["bob"]._room.members["alice"].chain)
    return True


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_replayed_message(suite: str, kex: str) -> None:
    room = three(suite, kex)
    first = sealed_by(room, "alice", "first")
    second = sealed_by(room, "alice", "second")
    bob = room.sessions["bob"]
    assert [type(e) for e in open_as(bob, "alice", first).events] == [Delivered]
    assert reasons(open_as(bob, "alice", first)) == [Reason.REPLAY]
    assert [type(e) for e in open_as(bob, "alice", second).events] == [Delivered]
    assert reasons(open_as(bob, "alice", second)) == [Reason.REPLAY]
    carol = room.sessions["carol"]
    assert [type(e) for e in open_as(carol, "alice", second).events] == [Delivered]
    if suite in ("3des", "des"):
        # A chain keeps the key of a message it skipped, for reordering: it opens once, then never.
        assert [type(e) for e in open_as(carol, "alice", first).events] == [Delivered]
        assert reasons(open_as(carol, "alice", first)) == [Reason.REPLAY]
    else:
        # A direct sender's counter only goes up: an older frame after a newer one is a replay.
        assert reasons(open_as(carol, "alice", first)) == [Reason.REPLAY]


@pytest.mark.parametrize(("suite", "kex"), HYBRID, ids=HYBRID_IDS)
def test_unknown_and_replaced_key_ids(suite: str, kex: str) -> None:
    room = three(suite, kex)
    bob = room.sessions["bob"]
    out = sealed_by(room, "alice")
    # A key id from the future is held for its bundle, which never comes.
    assert open_as(bob, "alice", out, {**out.body, "kid": "alice/7"}).events == (Held("alice", "alice/7"),)
    assert reasons(bob.expire_held("alice")) == [Reason.UNKNOWN_KEY]
    assert reasons(open_as(bob, "alice", out, {**out.body, "kid": "alice/0"})) == [Reason.MALFORMED]
    # After a rekey, frames under the replaced key are refused at once.
    room.leave("carol")
    assert reasons(open_as(bob, "alice", out)) == [Reason.UNKNOWN_KEY]


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_message_relabelled_as_another_sender(suite: str, kex: str) -> None:
    room = three(suite, kex)
    out = sealed_by(room, "alice")
    carol = room.sessions["carol"]
    assert reasons(open_as(carol, "bob", out)) == [Reason.WRONG_SENDER]
    # Rewriting the key id to Bob's as well: the nonce is still Alice's join, not Bob's.
    bob_kid = out.body["kid"].replace("alice", "bob")
    relabelled = {**out.body, "kid": bob_kid}
    assert reasons(open_as(carol, "bob", out, relabelled)) == [Reason.STALE_SESSION]
    # And Bob's nonce too: the MAC (hybrid) or Bob's signature (direct) fails.
    relabelled["nonce"] = strict_base64.encode(room.nonces["bob"])
    expected = Reason.BAD_MAC if suite in ("3des", "des") else Reason.BAD_SIGNATURE
    assert reasons(open_as(carol, "bob", out, relabelled)) == [expected]
    assert reasons(open_as(carol, "eve", out)) == [Reason.UNKNOWN_SENDER]


def test_a_member_cannot_forge_under_another_members_chain() -> None:
    """Every member holds Alice's chain; only Alice's signature makes a message hers."""
    room = three("3des", "rsa")
    bob = room.sessions["bob"]
    chain_key, index = bob.chain_key("alice/1")  # type: ignore[misc]
    # Bob seals with Alice's chain as if he were Alice, signing with his own identity.
    forger = RoomSession(identity("bob"), "alice", "Lobby", "3des", "rsa", nonce=room.nonces["alice"])
    forger.start([])
    forger._path.chain = SendingChain("alice/1", 1, chain_key, index)  # type: ignore[union-attr]
    (forged,) = forger.seal("I, Alice, owe Bob 100").outgoing
    assert reasons(open_as(room.sessions["carol"], "alice", forged)) == [Reason.BAD_SIGNATURE]


# --- messages of the direct suites --------------------------------------------------------------


@pytest.mark.parametrize(("suite", "kex"), DIRECT, ids=DIRECT_IDS)
def test_tampered_direct_message(suite: str, kex: str) -> None:
    room = three(suite, kex)
    out = sealed_by(room, "alice")
    bob = room.sessions["bob"]
    payload = (out.payloads or {})["bob"]
    assert reasons(open_as(bob, "alice", out, payload={"ct": flip(payload["ct"], 9)})) == [Reason.BAD_DIGEST]
    assert reasons(open_as(bob, "alice", out, {**out.body, "sig": flip(out.body["sig"], 3)})) == [
        Reason.BAD_SIGNATURE
    ]
    # Carol's payload handed to Bob: it is not the one signed for him.
    carols = (out.payloads or {})["carol"]
    assert reasons(open_as(bob, "alice", out, payload=carols)) == [Reason.BAD_DIGEST]
    # Changing Carol's digest in the list breaks the signature for Bob too.
    entries = out.body["to"].split(",")
    entries[1] = entries[1][:-1] + ("0" if entries[1][-1] != "0" else "1")
    assert reasons(open_as(bob, "alice", out, {**out.body, "to": ",".join(entries)})) == [
        Reason.BAD_SIGNATURE
    ]
    assert reasons(open_as(bob, "alice", out, payload={})) == [Reason.MALFORMED]
    assert reasons(bob.open_message("alice", out.body, None)) == [Reason.MALFORMED]
    assert [e.text for e in open_as(bob, "alice", out).events] == ["the genuine text"]  # type: ignore[union-attr]


@pytest.mark.parametrize(("suite", "kex"), DIRECT, ids=DIRECT_IDS)
def test_direct_chunks_cannot_be_reordered(suite: str, kex: str) -> None:
    room = three(suite, kex)
    out = sealed_by(room, "alice", "y" * 700)
    raw = base64.b64decode((out.payloads or {})["bob"]["ct"])
    half = len(raw) // (4 if suite == "rsa" else 3)
    swapped = raw[half : 2 * half] + raw[:half] + raw[2 * half :]
    bob = room.sessions["bob"]
    assert reasons(open_as(bob, "alice", out, payload={"ct": base64.b64encode(swapped).decode()})) == [
        Reason.BAD_DIGEST
    ]


# --- key bundles --------------------------------------------------------------------------------


def newcomer_bundle(suite: str, kex: str) -> tuple[Room, RoomSession, Outgoing]:
    """A room of three, a newcomer Dave who knows them, and Alice's bundle for Dave (not delivered)."""
    room = three(suite, kex)
    dave = session_of("dave", suite, kex)
    dave.start([arrival(n, room.nonces[n]) for n in ("alice", "bob", "carol")])
    (bundle,) = room.sessions["alice"].add_member(arrival("dave", dave.nonce)).outgoing
    return room, dave, bundle


def open_bundle(
    session: RoomSession,
    sender: str,
    bundle: Outgoing,
    *,
    key_id: str | None = None,
    body: Mapping[str, str] | None = None,
    payload: Mapping[str, str] | None = None,
) -> Result:
    return session.open_bundle(
        sender,
        key_id or bundle.key_id or "",
        dict(bundle.body) if body is None else body,
        (bundle.payloads or {})[session.alias] if payload is None else payload,
    )


@pytest.mark.parametrize(("suite", "kex"), HYBRID, ids=HYBRID_IDS)
def test_tampered_key_bundles(suite: str, kex: str) -> None:
    room, dave, bundle = newcomer_bundle(suite, kex)
    wrapped = (bundle.payloads or {})["dave"]["wrapped"]
    assert reasons(open_bundle(dave, "alice", bundle, payload={"wrapped": flip(wrapped, 5)})) == [
        Reason.BAD_DIGEST
    ]
    assert reasons(
        open_bundle(dave, "alice", bundle, body={**bundle.body, "sig": flip(bundle.body["sig"])})
    ) == [Reason.BAD_SIGNATURE]
    assert reasons(open_bundle(dave, "alice", bundle, body={**bundle.body, "why": "leave"})) == [
        Reason.BAD_SIGNATURE
    ]
    assert reasons(open_bundle(dave, "alice", bundle, key_id="alice/2")) == [Reason.BAD_SIGNATURE]
    assert reasons(open_bundle(dave, "bob", bundle)) == [Reason.WRONG_SENDER]
    assert reasons(open_bundle(dave, "bob", bundle, key_id="bob/1")) == [Reason.STALE_SESSION]
    bobs_nonce = {**bundle.body, "nonce": strict_base64.encode(room.nonces["bob"])}
    assert reasons(open_bundle(dave, "bob", bundle, key_id="bob/1", body=bobs_nonce)) == [
        Reason.BAD_SIGNATURE
    ]
    assert reasons(open_bundle(dave, "eve", bundle)) == [Reason.UNKNOWN_SENDER]
    assert reasons(open_bundle(dave, "alice", bundle, body={**bundle.body, "extra": "x"})) == [
        Reason.MALFORMED
    ]
    # A bundle for someone else: not among its signed recipients, or not our payload.
    bob_bundle = next(
        d for d in room.log if d.kind == "key_bundle" and d.sender == "alice" and d.recipient == "bob"
    )
    assert reasons(dave.open_bundle("alice", "alice/1", bob_bundle.body, bob_bundle.payload or {})) == [
        Reason.NOT_FOR_US
    ]
    # None of this installed a key; the genuine bundle does, once.
    assert dave.member("alice").key_id is None  # type: ignore[union-attr]
    assert [type(e) for e in open_bundle(dave, "alice", bundle).events] == [KeyReceived]
    assert reasons(open_bundle(dave, "alice", bundle)) == [Reason.REPLAY]


@pytest.mark.parametrize(("suite", "kex"), HYBRID, ids=HYBRID_IDS)
def test_old_bundle_replayed_after_a_rekey(suite: str, kex: str) -> None:
    room = three(suite, kex)
    old = next(d for d in room.log if d.kind == "key_bundle" and d.sender == "alice" and d.recipient == "bob")
    room.leave("carol")
    bob = room.sessions["bob"]
    assert bob.member("alice").key_id == "alice/2"  # type: ignore[union-attr]
    replayed = bob.open_bundle("alice", "alice/1", old.body, old.payload or {})
    assert reasons(replayed) == [Reason.REPLAY]
    assert bob.member("alice").key_id == "alice/2"  # type: ignore[union-attr]


@pytest.mark.parametrize(("suite", "kex"), HYBRID, ids=HYBRID_IDS)
def test_dropped_bundle_leaves_messages_unreadable(suite: str, kex: str) -> None:
    room, dave, _dropped = newcomer_bundle(suite, kex)
    out = sealed_by(room, "alice", "you will never read this")
    assert open_as(dave, "alice", out).events == (Held("alice", "alice/1"),)
    assert reasons(dave.expire_held("alice")) == [Reason.UNKNOWN_KEY]


def test_bundle_in_a_direct_suite_is_refused() -> None:
    room = three("rsa", "rsa")
    refused = room.sessions["bob"].open_bundle(
        "alice", "alice/1", {"why": "start", "to": "", "sig": ""}, {"wrapped": ""}
    )
    assert reasons(refused) == [Reason.MALFORMED]


# --- identities ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_substituted_identity_key(suite: str, kex: str) -> None:
    """The relay hands Carol Mallory's keys in Bob's name: the fingerprint changes and Bob's frames fail."""
    room = Room(suite, kex)
    room.join("alice")
    room.join("bob")
    real = identity("bob").fingerprint
    carol = session_of("carol", suite, kex)
    carol.start(
        [arrival("alice", room.nonces["alice"]), arrival("bob", room.nonces["bob"], as_identity="mallory")]
    )
    seen = carol.member("bob")
    assert seen is not None and seen.fingerprint is not None
    assert seen.fingerprint != real and seen.fingerprint.digits != real.digits
    assert seen.fingerprint == identity("mallory").fingerprint
    room.sessions["carol"] = carol
    room.nonces["carol"] = carol.nonce
    room.results["carol"] = []
    for name in ("alice", "bob"):
        room.route(name, room.sessions[name].add_member(arrival("carol", carol.nonce)))
    out = sealed_by(room, "bob", "from the real bob")
    result = open_as(carol, "bob", out)
    if suite in ("3des", "des"):
        # Bob's bundle failed its signature, so his messages wait for a key that never verifies.
        assert Reason.BAD_SIGNATURE in [e.reason for e in room.rejections("carol")]
        assert result.events == (Held("bob", "bob/1"),)
        assert reasons(carol.expire_held("bob")) == [Reason.UNKNOWN_KEY]
    else:
        assert reasons(result) == [Reason.BAD_SIGNATURE]
    assert ("bob", "from the real bob") not in room.texts("carol")


def test_unusable_identity_is_reported_and_its_frames_refused() -> None:
    session = session_of("alice", "3des", "rsa", "r")
    bad = arrival("bob", bytes(16))
    result = session.start([dataclasses.replace(bad, identity={**bad.identity, "elgamal.y": "AAAA"})])
    assert [(type(e).__name__, e.reason) for e in result.events if isinstance(e, Rejected)] == [
        ("Rejected", Reason.BAD_IDENTITY)
    ]
    info = session.member("bob")
    assert info is not None and info.fingerprint is None and info.problem
    assert result.outgoing == ()  # no key is wrapped for a member without usable keys
    assert reasons(session.open_message("bob", {"kid": "bob/1"})) == [Reason.UNKNOWN_SENDER]


# --- malformed bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"idx": "01"},
        {"idx": "-1"},
        {"idx": "99999999999999999999"},
        {"epoch": "01"},
        {"kid": "alice"},
        {"kid": "alice/x"},
        {"iv": "AAAA"},
        {"mac": "AAAA"},
        {"ct": "AAAAAAAA"},
        {"ct": "not base64!"},
        {"type": "Text"},
        {"nonce": "AAAA"},
        {"view": "AAAA"},
        {"suite": "3DES"},
        {"changes": "+Alice:00:00"},
        {"changes": "*bob:" + "00" * 32 + ":" + "00" * 16},
    ],
    ids=lambda change: "-".join(f"{k}={v[:12]}" for k, v in change.items()),
)
def test_malformed_hybrid_body(change: dict[str, str]) -> None:
    room = three("3des", "rsa")
    out = sealed_by(room, "alice")
    assert reasons(open_as(room.sessions["bob"], "alice", out, {**out.body, **change})) == [Reason.MALFORMED]


def test_missing_or_extra_fields() -> None:
    room = three("des", "rsa")
    out = sealed_by(room, "alice")
    bob = room.sessions["bob"]
    for field in out.body:
        body = {k: v for k, v in out.body.items() if k != field}
        assert reasons(open_as(bob, "alice", out, body)) == [Reason.MALFORMED]
    assert reasons(open_as(bob, "alice", out, {**out.body, "x": "1"})) == [Reason.MALFORMED]
    assert reasons(bob.open_message("alice", out.body, {"ct": "AAAA"})) == [Reason.MALFORMED]


# --- property: no single bit flip anywhere ever yields text ----------------------------------------

_ROOM: list[Room] = []


@settings(max_examples=40)
@given(st.sampled_from(["iv", "ct", "mac", "sig"]), st.integers(min_value=0, max_value=4095))
def test_no_bit_flip_is_ever_delivered(field: str, bit: int) -> None:
    if not _ROOM:
        _ROOM.append(three("3des", "rsa"))
    room = _ROOM[0]
    out = sealed_by(room, "alice", "flip me")
    body = {**out.body, field: flip(out.body[field], bit)}
    assert len(reasons(open_as(room.sessions["bob"], "alice", out, body))) == 1

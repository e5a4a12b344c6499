"""A hostile relay against the v2 session: each attack of issue 10 that the end-to-end layer stops.

The relay here is the in-memory :class:`~tests.chat_support.Room` with the relay's choices made by
hand: what it records and replays, whom it tells of a join or a leave, which identity and nonce it
announces, which suite it says the room has. Each test asserts the outcome the threat model
promises: never delivered, refused with its reason, or a warning naming who differs.
"""

from __future__ import annotations

import time
import warnings

import pytest

from chat.e2e import families
from chat.e2e.chain import SendingChain
from chat.e2e.identity import PublicIdentity
from chat.e2e.session import (
    Arrival,
    Delivered,
    Departed,
    DifferenceKind,
    Held,
    KeyDrawn,
    Reason,
    Rejected,
    Result,
    RoomSession,
    ViewDiffers,
    Withheld,
)
from chat.protocol.limits import DEFAULT_LIMITS
from ciphers.attacks.elgamal import bleichenbacher_1996_half_order_forgery
from ciphers.elgamal import signatures
from ciphers.errors import InsecureWarning
from ciphers.rng import DeterministicRNG, randbits
from ciphers.rsa.formats import dump_public_key
from ciphers.rsa.keys import RSAPublicKey
from tests.chat_support import SUITE_IDS, SUITE_KEX, Delivery, Room, arrival, fresh_nonce, session_of, wire

HYBRID = [(s, k) for s, k in SUITE_KEX if s in ("3des", "des")]
HYBRID_IDS = [f"{s}-{k}" for s, k in HYBRID]
PAYMENT = "I approve payment #1"
GHOST, HIDDEN, LEAVER, OTHER, UNKNOWN = (
    DifferenceKind.GHOST,
    DifferenceKind.HIDDEN_MEMBER,
    DifferenceKind.STILL_SENDING_TO_LEAVER,
    DifferenceKind.OTHER_IDENTITY,
    DifferenceKind.VIEW_UNKNOWN,
)


def room_of(suite: str, kex: str, *names: str) -> Room:
    room = Room(suite, kex)
    for name in names or ("alice", "bob", "carol"):
        room.join(name)
    return room


def texts(result: Result) -> list[str]:
    return [e.text for e in result.events if isinstance(e, Delivered)]


def reasons(result: Result) -> list[Reason]:
    assert not texts(result), "a replayed or forged message was delivered"
    return [e.reason for e in result.events if isinstance(e, Rejected)]


def differences(result: Result) -> list[tuple[str, str, DifferenceKind]]:
    return [
        (e.sender, d.member, d.kind)
        for e in result.events
        if isinstance(e, ViewDiffers)
        for d in e.differences
    ]


def replay(session: RoomSession, frames: list[Delivery]) -> Result:
    """Hand recorded deliveries to ``session`` again, as the relay may."""
    result = Result()
    for item in frames:
        if item.kind == "message":
            result += session.open_message(item.sender, item.body, item.payload)
        else:
            assert item.key_id is not None and item.payload is not None
            result += session.open_bundle(item.sender, item.key_id, item.body, item.payload)
    return result


def recorded(room: Room, sender: str, recipient: str) -> list[Delivery]:
    return [d for d in room.log if d.sender == sender and d.recipient == recipient]


def never_delivered(session: RoomSession, result: Result) -> None:
    assert texts(result + session.expire_held("alice")) == []


# --- no replay, ever: bound to the current joins --------------------------------------------------


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_a_recorded_bundle_and_its_messages_after_the_receiver_rejoins(suite: str, kex: str) -> None:
    room = room_of(suite, kex, "alice", "bob")
    room.send("alice", PAYMENT)
    frames = recorded(room, "alice", "bob")
    assert room.texts("bob") == [("alice", PAYMENT)]
    room.leave("bob")
    # Bob reconnects (a new session, a new join nonce); the relay holds back Alice's new bundle
    # and replays the recording instead.
    bob = session_of("bob", suite, kex)
    bob.start([arrival("alice", room.nonces["alice"])])
    withheld = room.sessions["alice"].add_member(arrival("bob", bob.nonce))
    result = replay(bob, frames)
    # The bundle and the direct message name Bob's earlier join; the chain message waits for a
    # bundle bound to his current join, which the recording does not hold.
    assert Reason.STALE_SESSION in reasons(result)
    never_delivered(bob, result)
    # Once Alice's new bundle arrives, the recording is still refused, now as a replay too.
    for out in withheld.outgoing:
        bob.open_bundle("alice", out.key_id or "", out.body, (out.payloads or {})["bob"])
    again = replay(bob, frames)
    assert set(reasons(again)) <= {Reason.STALE_SESSION, Reason.REPLAY, Reason.UNKNOWN_KEY}
    never_delivered(bob, again)


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_a_recorded_bundle_and_its_messages_after_the_sender_rejoins(suite: str, kex: str) -> None:
    room = room_of(suite, kex, "alice", "bob")
    room.send("alice", PAYMENT)
    frames = recorded(room, "alice", "bob")
    room.leave("alice")
    room.join("alice")
    result = replay(room.sessions["bob"], frames)
    assert set(reasons(result)) == {Reason.STALE_SESSION}
    never_delivered(room.sessions["bob"], result)


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_a_fake_leave_and_a_replayed_join(suite: str, kex: str) -> None:
    room = room_of(suite, kex, "alice", "bob")
    room.send("alice", PAYMENT)
    frames = recorded(room, "alice", "bob")
    bob = room.sessions["bob"]
    # A duplicate member_joined for Alice while she is present: refused, nothing changes.
    before = bob.member("alice")
    duplicate = bob.add_member(arrival("alice", fresh_nonce("alice")))
    assert reasons(duplicate) == [Reason.DUPLICATE_MEMBER] and bob.member("alice") == before
    # The relay says Alice left, then replays her member_joined: the join was seen, it is refused.
    bob.remove_member("alice")
    replayed = bob.add_member(arrival("alice", room.nonces["alice"]))
    assert reasons(replayed) == [Reason.REPLAYED_JOIN] and bob.member("alice") is None
    assert set(reasons(replay(bob, frames))) == {Reason.UNKNOWN_SENDER}
    # Or it announces her with a nonce of its own: her recorded frames name her real join.
    bob.add_member(arrival("alice", fresh_nonce("alice")))
    result = replay(bob, frames)
    assert set(reasons(result)) == {Reason.STALE_SESSION}
    never_delivered(bob, result)


# --- suite and kex in every frame -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("told", "real"), [(("3des", "elgamal"), ("3des", "rsa")), (("des", "rsa"), ("3des", "rsa"))]
)
def test_a_member_whose_frames_are_for_another_suite_or_kex_is_named(
    told: tuple[str, str], real: tuple[str, str]
) -> None:
    room = room_of(*real, "alice", "bob")
    room.send("alice", PAYMENT)
    alice_frames = recorded(room, "alice", "bob")
    # The relay put Carol in a room it says is of another suite or kex.
    carol = session_of("carol", *told)
    carol.start([arrival("alice", room.nonces["alice"]), arrival("bob", room.nonces["bob"])])
    result = replay(carol, alice_frames)
    rejected = [e for e in result.events if isinstance(e, Rejected)]
    assert {(e.sender, e.reason) for e in rejected} == {("alice", Reason.SUITE_MISMATCH)}
    assert f"is for {real[0]}/{real[1]}, this room is {told[0]}/{told[1]}" in rejected[0].detail


# --- views: whom each sender sends to ------------------------------------------------------------


@pytest.mark.parametrize(("suite", "kex"), [("3des", "rsa"), ("des", "elgamal"), ("rsa", "rsa")])
def test_a_ghost_announced_to_one_client_only(suite: str, kex: str) -> None:
    room = room_of(suite, kex)
    alice = room.sessions["alice"]
    # The relay tells Alice alone that "ghost" joined, with keys it holds (Mallory's).
    handed = alice.add_member(arrival("ghost", fresh_nonce("ghost"), as_identity="mallory"))
    if room.sessions["alice"].suite.hybrid:
        assert [set(o.payloads or {}) for o in handed.outgoing] == [{"ghost"}]
    room.send("alice", "for the room")
    for name in ("bob", "carol"):
        (opened,) = [r for r in room.results[name] if texts(r) == ["for the room"]]
        assert differences(opened) == [("alice", "ghost", GHOST)]


@pytest.mark.parametrize(("suite", "kex"), HYBRID, ids=HYBRID_IDS)
def test_a_hidden_leave_is_learned_from_the_next_frame_and_the_leaver_is_cut_off(
    suite: str, kex: str
) -> None:
    room = room_of(suite, kex)
    alice, bob, carol = (room.sessions[n] for n in ("alice", "bob", "carol"))
    # The relay tells Alice that Carol left, and not Bob; Carol, who colludes, keeps every frame.
    room.route("alice", alice.remove_member("carol"))
    learned = [e for r in room.results["bob"] for e in r.events if isinstance(e, Departed | KeyDrawn)]
    assert learned == [Departed("carol", "alice"), KeyDrawn("bob/2", "departed", ("alice",))]
    assert bob.member("carol") is None and bob.recipients == ("alice",)
    sent = room.send("bob", "carol must not read this")
    assert sent.events[0].recipients == ("alice",)  # type: ignore[union-attr]
    assert room.texts("alice")[-1] == ("bob", "carol must not read this")
    # The relay hands Carol the message all the same: it waits for a bundle she never gets.
    assert room.results["carol"][-1].events == (Held("bob", "bob/2"),)
    assert reasons(carol.expire_held("bob")) == [Reason.UNKNOWN_KEY]
    assert ("bob", "carol must not read this") not in room.texts("carol")
    # Nor does she read Alice's next message; and Bob reports no difference with Alice's view.
    (after,) = room.send("alice", "nor this").outgoing
    assert texts(carol.open_message("alice", after.body) + carol.expire_held("alice")) == []
    assert differences(room.results["bob"][-1]) == []


@pytest.mark.parametrize(("suite", "kex"), [("rsa", "rsa"), ("elgamal", "elgamal")])
def test_a_sender_still_sending_to_a_leaver_is_named(suite: str, kex: str) -> None:
    room = room_of(suite, kex)
    # The relay tells Bob that Carol left, and not Alice, who keeps sending to her.
    room.route("bob", room.sessions["bob"].remove_member("carol"))
    room.send("alice", "one")
    # Alice's first message may have been sealed before she heard of the leave: it is in flight.
    assert differences(room.results["bob"][-1]) == []
    room.send("alice", "two")
    assert differences(room.results["bob"][-1]) == [("alice", "carol", LEAVER)]
    room.send("alice", "three")
    assert differences(room.results["bob"][-1]) == []  # each difference is reported once
    # Bob's next message signs the departure he saw: Alice stops sending to Carol.
    room.send("bob", "carol left")
    assert Departed("carol", "bob") in room.events("alice")
    assert room.sessions["alice"].recipients == ("bob",)


@pytest.mark.parametrize(("suite", "kex"), HYBRID, ids=HYBRID_IDS)
def test_a_leave_hidden_from_the_sender_reaches_it_in_the_new_bundle(suite: str, kex: str) -> None:
    room = room_of(suite, kex)
    # The relay tells Bob that Carol left, and not Alice: Bob's new chain comes with the departure.
    room.route("bob", room.sessions["bob"].remove_member("carol"))
    assert Departed("carol", "bob") in room.events("alice")
    assert KeyDrawn("alice/2", "departed", ("bob",)) in room.events("alice")
    (out,) = room.send("alice", "to bob alone").outgoing
    assert room.texts("bob")[-1] == ("alice", "to bob alone")
    carol = room.sessions["carol"]
    assert texts(carol.open_message("alice", out.body) + carol.expire_held("alice")) == []
    assert all(differences(r) == [] for r in room.results["bob"])


@pytest.mark.parametrize(("suite", "kex"), [("3des", "elgamal"), ("elgamal", "elgamal")])
def test_a_hidden_member_is_named_and_an_honest_race_is_not(suite: str, kex: str) -> None:
    room = room_of(suite, kex)
    alice, bob = room.sessions["alice"], room.sessions["bob"]
    early = alice.seal("sealed before alice heard of dave")
    # Dave joins; the relay tells Bob and Carol, and hides him from Alice.
    dave = session_of("dave", suite, kex)
    dave.start([arrival(n, room.nonces[n]) for n in ("alice", "bob", "carol")])
    for name in ("bob", "carol"):
        room.sessions[name].add_member(arrival("dave", dave.nonce))
    # A message Alice sealed before the join reaches Bob after it: an honest race, not a warning.
    room.route("alice", early)
    assert texts(room.results["bob"][-1]) == ["sealed before alice heard of dave"]
    assert differences(room.results["bob"][-1]) == []
    room.send("alice", "still without dave")
    assert differences(room.results["bob"][-1]) == [("alice", "dave", HIDDEN)]
    assert differences(room.results["carol"][-1]) == [("alice", "dave", HIDDEN)]
    assert bob.member("dave") is not None


@pytest.mark.parametrize(("suite", "kex"), [("3des", "rsa"), ("rsa", "rsa")])
@pytest.mark.parametrize("what", ["identity", "join"])
def test_another_identity_or_join_for_the_same_alias(suite: str, kex: str, what: str) -> None:
    room = room_of(suite, kex, "bob", "carol")
    # Alice joins; the relay shows her Carol with Mallory's keys, or with a join nonce of its own.
    alice = session_of("alice", suite, kex)
    carol = (
        arrival("carol", room.nonces["carol"], as_identity="mallory")
        if what == "identity"
        else arrival("carol", fresh_nonce("carol"))
    )
    started = alice.start([arrival("bob", room.nonces["bob"]), carol])
    room.sessions["alice"], room.nonces["alice"], room.results["alice"] = alice, alice.nonce, []
    for name in ("bob", "carol"):
        room.route(name, room.sessions[name].add_member(arrival("alice", alice.nonce)))
    room.route("alice", started)
    room.send("alice", "hello")
    found = [d for r in room.results["bob"] for d in differences(r)]
    assert found == [("alice", "carol", OTHER)]


def test_a_lost_frame_leaves_a_view_unknown_and_says_so() -> None:
    room = room_of("3des", "rsa")
    alice = room.sessions["alice"]
    # The relay hides Dave from Bob and Carol, and drops the message that told them Alice added him.
    alice.add_member(arrival("dave", fresh_nonce("dave")))
    alice.seal("dropped")
    room.send("alice", "after the drop")
    assert differences(room.results["bob"][-1]) == [("alice", "alice", UNKNOWN)]


# --- key hand-out policy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suite", "kex"), [("3des", "rsa"), ("des", "elgamal"), ("rsa", "rsa"), ("elgamal", "elgamal")]
)
def test_nothing_is_ever_wrapped_or_encrypted_to_an_ineligible_member(suite: str, kex: str) -> None:
    room = room_of(suite, kex, "alice", "bob")
    alice = room.sessions["alice"]
    nonce = fresh_nonce("mallory")
    joined = alice.add_member(Arrival("carol", wire("mallory"), nonce, eligible=False))
    assert joined.outgoing == () and joined.events == (Withheld("carol", "policy"),)
    assert alice.recipients == ("bob",)
    (out,) = alice.seal("not for the changed identity").outgoing
    assert out.kind == "message" and "carol" not in (out.payloads or {})
    # /trust: it becomes eligible and gets the chain as it stands (a hybrid suite), or the next messages.
    trusted = alice.set_eligible("carol", True)
    if alice.suite.hybrid:
        (bundle,) = trusted.outgoing
        assert (set(bundle.payloads or {}), bundle.body["why"]) == ({"carol"}, "eligible")
    assert alice.recipients == ("bob", "carol")
    (out,) = alice.seal("now for carol too").outgoing
    assert alice.suite.hybrid or set(out.payloads or {}) == {"bob", "carol"}
    # Made ineligible again: withheld, and a new chain without it.
    dropped = alice.set_eligible("carol", False)
    assert Withheld("carol", "policy") in dropped.events
    if alice.suite.hybrid:
        assert [e for e in dropped.events if isinstance(e, KeyDrawn)] == [
            KeyDrawn("alice/2", "ineligible", ("bob",))
        ]
        assert [set(o.payloads or {}) for o in dropped.outgoing] == [{"bob"}]
    assert alice.set_eligible("carol", False) == Result()


def test_an_ineligible_member_at_the_start_gets_no_key() -> None:
    alice = session_of("alice", "3des", "rsa")
    started = alice.start(
        [arrival("bob", fresh_nonce("bob")), arrival("carol", fresh_nonce("carol"), eligible=False)]
    )
    assert Withheld("carol", "policy") in started.events
    (bundle,) = started.outgoing
    assert set(bundle.payloads or {}) == {"bob"} and "carol" not in bundle.body["members"]


# --- bounded costs ---------------------------------------------------------------------------------


def _odd(bits: int, label: str) -> int:
    return randbits(bits, DeterministicRNG(label)) | 1 << (bits - 1) | 1


def _identity_with_rsa(key: RSAPublicKey) -> dict[str, str]:
    return {**wire("mallory"), "rsa": dump_public_key(key).decode("ascii")}


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (RSAPublicKey(_odd(38_000, "n"), _odd(38_000, "n") - 2), "larger than any 4096-bit key"),
        (RSAPublicKey(_odd(4_200, "n"), 65537), "2048 to 4096 bits, not 4200"),
        (RSAPublicKey(_odd(2_048, "n"), 3), "exponent must be 65537"),
    ],
    ids=["38000-bits-e-n-2", "4200-bits", "e-3"],
)
def test_an_identity_out_of_bounds_is_refused_fast_and_never_checked(
    key: RSAPublicKey, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_signature_check(*args: object) -> None:
        raise AssertionError("a signature was checked under an identity out of bounds")

    room = room_of("3des", "rsa", "alice", "bob")
    bob = room.sessions["bob"]
    monkeypatch.setattr(families.RSAFamily, "verify", no_signature_check)
    start = time.perf_counter()
    result = bob.add_member(Arrival("mallory", _identity_with_rsa(key), fresh_nonce("mallory")))
    assert time.perf_counter() - start < 1.0
    assert reasons(result) == [Reason.BAD_IDENTITY] and problem in result.events[0].detail  # type: ignore[union-attr]
    assert Withheld("mallory", "bad_identity") in result.events and result.outgoing == ()
    (out,) = room.sessions["alice"].seal("anything").outgoing
    assert reasons(bob.open_message("mallory", out.body)) == [Reason.UNKNOWN_SENDER]
    with pytest.raises(Exception, match=problem):
        PublicIdentity.from_wire(_identity_with_rsa(key))


def test_lists_longer_than_a_room_are_refused_before_any_crypto() -> None:
    room = room_of("3des", "rsa", "alice", "bob")
    (out,) = room.sessions["alice"].seal("x").outgoing
    entry = ":" + "ab" * 32 + ":" + "cd" * 16
    most = 2 * DEFAULT_LIMITS.max_members
    long_changes = ",".join(f"+m{i:04d}{entry}" for i in range(most + 1))
    result = room.sessions["bob"].open_message("alice", {**out.body, "changes": long_changes})
    assert reasons(result) == [Reason.MALFORMED] and f"more than {most} entries" in result.events[0].detail  # type: ignore[union-attr]


def test_a_room_holds_at_most_max_members() -> None:
    alice = session_of("alice", "3des", "rsa", max_members=3)
    started = alice.start([arrival(name, fresh_nonce(name)) for name in ("bob", "carol", "dave")])
    assert reasons(started) == [Reason.MALFORMED] and [m.alias for m in alice.members] == ["bob", "carol"]


# --- forged ElGamal signatures ---------------------------------------------------------------------


@pytest.mark.parametrize(("suite", "kex"), [("3des", "elgamal"), ("elgamal", "elgamal")])
def test_a_classic_elgamal_forgery_is_refused_though_v1_would_accept_it(suite: str, kex: str) -> None:
    """Bleichenbacher 1996 in ffdhe2048: r = q = (p - 1)/2 and an even s sign anything, no secret.

    The forger is Bob (a member holds Alice's chain, so the MAC passes) or the relay (a direct
    message is only encryption to Carol's public key); it seals as Alice and signs classically.
    """
    room = room_of(suite, kex)
    public = room.sessions["alice"].identity.public.elgamal
    group = public.group
    size = (group.q.bit_length() + 7) // 8
    forged: list[tuple[bytes, int, int]] = []

    class ClassicForger(families.ElGamalFamily):
        def sign(self, identity: object, data: bytes, *, rng: object = None) -> bytes:  # type: ignore[override]
            r, s = bleichenbacher_1996_half_order_forgery(
                group.p, group.g, signatures.hash_message(group, data)
            )
            forged.append((data, r, s))
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    forger = session_of("alice", suite, kex, nonce=room.nonces["alice"])
    forger.start([arrival("carol", room.nonces["carol"])])
    forger._room.family = ClassicForger()
    chain = room.sessions["bob"].chain_key("alice/1")
    if chain is not None:
        forger._path.chain = SendingChain("alice/1", 1, *chain)  # type: ignore[union-attr]
    (out,) = forger.seal("alice: pay mallory").outgoing
    ((data, r, s),) = forged
    assert r == group.q == (group.p - 1) // 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        signatures.verify(public, data, signatures.Signature(r, s))  # v1's check accepts it
    payload = None if out.payloads is None else out.payloads["carol"]
    assert reasons(room.sessions["carol"].open_message("alice", out.body, payload)) == [Reason.BAD_SIGNATURE]

"""The pure end-to-end layer: round trips for every suite and kex, membership and new chains, held messages.

Tampering and replay are in test_session_tamper.py; chains and forward secrecy in
test_session_chains.py; what a hostile relay tries (replays across joins, views, policy, bounds) in
test_session_hostile_relay.py; independent checks of the bytes (PyCryptodome, cryptography) in
test_session_differential.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat.e2e.sealed import BINARY_FIELDS
from chat.e2e.session import Delivered, Held, KeyDrawn, KeyReceived, Reason, RoomSession, Sent
from ciphers import strict_base64
from tests.chat_support import SUITE_IDS, SUITE_KEX, Room, arrival, fresh_nonce, identity, session_of

TEXTS = ["hello", "", "ünïcødé ✓ and emoji 🎉", "x" * 1000]


def three(suite: str, kex: str, **options: object) -> Room:
    room = Room(suite, kex)
    for name in ("alice", "bob", "carol"):
        room.join(name, **options)
    return room


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_round_trip_to_every_member(suite: str, kex: str) -> None:
    room = three(suite, kex)
    for text in TEXTS:
        room.send("alice", text)
    room.send("bob", "from bob")
    expected_from_alice = [("alice", text) for text in TEXTS]
    assert room.texts("bob") == expected_from_alice
    assert room.texts("carol") == [*expected_from_alice, ("bob", "from bob")]
    assert room.texts("alice") == [("bob", "from bob")]
    for name in ("alice", "bob", "carol"):
        assert room.rejections(name) == []


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_members_who_join_out_of_alphabetical_order_are_read(suite: str, kex: str) -> None:
    # alice's view changes +carol then +bob: the changes are signed in the order the body lists them
    room = Room(suite, kex)
    for name in ("alice", "carol", "bob"):
        room.join(name)
    room.send("alice", "to both")
    room.send("carol", "to both too")
    assert room.texts("bob") == [("alice", "to both"), ("carol", "to both too")]
    assert room.texts("carol") == [("alice", "to both")]
    for name in ("alice", "bob", "carol"):
        assert room.rejections(name) == []


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_ciphertext_does_not_contain_the_text(suite: str, kex: str) -> None:
    room = three(suite, kex)
    secret = "attack at dawn, attack at dawn, attack at dawn"
    result = room.send("alice", secret)
    (out,) = result.outgoing
    flat = repr(out.body) + repr(out.payloads)
    assert secret not in flat and secret.encode().hex() not in flat
    assert [type(e) for e in result.events] == [Sent]


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_delivered_fields(suite: str, kex: str) -> None:
    room = three(suite, kex)
    room.send("alice", "one")
    room.send("alice", "two")
    delivered = [e for e in room.events("bob") if isinstance(e, Delivered)]
    direct = suite in ("rsa", "elgamal")
    # A chain's messages are numbered by its index, from 0; a direct sender's by a counter, from 1.
    first = 1 if direct else 0
    assert [(d.sender, d.content_type, d.counter) for d in delivered] == [
        ("alice", "text", first),
        ("alice", "text", first + 1),
    ]
    assert {d.key_id for d in delivered} == {f"alice/{0 if direct else 1}"}


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_binary_data_with_a_content_type(suite: str, kex: str) -> None:
    room = three(suite, kex)
    data = bytes(range(256)) * 2
    room.route("alice", room.sessions["alice"].seal_data(data, "file/chunk"))
    (got,) = [e for e in room.events("bob") if isinstance(e, Delivered)]
    assert (got.content_type, got.data) == ("file/chunk", data)


def test_limits_and_content_types() -> None:
    session = session_of("alice", "3des", "rsa", "r", max_text=10, max_data=20)
    session.start([])
    with pytest.raises(ValueError, match="limit of 10"):
        session.seal("x" * 11)
    with pytest.raises(ValueError, match="limit of 20"):
        session.seal_data(bytes(21), "blob")
    for bad in ("", "Text", "a b", "x" * 33, "../etc"):
        with pytest.raises(ValueError, match="content type"):
            session.seal_data(b"", bad)
    with pytest.raises(UnicodeDecodeError):
        session.seal_data(b"\xff", "text")
    assert session.seal("x" * 10).outgoing


def test_unknown_suite_or_kex_and_a_nonce_of_the_wrong_size() -> None:
    with pytest.raises(ValueError, match="unknown cipher suite"):
        session_of("alice", "aes", "rsa")
    with pytest.raises(ValueError, match="unknown key exchange"):
        session_of("alice", "3des", "dh")
    with pytest.raises(ValueError, match="a join nonce is 16 bytes, not 8"):
        RoomSession(identity("alice"), "alice", "r", "3des", "rsa", nonce=bytes(8))


# --- membership ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX[:4], ids=SUITE_IDS[:4])
def test_keys_on_join_and_rekey_on_leave(suite: str, kex: str) -> None:
    room = Room(suite, kex)
    alice = room.join("alice")
    assert alice.key_id == "alice/1"
    bob = room.join("bob")
    # Bob started his chain and sent it; Alice handed him hers as it stands, without a new one.
    assert alice.key_id == "alice/1" and bob.key_id == "bob/1"
    assert alice.member("bob").key_id == "bob/1"  # type: ignore[union-attr]
    assert bob.member("alice").key_id == "alice/1"  # type: ignore[union-attr]
    room.join("carol")
    assert alice.key_id == "alice/1"
    room.send("alice", "before")
    leaver = room.leave("carol")
    # Everyone who remains started a new chain and sent it to the others.
    assert alice.key_id == "alice/2" and bob.key_id == "bob/2"
    assert alice.member("bob").key_id == "bob/2"  # type: ignore[union-attr]
    assert bob.member("alice").key_id == "alice/2"  # type: ignore[union-attr]
    received = [e for e in room.events("bob") if isinstance(e, KeyReceived)]
    assert [(e.key_id, e.replaced) for e in received] == [
        ("alice/1", None),
        ("carol/1", None),
        ("alice/2", "alice/1"),
    ]

    # The leaver's old chain cannot open what follows: it holds alice/1, the message is under alice/2.
    result = room.send("alice", "after")
    (out,) = result.outgoing
    opened = leaver.open_message("alice", out.body, None)
    assert [type(e) for e in opened.events] == [Held]
    expired = leaver.expire_held("alice")
    assert [(type(e).__name__, e.reason) for e in expired.events] == [("Rejected", Reason.UNKNOWN_KEY)]  # type: ignore[union-attr]
    assert room.texts("bob")[-1] == ("alice", "after")


def test_chain_events_from_membership_calls() -> None:
    alice = session_of("alice", "3des", "rsa", "r")
    nonces = {name: fresh_nonce(name) for name in ("bob", "carol", "dave")}
    start = alice.start([arrival("bob", nonces["bob"]), arrival("carol", nonces["carol"])])
    assert start.events == (KeyDrawn("alice/1", "start", ("bob", "carol")),)
    (bundle,) = start.outgoing
    assert bundle.kind == "key_bundle" and bundle.key_id == "alice/1"
    assert set(bundle.payloads or {}) == {"bob", "carol"}
    assert bundle.body["idx"] == "0" and bundle.body["why"] == "start"
    alice.seal("one")
    joined = alice.add_member(arrival("dave", nonces["dave"]))
    (to_dave,) = joined.outgoing
    # The newcomer gets the chain where it stands: from index 1 on, after the message it missed.
    assert (to_dave.key_id, set(to_dave.payloads or {}), to_dave.body["idx"]) == ("alice/1", {"dave"}, "1")
    assert joined.events == ()
    assert alice.recipients == ("bob", "carol", "dave")
    left = alice.remove_member("bob")
    assert left.events == (KeyDrawn("alice/2", "leave", ("carol", "dave")),)
    (again,) = left.outgoing
    assert (again.key_id, set(again.payloads or {}), again.body["idx"]) == ("alice/2", {"carol", "dave"}, "0")
    assert alice.remove_member("nobody").events == ()
    to_dave_only = alice.remove_member("carol")
    assert [set(o.payloads or {}) for o in to_dave_only.outgoing] == [{"dave"}]
    alone = alice.remove_member("dave")
    # Alone, Alice still starts a new chain: a later newcomer must not get one the leavers hold.
    assert alice.key_id == "alice/4" and alone.outgoing == ()
    assert alone.events == (KeyDrawn("alice/4", "leave", ()),)


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX[4:], ids=SUITE_IDS[4:])
def test_direct_suites_encrypt_to_the_members_present(suite: str, kex: str) -> None:
    room = three(suite, kex)
    leaver = room.leave("carol")
    result = room.send("alice", "after carol left")
    (out,) = result.outgoing
    assert set(out.payloads or {}) == {"bob"}
    assert room.texts("bob")[-1] == ("alice", "after carol left")
    # Whatever payload the leaver is handed, it is not among the signed recipients.
    opened = leaver.open_message("alice", out.body, (out.payloads or {})["bob"])
    assert [e.reason for e in opened.events] == [Reason.NOT_FOR_US]  # type: ignore[union-attr]
    lonely = session_of("alice", suite, kex, "r")
    lonely.start([])
    alone = lonely.seal("nobody hears")
    assert alone.outgoing == () and alone.events[0].recipients == ()  # type: ignore[union-attr]


# --- held messages ------------------------------------------------------------------------------


def test_message_before_its_key_is_held_then_released() -> None:
    room = three("3des", "rsa")
    alice = room.sessions["alice"]
    # A newcomer gets Alice's message before her bundle (the race on join): it is held, then opened.
    dave = session_of("dave", "3des", "rsa")
    dave.start([arrival(n, room.nonces[n]) for n in ("alice", "bob", "carol")])
    joined = alice.add_member(arrival("dave", dave.nonce))
    sealed = alice.seal("early")
    (message,) = sealed.outgoing
    (bundle,) = joined.outgoing
    held = dave.open_message("alice", message.body)
    assert held.events == (Held("alice", "alice/1"),)
    assert dave.held_count("alice") == 1
    opened = dave.open_bundle("alice", "alice/1", bundle.body, (bundle.payloads or {})["dave"])
    kinds = [type(e) for e in opened.events]
    assert kinds == [KeyReceived, Delivered]
    assert opened.events[1].text == "early"  # type: ignore[union-attr]
    assert dave.held_count() == 0


def test_held_messages_are_bounded() -> None:
    room = three("des", "rsa")
    alice = room.sessions["alice"]
    newcomer = session_of("dave", "des", "rsa", max_held=2)
    newcomer.start([arrival(n, room.nonces[n]) for n in ("alice", "bob", "carol")])
    results = [newcomer.open_message("alice", alice.seal(f"m{i}").outgoing[0].body) for i in range(3)]
    assert [type(e).__name__ for e in results[2].events] == ["Held"]  # the oldest dropped and counted
    assert newcomer.held_count("alice") == 2
    assert len(newcomer.expire_held("alice", "alice/9").events) == 0
    expired = newcomer.expire_held("alice").events
    assert [e.reason for e in expired] == [Reason.UNKNOWN_KEY] * 3  # type: ignore[union-attr]
    assert "1 more under it dropped while waiting" in expired[2].detail  # type: ignore[union-attr]
    assert newcomer.expire_held("alice").events == ()


# --- teaching hooks -----------------------------------------------------------------------------


@pytest.mark.parametrize("suite", ["des", "3des"])
def test_round_trace_matches_the_ciphertext(suite: str) -> None:
    room = three(suite, "rsa")
    result = room.send("alice", "trace me please")
    (record,) = result.trace
    assert record.step == "seal" and record.verified is None
    traces = room.sessions["alice"].round_trace(record)
    assert traces is not None and len(traces) == (1 if suite == "des" else 3)
    assert all(len(t.rounds) == 16 for t in traces)
    assert traces[-1].output.hex() == record.fields["ciphertext"][:16]
    opened = next(r for r in room.results["bob"] if r.events and isinstance(r.events[0], Delivered))
    (open_record,) = opened.trace
    assert open_record.step == "open" and open_record.verified is True
    back = room.sessions["bob"].round_trace(open_record)
    assert back is not None
    first_plain = int(back[-1].output.hex(), 16) ^ int(record.fields["iv"], 16)
    assert first_plain.to_bytes(8, "big") == b"trace me"
    # Only the latest message of a chain keeps its cipher key for this view; a new chain drops it.
    later = room.send("alice", "a later one")
    assert room.sessions["alice"].round_trace(record) is None
    assert room.sessions["alice"].round_trace(later.trace[0]) is not None
    room.leave("carol")
    assert room.sessions["alice"].round_trace(later.trace[0]) is None


def test_trace_records_are_json_ready() -> None:
    room = three("3des", "elgamal")
    result = room.send("alice", "x")
    record = result.trace[0].to_dict()
    assert set(record["fields"]) == {"iv", "ciphertext", "mac", "signature"}  # type: ignore[arg-type]
    assert record["verified"] is None
    bundles = [t for r in room.results["bob"] for t in r.trace if t.step == "unwrap"]
    assert bundles and all(t.to_dict()["verified"] is True for t in bundles)


# --- properties ---------------------------------------------------------------------------------

_ROOMS: dict[str, Room] = {}


def _room(suite: str) -> Room:
    if suite not in _ROOMS:
        _ROOMS[suite] = three(suite, "rsa")
    return _ROOMS[suite]


@settings(max_examples=25)
@given(st.text(max_size=300), st.sampled_from(["3des", "des", "rsa"]))
def test_any_text_round_trips(text: str, suite: str) -> None:
    room = _room(suite)
    before = len(room.texts("carol"))
    room.send("alice", text)
    assert room.texts("carol")[before:] == [("alice", text)]


# --- suites -------------------------------------------------------------------------------------


def test_suite_labels_and_families() -> None:
    from chat.e2e.suites import SUITE_NAMES, suite

    assert [name for name in SUITE_NAMES if suite(name).insecure] == ["des", "rsa", "elgamal"]
    assert (suite("3des").key_size, suite("des").key_size) == (24, 8)
    assert [suite("3des").family(k).name for k in ("rsa", "elgamal")] == ["rsa", "elgamal"]
    assert [suite("rsa").family(k).name for k in ("rsa", "elgamal")] == ["rsa", "rsa"]
    assert [suite("elgamal").family(k).name for k in ("rsa", "elgamal")] == ["elgamal", "elgamal"]
    assert "ElGamal KEM" in suite("des").describe("elgamal") and "RSA-PSS" in suite("3des").describe("rsa")
    assert "insecure" in suite("des").label.lower() and "INSECURE" in suite("elgamal").note


def test_session_uses_the_family_of_the_room() -> None:
    assert session_of("alice", "elgamal", "rsa").family.name == "elgamal"
    assert session_of("alice", "des", "elgamal").family.name == "elgamal"
    assert session_of("alice", "3des", "rsa").family.name == "rsa"


def test_suite_names_match_the_protocol() -> None:
    from chat.e2e.suites import KEXES, SUITES, suite
    from chat.protocol.events import KEX_NAMES, SUITE_NAMES

    assert tuple(SUITES) == SUITE_NAMES and tuple(KEXES) == KEX_NAMES
    # The note a user reads and the flag the interfaces colour by call the same suites insecure.
    assert [s for s in SUITE_NAMES if "INSECURE" in suite(s).note] == [
        s for s in SUITE_NAMES if suite(s).insecure
    ]


# --- formats ------------------------------------------------------------------------------------

TEXT_FIELDS = {"suite", "kex", "kid", "idx", "ctr", "type", "epoch", "changes", "members", "to", "why"}


@pytest.mark.parametrize(("suite", "kex"), SUITE_KEX, ids=SUITE_IDS)
def test_the_binary_fields_are_the_base64_ones_and_only_those(suite: str, kex: str) -> None:
    """What the relay's console is told to decode: each binary field decodes, the rest is text."""
    room = three(suite, kex)
    room.send("alice", "x")
    seen: set[str] = set()
    for delivery in room.log:
        for fields in (delivery.body, delivery.payload or {}):
            seen |= set(fields)
            for name, value in fields.items():
                if name in BINARY_FIELDS:
                    strict_base64.decode(value)
    assert seen - BINARY_FIELDS <= TEXT_FIELDS and seen & BINARY_FIELDS
    assert strict_base64.decode("text") == bytes.fromhex("b5ec6d")  # why "type" must not be decoded

"""Events: every frame type round-trips through JSON, and each malformed frame maps to its error code."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.protocol.errors import ErrorCode, RemoteProtocolError
from chat.protocol.events import (
    CLIENT_FRAMES,
    KEX_NAMES,
    SERVER_FRAMES,
    SUITE_NAMES,
    ChallengeFrame,
    ErrorFrame,
    Frame,
    JoinFrame,
    KeyBundleFrame,
    LeaveFrame,
    LeftFrame,
    Member,
    MemberJoinedFrame,
    MemberLeftFrame,
    MessageFrame,
    PingFrame,
    PongFrame,
    ProveFrame,
    RelayedKeyBundleFrame,
    RelayedMessageFrame,
    ShutdownFrame,
    WelcomeFrame,
    parse_frame,
)
from chat.protocol.framing import decode_payload, encode_frame
from chat.protocol.limits import CHALLENGE_BYTES, JOIN_NONCE_BYTES, Limits
from ciphers import strict_base64

LIMITS = Limits()
NONCE = strict_base64.encode(bytes(range(JOIN_NONCE_BYTES)))

names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}", fullmatch=True)
short = st.text(max_size=40)
str_maps = st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=60), max_size=5)
key_ids = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=20)
payload_maps = st.dictionaries(names, str_maps, min_size=1, max_size=4).filter(
    lambda d: len({k.casefold() for k in d}) == len(d)
)
join_nonces = st.binary(min_size=JOIN_NONCE_BYTES, max_size=JOIN_NONCE_BYTES)
members = st.builds(Member, names, str_maps, st.none() | st.text(max_size=80), nonce=join_nonces)

client_events: st.SearchStrategy[Frame] = st.one_of(
    st.builds(
        JoinFrame,
        names,
        names,
        str_maps,
        st.none() | st.sampled_from(SUITE_NAMES),
        st.none() | st.sampled_from(KEX_NAMES),
        st.none() | st.text(max_size=80),
        st.none() | short,
        nonce=join_nonces,
    ),
    st.builds(ProveFrame, st.binary(min_size=1, max_size=LIMITS.max_signature)),
    st.just(LeaveFrame()),
    st.builds(PingFrame, short),
    st.builds(MessageFrame, str_maps, st.none() | payload_maps),
    st.builds(KeyBundleFrame, key_ids, payload_maps, str_maps),
)


@st.composite
def welcomes(draw: st.DrawFn) -> WelcomeFrame:
    others = draw(st.lists(members, max_size=4, unique_by=lambda m: m.alias.casefold()))
    you = draw(names.filter(lambda n: n.casefold() not in {m.alias.casefold() for m in others}))
    return WelcomeFrame(
        draw(names), draw(st.sampled_from(SUITE_NAMES)), draw(st.sampled_from(KEX_NAMES)), you, tuple(others)
    )


server_events: st.SearchStrategy[Frame] = st.one_of(
    st.builds(ChallengeFrame, st.binary(min_size=CHALLENGE_BYTES, max_size=CHALLENGE_BYTES)),
    welcomes(),
    st.builds(MemberJoinedFrame, members),
    st.builds(MemberLeftFrame, names, short),
    st.builds(LeftFrame, names),
    st.builds(RelayedMessageFrame, names, str_maps, st.none() | str_maps),
    st.builds(RelayedKeyBundleFrame, names, key_ids, str_maps, str_maps),
    st.builds(ErrorFrame, st.sampled_from(list(ErrorCode)), short, st.booleans(), st.none() | short),
    st.builds(ShutdownFrame, short),
    st.builds(PongFrame, short),
)


def through_the_wire(event: Frame, frames: dict[str, type[Frame]]) -> Frame:
    frame = encode_frame(event.to_dict())
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    return parse_frame(decode_payload(frame[4:]), frames, LIMITS)


@given(client_events)
def test_client_events_round_trip(event: Frame) -> None:
    assert through_the_wire(event, CLIENT_FRAMES) == event


@given(server_events)
def test_server_events_round_trip(event: Frame) -> None:
    assert through_the_wire(event, SERVER_FRAMES) == event


def test_a_version_1_frame_is_refused_with_the_version_named() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_frame(join(v=1), CLIENT_FRAMES, LIMITS)
    assert info.value.code is ErrorCode.BAD_VERSION
    assert info.value.message == "protocol version must be 2, got 1"


def test_join_nonce_challenge_and_proof_travel_as_strict_base64() -> None:
    nonce = bytes(range(JOIN_NONCE_BYTES))
    obj = JoinFrame("alice", "lobby", {"rsa": "k"}, nonce=nonce).to_dict()
    assert obj == {
        "type": "join",
        "v": 2,
        "alias": "alice",
        "room": "lobby",
        "identity": {"rsa": "k"},
        "nonce": NONCE,
    }
    assert JoinFrame("alice", "lobby", nonce=nonce).member == Member("alice", {}, nonce=nonce)
    member = Member("bob", {}, "CERT", nonce=nonce).to_dict()
    assert member == {"alias": "bob", "identity": {}, "certificate": "CERT", "nonce": NONCE}
    challenge = ChallengeFrame(b"\xff" * CHALLENGE_BYTES).to_dict()
    assert challenge == {"type": "challenge", "v": 2, "nonce": "/" * 42 + "8="}
    assert ProveFrame(b"\x00\x01\x02").to_dict() == {"type": "prove", "v": 2, "signature": "AAEC"}


def test_relayed_message_carries_from_on_the_wire() -> None:
    obj = RelayedMessageFrame("alice", {"ct": "AAAA"}).to_dict()
    assert obj == {"type": "message", "v": 2, "from": "alice", "body": {"ct": "AAAA"}}


def test_error_frame_on_the_wire() -> None:
    obj = ErrorFrame(ErrorCode.ALIAS_TAKEN, "taken", ref="join").to_dict()
    assert obj == {
        "type": "error",
        "v": 2,
        "code": "alias_taken",
        "message": "taken",
        "fatal": False,
        "ref": "join",
    }


def join(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"type": "join", "v": 2, "alias": "alice", "room": "lobby", "identity": {}}
    base["nonce"] = NONCE
    base.update(fields)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()
BIG = Limits().max_body

CLIENT_REJECTS: list[tuple[str, dict[str, Any], ErrorCode]] = [
    ("no-version", {"type": "ping"}, ErrorCode.BAD_VERSION),
    ("version-1", {"type": "ping", "v": 1}, ErrorCode.BAD_VERSION),
    ("version-3", {"type": "ping", "v": 3}, ErrorCode.BAD_VERSION),
    ("version-true", {"type": "ping", "v": True}, ErrorCode.BAD_VERSION),
    ("version-2.0", {"type": "ping", "v": 2.0}, ErrorCode.BAD_VERSION),
    ("version-str", {"type": "ping", "v": "2"}, ErrorCode.BAD_VERSION),
    ("no-type", {"v": 2}, ErrorCode.BAD_FIELD),
    ("type-not-string", {"type": 3, "v": 2}, ErrorCode.BAD_FIELD),
    ("unknown-type", {"type": "hello", "v": 2}, ErrorCode.UNKNOWN_TYPE),
    ("server-type-from-client", {"type": "welcome", "v": 2}, ErrorCode.UNKNOWN_TYPE),
    ("challenge-from-client", {"type": "challenge", "v": 2, "nonce": NONCE}, ErrorCode.UNKNOWN_TYPE),
    ("extra-field", {"type": "leave", "v": 2, "x": 1}, ErrorCode.BAD_FIELD),
    ("join-no-alias", join(alias=_DROP), ErrorCode.BAD_FIELD),
    ("join-alias-int", join(alias=7), ErrorCode.BAD_ALIAS),
    ("join-alias-bad", join(alias="-x"), ErrorCode.BAD_ALIAS),
    ("join-alias-long", join(alias="a" * 33), ErrorCode.BAD_ALIAS),
    ("join-room-bad", join(room="a b"), ErrorCode.BAD_ROOM),
    ("join-suite", join(suite="aes"), ErrorCode.BAD_SUITE),
    ("join-suite-list", join(suite=["des"]), ErrorCode.BAD_SUITE),
    ("join-kex", join(kex="dh"), ErrorCode.BAD_SUITE),
    ("join-identity-list", join(identity=["k"]), ErrorCode.BAD_FIELD),
    ("join-identity-int", join(identity={"rsa": 5}), ErrorCode.BAD_FIELD),
    ("join-identity-empty-key", join(identity={"": "x"}), ErrorCode.BAD_FIELD),
    ("join-identity-surrogate", join(identity={"rsa": "\ud800"}), ErrorCode.BAD_FIELD),
    ("join-identity-huge", join(identity={"rsa": "x" * 15_000}), ErrorCode.TOO_LARGE),
    (
        "join-identity-many",
        join(identity={str(i): "" for i in range(LIMITS.max_fields + 1)}),
        ErrorCode.TOO_LARGE,
    ),
    ("join-certificate-int", join(certificate=1), ErrorCode.BAD_FIELD),
    ("join-client-long", join(client="c" * 300), ErrorCode.TOO_LARGE),
    ("join-no-nonce", join(nonce=_DROP), ErrorCode.BAD_FIELD),
    ("join-nonce-int", join(nonce=16), ErrorCode.BAD_FIELD),
    ("join-nonce-short", join(nonce=strict_base64.encode(bytes(15))), ErrorCode.BAD_FIELD),
    ("join-nonce-long", join(nonce=strict_base64.encode(bytes(17))), ErrorCode.BAD_FIELD),
    ("join-nonce-huge", join(nonce="A" * 10_000), ErrorCode.BAD_FIELD),
    ("join-nonce-unpadded", join(nonce=NONCE.rstrip("=")), ErrorCode.BAD_FIELD),
    ("join-nonce-urlsafe", join(nonce=NONCE[:-4] + "-_8="), ErrorCode.BAD_FIELD),
    ("join-nonce-noncanonical", join(nonce=NONCE[:-3] + "B=="), ErrorCode.BAD_FIELD),
    ("prove-no-signature", {"type": "prove", "v": 2}, ErrorCode.BAD_FIELD),
    ("prove-empty", {"type": "prove", "v": 2, "signature": ""}, ErrorCode.BAD_FIELD),
    ("prove-not-base64", {"type": "prove", "v": 2, "signature": "sig!"}, ErrorCode.BAD_FIELD),
    (
        "prove-above-rsa-4096",
        {"type": "prove", "v": 2, "signature": strict_base64.encode(bytes(LIMITS.max_signature + 1))},
        ErrorCode.BAD_FIELD,
    ),
    ("prove-extra", {"type": "prove", "v": 2, "signature": "AAAA", "alias": "a"}, ErrorCode.BAD_FIELD),
    ("message-no-body", {"type": "message", "v": 2}, ErrorCode.BAD_FIELD),
    ("message-body-str", {"type": "message", "v": 2, "body": "hi"}, ErrorCode.BAD_FIELD),
    ("message-huge", {"type": "message", "v": 2, "body": {"ct": "A" * BIG}}, ErrorCode.TOO_LARGE),
    ("message-payloads-empty", {"type": "message", "v": 2, "body": {}, "payloads": {}}, ErrorCode.BAD_FIELD),
    (
        "message-payloads-twice",
        {"type": "message", "v": 2, "body": {}, "payloads": {"bob": {}, "BOB": {}}},
        ErrorCode.BAD_FIELD,
    ),
    (
        "message-payload-alias",
        {"type": "message", "v": 2, "body": {}, "payloads": {"b b": {}}},
        ErrorCode.BAD_ALIAS,
    ),
    (
        "message-payload-str",
        {"type": "message", "v": 2, "body": {}, "payloads": {"bob": "x"}},
        ErrorCode.BAD_FIELD,
    ),
    ("bundle-no-payloads", {"type": "key_bundle", "v": 2, "key_id": "k", "body": {}}, ErrorCode.BAD_FIELD),
    (
        "bundle-empty-key-id",
        {"type": "key_bundle", "v": 2, "key_id": "", "body": {}, "payloads": {"bob": {}}},
        ErrorCode.BAD_FIELD,
    ),
    (
        "bundle-key-id-control",
        {"type": "key_bundle", "v": 2, "key_id": "k\n", "body": {}, "payloads": {"bob": {}}},
        ErrorCode.BAD_FIELD,
    ),
    ("ping-data-int", {"type": "ping", "v": 2, "data": 5}, ErrorCode.BAD_FIELD),
]


@pytest.mark.parametrize(
    ("obj", "code"), [(o, c) for _, o, c in CLIENT_REJECTS], ids=[i for i, _, _ in CLIENT_REJECTS]
)
def test_malformed_client_frames_get_their_code(obj: dict[str, Any], code: ErrorCode) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_frame(obj, CLIENT_FRAMES, LIMITS)
    assert info.value.code is code
    assert not info.value.fatal


SERVER_REJECTS: list[tuple[str, dict[str, Any], ErrorCode]] = [
    ("client-type-from-server", {"type": "join", "v": 2}, ErrorCode.UNKNOWN_TYPE),
    ("error-unknown-code", {"type": "error", "v": 2, "code": "oops", "message": ""}, ErrorCode.BAD_FIELD),
    (
        "error-fatal-str",
        {"type": "error", "v": 2, "code": "bad_json", "message": "", "fatal": "y"},
        ErrorCode.BAD_FIELD,
    ),
    (
        "welcome-twice",
        {
            "type": "welcome",
            "v": 2,
            "room": "r",
            "suite": "des",
            "kex": "rsa",
            "you": "a",
            "members": [
                {"alias": "b", "identity": {}, "nonce": NONCE},
                {"alias": "B", "identity": {}, "nonce": NONCE},
            ],
        },
        ErrorCode.BAD_FIELD,
    ),
    (
        "welcome-you-listed",
        {
            "type": "welcome",
            "v": 2,
            "room": "r",
            "suite": "des",
            "kex": "rsa",
            "you": "a",
            "members": [{"alias": "A", "identity": {}, "nonce": NONCE}],
        },
        ErrorCode.BAD_FIELD,
    ),
    ("message-from-bad", {"type": "message", "v": 2, "from": "x y", "body": {}}, ErrorCode.BAD_ALIAS),
    ("message-no-from", {"type": "message", "v": 2, "body": {}}, ErrorCode.BAD_FIELD),
    ("member-not-object", {"type": "member_joined", "v": 2, "member": "alice"}, ErrorCode.BAD_FIELD),
    (
        "member-extra",
        {
            "type": "member_joined",
            "v": 2,
            "member": {"alias": "a", "identity": {}, "nonce": NONCE, "key": "x"},
        },
        ErrorCode.BAD_FIELD,
    ),
    (
        "member-no-nonce",
        {"type": "member_joined", "v": 2, "member": {"alias": "a", "identity": {}}},
        ErrorCode.BAD_FIELD,
    ),
    (
        "member-nonce-short",
        {"type": "member_joined", "v": 2, "member": {"alias": "a", "identity": {}, "nonce": "AAAA"}},
        ErrorCode.BAD_FIELD,
    ),
    (
        "welcome-member-no-nonce",
        {
            "type": "welcome",
            "v": 2,
            "room": "r",
            "suite": "des",
            "kex": "rsa",
            "you": "a",
            "members": [{"alias": "b", "identity": {}}],
        },
        ErrorCode.BAD_FIELD,
    ),
    ("challenge-no-nonce", {"type": "challenge", "v": 2}, ErrorCode.BAD_FIELD),
    ("challenge-short", {"type": "challenge", "v": 2, "nonce": NONCE}, ErrorCode.BAD_FIELD),
    (
        "challenge-long",
        {"type": "challenge", "v": 2, "nonce": strict_base64.encode(bytes(CHALLENGE_BYTES + 1))},
        ErrorCode.BAD_FIELD,
    ),
    ("prove-from-server", {"type": "prove", "v": 2, "signature": "AAAA"}, ErrorCode.UNKNOWN_TYPE),
]


@pytest.mark.parametrize(
    ("obj", "code"), [(o, c) for _, o, c in SERVER_REJECTS], ids=[i for i, _, _ in SERVER_REJECTS]
)
def test_malformed_server_frames_get_their_code(obj: dict[str, Any], code: ErrorCode) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_frame(obj, SERVER_FRAMES, LIMITS)
    assert info.value.code is code


def test_limits_refuse_a_room_whose_welcome_cannot_fit() -> None:
    with pytest.raises(ValueError):
        Limits(max_members=1000)


def test_limits_for_large_rooms_shrink_the_member_entry_to_fit() -> None:
    limits = Limits.for_members(1000)
    assert limits.max_members == 1000
    assert limits.max_member < Limits().max_member
    assert limits.max_members * (limits.max_member + 1) < limits.max_server_frame
    assert limits.max_fields > limits.max_members  # a map may name every member
    with pytest.raises(ValueError):
        Limits.for_members(10_000)

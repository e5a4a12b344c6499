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
    RelayedKeyBundleFrame,
    RelayedMessageFrame,
    ShutdownFrame,
    WelcomeFrame,
    parse_frame,
)
from chat.protocol.framing import decode_payload, encode_frame
from chat.protocol.limits import Limits

LIMITS = Limits()

names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}", fullmatch=True)
short = st.text(max_size=40)
str_maps = st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=60), max_size=5)
key_ids = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=20)
payload_maps = st.dictionaries(names, str_maps, min_size=1, max_size=4).filter(
    lambda d: len({k.casefold() for k in d}) == len(d)
)
members = st.builds(Member, names, str_maps, st.none() | st.text(max_size=80))

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
    ),
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


def test_relayed_message_carries_from_on_the_wire() -> None:
    obj = RelayedMessageFrame("alice", {"ct": "AAAA"}).to_dict()
    assert obj == {"type": "message", "v": 1, "from": "alice", "body": {"ct": "AAAA"}}


def test_error_frame_on_the_wire() -> None:
    obj = ErrorFrame(ErrorCode.ALIAS_TAKEN, "taken", ref="join").to_dict()
    assert obj == {
        "type": "error",
        "v": 1,
        "code": "alias_taken",
        "message": "taken",
        "fatal": False,
        "ref": "join",
    }


def join(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"type": "join", "v": 1, "alias": "alice", "room": "lobby", "identity": {}}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()
BIG = Limits().max_body

CLIENT_REJECTS: list[tuple[str, dict[str, Any], ErrorCode]] = [
    ("no-version", {"type": "ping"}, ErrorCode.BAD_VERSION),
    ("version-2", {"type": "ping", "v": 2}, ErrorCode.BAD_VERSION),
    ("version-true", {"type": "ping", "v": True}, ErrorCode.BAD_VERSION),
    ("version-1.0", {"type": "ping", "v": 1.0}, ErrorCode.BAD_VERSION),
    ("no-type", {"v": 1}, ErrorCode.BAD_FIELD),
    ("type-not-string", {"type": 3, "v": 1}, ErrorCode.BAD_FIELD),
    ("unknown-type", {"type": "hello", "v": 1}, ErrorCode.UNKNOWN_TYPE),
    ("server-type-from-client", {"type": "welcome", "v": 1}, ErrorCode.UNKNOWN_TYPE),
    ("extra-field", {"type": "leave", "v": 1, "x": 1}, ErrorCode.BAD_FIELD),
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
    ("message-no-body", {"type": "message", "v": 1}, ErrorCode.BAD_FIELD),
    ("message-body-str", {"type": "message", "v": 1, "body": "hi"}, ErrorCode.BAD_FIELD),
    ("message-huge", {"type": "message", "v": 1, "body": {"ct": "A" * BIG}}, ErrorCode.TOO_LARGE),
    ("message-payloads-empty", {"type": "message", "v": 1, "body": {}, "payloads": {}}, ErrorCode.BAD_FIELD),
    (
        "message-payloads-twice",
        {"type": "message", "v": 1, "body": {}, "payloads": {"bob": {}, "BOB": {}}},
        ErrorCode.BAD_FIELD,
    ),
    (
        "message-payload-alias",
        {"type": "message", "v": 1, "body": {}, "payloads": {"b b": {}}},
        ErrorCode.BAD_ALIAS,
    ),
    (
        "message-payload-str",
        {"type": "message", "v": 1, "body": {}, "payloads": {"bob": "x"}},
        ErrorCode.BAD_FIELD,
    ),
    ("bundle-no-payloads", {"type": "key_bundle", "v": 1, "key_id": "k", "body": {}}, ErrorCode.BAD_FIELD),
    (
        "bundle-empty-key-id",
        {"type": "key_bundle", "v": 1, "key_id": "", "body": {}, "payloads": {"bob": {}}},
        ErrorCode.BAD_FIELD,
    ),
    (
        "bundle-key-id-control",
        {"type": "key_bundle", "v": 1, "key_id": "k\n", "body": {}, "payloads": {"bob": {}}},
        ErrorCode.BAD_FIELD,
    ),
    ("ping-data-int", {"type": "ping", "v": 1, "data": 5}, ErrorCode.BAD_FIELD),
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
    ("client-type-from-server", {"type": "join", "v": 1}, ErrorCode.UNKNOWN_TYPE),
    ("error-unknown-code", {"type": "error", "v": 1, "code": "oops", "message": ""}, ErrorCode.BAD_FIELD),
    (
        "error-fatal-str",
        {"type": "error", "v": 1, "code": "bad_json", "message": "", "fatal": "y"},
        ErrorCode.BAD_FIELD,
    ),
    (
        "welcome-twice",
        {
            "type": "welcome",
            "v": 1,
            "room": "r",
            "suite": "des",
            "kex": "rsa",
            "you": "a",
            "members": [{"alias": "b", "identity": {}}, {"alias": "B", "identity": {}}],
        },
        ErrorCode.BAD_FIELD,
    ),
    (
        "welcome-you-listed",
        {
            "type": "welcome",
            "v": 1,
            "room": "r",
            "suite": "des",
            "kex": "rsa",
            "you": "a",
            "members": [{"alias": "A", "identity": {}}],
        },
        ErrorCode.BAD_FIELD,
    ),
    ("message-from-bad", {"type": "message", "v": 1, "from": "x y", "body": {}}, ErrorCode.BAD_ALIAS),
    ("message-no-from", {"type": "message", "v": 1, "body": {}}, ErrorCode.BAD_FIELD),
    ("member-not-object", {"type": "member_joined", "v": 1, "member": "alice"}, ErrorCode.BAD_FIELD),
    (
        "member-extra",
        {"type": "member_joined", "v": 1, "member": {"alias": "a", "identity": {}, "key": "x"}},
        ErrorCode.BAD_FIELD,
    ),
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

"""Connections without sockets: a client and a server linked in memory.

The state table is covered pair by pair; hypothesis cuts the byte stream anywhere and feeds
garbage, and the result is always the same events or a clean RemoteProtocolError.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.protocol.connection import Connection
from chat.protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from chat.protocol.events import (
    CLIENT_FRAMES,
    SERVER_FRAMES,
    ChallengeFrame,
    ConnectionClosed,
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
)
from chat.protocol.framing import encode_frame
from chat.protocol.limits import Limits
from chat.protocol.state import CLIENT_SENDS, REJECTIONS, SERVER_SENDS, Role, State
from tests.test_protocol_events import join_nonces, key_ids, names, payload_maps, short, str_maps

NONCE = bytes(16)
CLIENT_SAMPLES: dict[str, Frame] = {
    "join": JoinFrame("alice", "lobby", {"rsa": "AAAA"}, suite="des", nonce=NONCE),
    "prove": ProveFrame(b"signature"),
    "leave": LeaveFrame(),
    "message": MessageFrame({"ct": "AAAA"}),
    "key_bundle": KeyBundleFrame("alice/1", {"bob": {"wrapped": "AAAA"}}),
    "ping": PingFrame("p1"),
}
SERVER_SAMPLES: dict[str, Frame] = {
    "challenge": ChallengeFrame(bytes(range(32))),
    "welcome": WelcomeFrame("lobby", "des", "rsa", "alice", (Member("bob", {"rsa": "BBBB"}, nonce=NONCE),)),
    "member_joined": MemberJoinedFrame(Member("carol", {}, nonce=NONCE)),
    "member_left": MemberLeftFrame("bob", "left"),
    "left": LeftFrame("lobby"),
    "message": RelayedMessageFrame("bob", {"ct": "AAAA"}),
    "key_bundle": RelayedKeyBundleFrame("bob", "bob/1", {"wrapped": "AAAA"}),
    "error": ErrorFrame(ErrorCode.BAD_JSON, "frame is not valid JSON"),
    "shutdown": ShutdownFrame("bye"),
    "pong": PongFrame("p1"),
}


def deliver(data: bytes, to: Connection) -> list[Frame]:
    """Feed ``data`` to ``to`` and collect its events (bounded)."""
    to.receive_data(data)
    events = []
    for _ in range(10_000):
        event = to.next_event()
        if event is None:
            return events
        events.append(event)
    raise AssertionError("too many events")


def exchange(sender: Connection, receiver: Connection, event: Frame) -> Frame:
    (received,) = deliver(sender.send(event), receiver)
    return received


def pair_in(state: State, limits: Limits | None = None) -> tuple[Connection, Connection]:
    """A client and a server, linked, both in ``state``."""
    limits = limits or Limits()
    client, server = Connection(Role.CLIENT, limits), Connection(Role.SERVER, limits)
    if state is State.CLOSED:
        exchange(server, client, ShutdownFrame())
        assert server.state is client.state is State.CLOSED
        return client, server
    script: list[tuple[Connection, Connection, Frame]] = [
        (client, server, CLIENT_SAMPLES["join"]),
        (server, client, SERVER_SAMPLES["challenge"]),
        (client, server, CLIENT_SAMPLES["prove"]),
        (server, client, SERVER_SAMPLES["welcome"]),
        (client, server, CLIENT_SAMPLES["leave"]),
    ]
    steps = {State.IDLE: 0, State.JOINING: 1, State.PROVING: 2, State.IN_ROOM: 4, State.LEAVING: 5}[state]
    for sender, receiver, event in script[:steps]:
        exchange(sender, receiver, event)
    assert client.state is server.state is state
    return client, server


@pytest.mark.parametrize("kind", list(CLIENT_FRAMES))
@pytest.mark.parametrize("state", list(State))
def test_client_frames_follow_the_table(state: State, kind: str) -> None:
    client, server = pair_in(state)
    event = CLIENT_SAMPLES[kind]
    expected = CLIENT_SENDS.get((state, kind))
    if expected is not None:
        assert exchange(client, server, event) == event
        assert client.state is server.state is expected
        return
    with pytest.raises(LocalProtocolError) as local:
        client.send(event)
    code = REJECTIONS.get((state, kind), ErrorCode.BAD_STATE)
    assert local.value.code is code
    with pytest.raises(RemoteProtocolError) as remote:
        deliver(encode_frame(event.to_dict()), server)
    assert remote.value.code is code
    assert not remote.value.fatal
    assert remote.value.ref == kind
    assert client.state is server.state is state


@pytest.mark.parametrize("kind", list(SERVER_FRAMES))
@pytest.mark.parametrize("state", list(State))
def test_server_frames_follow_the_table(state: State, kind: str) -> None:
    client, server = pair_in(state)
    event = SERVER_SAMPLES[kind]
    expected = SERVER_SENDS.get((state, kind))
    if expected is not None:
        assert exchange(server, client, event) == event
        assert client.state is server.state is expected
        return
    with pytest.raises(LocalProtocolError) as local:
        server.send(event)
    assert local.value.code is ErrorCode.BAD_STATE
    with pytest.raises(RemoteProtocolError) as remote:
        deliver(encode_frame(event.to_dict()), client)
    assert remote.value.code is ErrorCode.BAD_STATE
    assert client.state is server.state is state


def test_a_join_is_challenged_then_proved_then_welcomed() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    exchange(client, server, CLIENT_SAMPLES["join"])
    assert client.state is server.state is State.JOINING
    exchange(server, client, SERVER_SAMPLES["challenge"])
    assert client.state is server.state is State.PROVING
    exchange(client, server, CLIENT_SAMPLES["prove"])
    assert client.state is server.state is State.PROVING
    exchange(server, client, SERVER_SAMPLES["welcome"])
    assert client.state is server.state is State.IN_ROOM


def test_no_welcome_without_a_challenge() -> None:
    client, server = pair_in(State.JOINING)
    with pytest.raises(LocalProtocolError):
        server.send(SERVER_SAMPLES["welcome"])
    with pytest.raises(RemoteProtocolError) as remote:
        deliver(encode_frame(SERVER_SAMPLES["welcome"].to_dict()), client)
    assert remote.value.code is ErrorCode.BAD_STATE
    assert client.state is State.JOINING


@pytest.mark.parametrize("state", [State.JOINING, State.PROVING])
def test_a_refused_join_returns_to_idle_and_may_be_retried(state: State) -> None:
    client, server = pair_in(state)
    exchange(server, client, ErrorFrame(ErrorCode.UNAUTHORIZED, "no proof", ref="join"))
    assert client.state is server.state is State.IDLE
    with pytest.raises(LocalProtocolError) as late:
        client.send(ProveFrame(b"late"))
    assert late.value.code is ErrorCode.BAD_STATE
    exchange(client, server, JoinFrame("alice2", "lobby", nonce=NONCE))
    assert client.state is State.JOINING


def test_leave_then_join_another_room() -> None:
    client, server = pair_in(State.LEAVING)
    exchange(server, client, SERVER_SAMPLES["message"])  # relayed before the server read the leave
    exchange(server, client, LeftFrame("lobby"))
    assert client.state is State.IDLE
    again = JoinFrame("alice", "other", nonce=NONCE)
    assert exchange(client, server, again) == again


def test_neither_side_sends_the_others_frames() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    with pytest.raises(LocalProtocolError) as info:
        client.send(PongFrame())
    assert info.value.code is ErrorCode.UNKNOWN_TYPE
    with pytest.raises(LocalProtocolError):
        server.send(PingFrame())


def test_send_checks_fields_before_anything_is_sent() -> None:
    client = Connection(Role.CLIENT)
    with pytest.raises(LocalProtocolError) as info:
        client.send(JoinFrame("bad alias", "lobby", nonce=NONCE))
    assert info.value.code is ErrorCode.BAD_ALIAS
    assert client.state is State.IDLE


def test_client_frames_leave_room_for_the_relay() -> None:
    limits = Limits(max_frame=64 * 1024, max_body=62 * 1024, max_members=4, max_member=8 * 1024)
    client, server = pair_in(State.IN_ROOM, limits)
    room_left = limits.max_client_frame - len(encode_frame(MessageFrame({"ct": ""}).to_dict())) + 4
    with pytest.raises(LocalProtocolError) as info:
        client.send(MessageFrame({"ct": "A" * (room_left + 1)}))
    assert info.value.code is ErrorCode.TOO_LARGE
    assert len(client.send(MessageFrame({"ct": "A" * room_left}))) == limits.max_client_frame + 4
    # A frame above the client limit but within the frame limit is refused without losing step.
    big = encode_frame(MessageFrame({"ct": "A" * (room_left + 100)}).to_dict())
    with pytest.raises(RemoteProtocolError) as remote:
        deliver(big, server)
    assert remote.value.code is ErrorCode.TOO_LARGE and not remote.value.fatal
    assert deliver(client.send(PingFrame("after")), server) == [PingFrame("after")]


def test_send_with_a_prepared_frame_still_checks_the_state() -> None:
    server = Connection(Role.SERVER)
    event = RelayedMessageFrame("bob", {"ct": "AAAA"})
    with pytest.raises(LocalProtocolError):
        server.send(event, encoded=b"anything")
    client, server = pair_in(State.IN_ROOM)
    frame = encode_frame(event.to_dict())
    assert deliver(server.send(event, encoded=frame), client) == [event]


def test_end_of_stream_at_a_boundary_is_reported_once() -> None:
    _client, server = pair_in(State.IN_ROOM)
    server.receive_data(b"")
    assert server.next_event() == ConnectionClosed()
    assert server.state is State.CLOSED
    assert server.next_event() is None
    with pytest.raises(LocalProtocolError):
        server.receive_data(b"more")


def test_end_of_stream_mid_frame_is_fatal() -> None:
    server = Connection(Role.SERVER)
    frame = encode_frame(PingFrame("x").to_dict())
    server.receive_data(frame[:-3])
    assert server.next_event() is None
    server.receive_data(b"")
    for _ in range(2):
        with pytest.raises(RemoteProtocolError) as info:
            server.next_event()
        assert info.value.code is ErrorCode.BAD_FRAME and info.value.fatal


def test_a_bad_frame_does_not_lose_step() -> None:
    server = Connection(Role.SERVER)
    stream = (
        b"\x00\x00\x00\x05hello"
        + encode_frame({"type": "nope", "v": 2})
        + encode_frame(PingFrame("ok").to_dict())
    )
    server.receive_data(stream)
    codes = []
    for _ in range(2):
        with pytest.raises(RemoteProtocolError) as info:
            server.next_event()
        codes.append(info.value.code)
    assert codes == [ErrorCode.BAD_JSON, ErrorCode.UNKNOWN_TYPE]
    assert server.next_event() == PingFrame("ok")


def test_a_length_above_the_limit_is_fatal_and_stays_so() -> None:
    server = Connection(Role.SERVER, Limits())
    server.receive_data((Limits().max_frame + 1).to_bytes(4, "big") + encode_frame(PingFrame().to_dict()))
    for _ in range(2):
        with pytest.raises(RemoteProtocolError) as info:
            server.next_event()
        assert info.value.code is ErrorCode.TOO_LARGE and info.value.fatal


# --- hypothesis: any split, any garbage ---------------------------------------------------------

client_in_room = st.one_of(
    st.builds(MessageFrame, str_maps, st.none() | payload_maps),
    st.builds(KeyBundleFrame, key_ids, payload_maps, str_maps),
    st.builds(PingFrame, short),
)
server_in_room = st.one_of(
    st.builds(MemberJoinedFrame, st.builds(Member, names, str_maps, nonce=join_nonces)),
    st.builds(MemberLeftFrame, names, short),
    st.builds(RelayedMessageFrame, names, str_maps, st.none() | str_maps),
    st.builds(RelayedKeyBundleFrame, names, key_ids, str_maps, str_maps),
    st.builds(ErrorFrame, st.sampled_from(list(ErrorCode)), short),
    st.builds(PongFrame, short),
)
cuts = st.lists(st.integers(min_value=0, max_value=20_000), max_size=25)


def split(stream: bytes, points: list[int]) -> list[bytes]:
    """``stream`` cut at ``points`` (no empty piece: ``b""`` means the end of the connection)."""
    marks = sorted({min(p, len(stream)) for p in points} | {0, len(stream)})
    return [stream[a:b] for a, b in itertools.pairwise(marks)]


def receive_all(conn: Connection, chunks: list[bytes]) -> list[Frame]:
    events: list[Frame] = []
    for chunk in chunks:
        events += deliver(chunk, conn)
    return events


@given(st.lists(client_in_room, max_size=8), st.lists(server_in_room, max_size=8), cuts, cuts)
def test_same_events_whatever_the_split(
    up: list[Frame], down: list[Frame], up_cuts: list[int], down_cuts: list[int]
) -> None:
    client, server = pair_in(State.IN_ROOM)
    up_stream = b"".join(client.send(e) for e in up)
    down_stream = b"".join(server.send(e) for e in down)
    assert receive_all(server, split(up_stream, up_cuts)) == up
    assert receive_all(client, split(down_stream, down_cuts)) == down
    assert client.state is server.state is State.IN_ROOM


def drain_garbage(conn: Connection, chunks: list[bytes]) -> None:
    """Feed chunks; every outcome must be an event, None, or a RemoteProtocolError."""
    fatal: RemoteProtocolError | None = None
    for chunk in [*chunks, b""]:
        conn.receive_data(chunk)
        for _ in range(1_000):
            try:
                event = conn.next_event()
            except RemoteProtocolError as exc:
                if exc.fatal:
                    fatal = exc
                    break
                continue
            if event is None:
                break
            assert isinstance(event, Frame)
        if fatal is not None:
            with pytest.raises(RemoteProtocolError) as again:
                conn.next_event()
            again_raised = (again.value.code, again.value.message, again.value.fatal)
            assert again_raised == (fatal.code, fatal.message, True)
            return


@given(st.lists(st.binary(min_size=1, max_size=64), max_size=12), st.sampled_from([Role.CLIENT, Role.SERVER]))
def test_random_bytes_give_events_or_clean_errors(chunks: list[bytes], role: Role) -> None:
    drain_garbage(Connection(role, Limits()), chunks)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
FIELD_NAMES = [
    "alias",
    "room",
    "identity",
    "suite",
    "kex",
    "certificate",
    "client",
    "nonce",
    "signature",
    "body",
    "payloads",
    "payload",
]
FIELD_NAMES += [
    "key_id",
    "data",
    "from",
    "you",
    "members",
    "member",
    "reason",
    "code",
    "message",
    "fatal",
    "ref",
]
validish_frames = st.fixed_dictionaries(
    {
        "type": st.sampled_from([*CLIENT_FRAMES, *SERVER_FRAMES, "hello", ""]),
        "v": st.sampled_from([2, 2, 2, 1, "2", None]),
    },
    optional={name: json_values for name in FIELD_NAMES},
)


@given(st.lists(validish_frames, max_size=10), st.sampled_from([Role.CLIENT, Role.SERVER]), cuts)
def test_valid_looking_frames_give_events_or_clean_errors(
    frames: list[dict[str, Any]], role: Role, points: list[int]
) -> None:
    stream = b"".join(len(p).to_bytes(4, "big") + p for p in (json.dumps(f).encode() for f in frames))
    drain_garbage(Connection(role, Limits()), split(stream, points))


def test_the_payload_observer_sees_each_received_frame_as_it_crossed_the_wire() -> None:
    seen: list[tuple[bytes, dict[str, Any] | None]] = []
    client = Connection(Role.CLIENT, on_payload=lambda payload, obj: seen.append((payload, obj)))
    client.send(JoinFrame("alice", "lobby", {"rsa": "key"}, nonce=NONCE))
    client.receive_data(encode_frame(ChallengeFrame(bytes(32)).to_dict()))
    assert isinstance(client.next_event(), ChallengeFrame)
    seen.clear()
    welcome = encode_frame({"type": "welcome", "v": 2, "room": "lobby", "suite": "3des", "kex": "rsa",
                            "you": "alice", "members": []})  # fmt: skip
    garbage = b"\x00\x00\x00\x03{x}"
    for chunk in (welcome[:5], welcome[5:] + garbage):
        client.receive_data(chunk)
    assert isinstance(client.next_event(), WelcomeFrame)
    with pytest.raises(RemoteProtocolError):
        client.next_event()
    assert [payload for payload, _ in seen] == [welcome[4:], b"{x}"]
    assert seen[0][1] is not None and seen[0][1]["type"] == "welcome"
    assert seen[1][1] is None  # not JSON: observed all the same, then refused

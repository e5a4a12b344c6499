"""The protocol's limits at a lecture hall's size, with the real end-to-end code: in a room of 500
every frame the clients and the relay build fits its limits and parses at the other end (the
welcome, a key bundle to everyone, a direct message, a file chunk).

One identity stands in for the 499 others (key generation is the slow part, and sizes are what
count); the crypto is the session's own. Sizes measured here are quoted in docs/scaling.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from chat.e2e import certificates
from chat.e2e.identity import Identity
from chat.e2e.session import Arrival, Delivered, KeyReceived, Outgoing, RoomSession, ViewDiffers
from chat.e2e.suites import kex
from chat.protocol.connection import Connection
from chat.protocol.events import (
    ChallengeFrame,
    JoinFrame,
    KeyBundleFrame,
    Member,
    MessageFrame,
    ProveFrame,
    RelayedKeyBundleFrame,
    RelayedMessageFrame,
    WelcomeFrame,
)
from chat.protocol.framing import encode_json
from chat.protocol.limits import DEFAULT_LIMITS, FRAME_OVERHEAD, KiB, Limits, MiB
from chat.protocol.state import Role
from chat.relay.fanout import SharedPrefix
from chat.transfer.chunks import HYBRID_CHUNK, chunk_size_for
from chat.transfer.format import CHUNK
from ciphers.rsa.keys import generate

HALL = DEFAULT_LIMITS.max_members
OTHERS = [f"student{i:03d}" for i in range(HALL - 1)]


def nonce(alias: str) -> bytes:
    """Each member's join nonce in this room: 16 bytes of its own."""
    return hashlib.sha256(f"join nonce of {alias}".encode()).digest()[:16]


@pytest.fixture(scope="module")
def people() -> Iterator[tuple[Identity, Identity]]:
    """The teacher (who sends) and one identity worn by every student."""
    yield Identity.generate(), Identity.generate()


def in_room(alias: str, members: tuple[Member, ...] = ()) -> tuple[Connection, Connection, bytes]:
    """A client and the relay's end of its connection, joined to ``hall``; and the welcome's bytes."""
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    server.receive_data(client.send(JoinFrame(alias, "hall", {"rsa": "x"}, nonce=nonce(alias))))
    assert isinstance(server.next_event(), JoinFrame)
    client.receive_data(server.send(ChallengeFrame(bytes(32))))
    assert isinstance(client.next_event(), ChallengeFrame)
    server.receive_data(client.send(ProveFrame(b"proof")))
    assert isinstance(server.next_event(), ProveFrame)
    welcome = server.send(WelcomeFrame("hall", "3des", "rsa", alias, members))
    client.receive_data(welcome)
    event = client.next_event()
    assert isinstance(event, WelcomeFrame) and len(event.members) == len(members)
    return client, server, welcome


def relay_to_one(server: Connection, frame: KeyBundleFrame | MessageFrame, sender: str) -> bytes:
    """What the relay hands the first recipient of ``frame``: the fan-out's shared encoding."""
    assert frame.payloads is not None
    payload = next(iter(frame.payloads.values()))
    common = (
        RelayedKeyBundleFrame(sender, frame.key_id, {}, frame.body)
        if isinstance(frame, KeyBundleFrame)
        else RelayedMessageFrame(sender, frame.body)
    )
    pieces, _ = SharedPrefix(common, DEFAULT_LIMITS.max_frame).frame(payload)
    return b"".join(pieces)


def test_the_default_limits_are_sized_for_a_lecture_hall() -> None:
    limits = DEFAULT_LIMITS
    assert limits.max_members >= 500
    assert limits.max_fields > limits.max_members  # a map may hold an entry per member
    assert limits.max_welcome <= limits.max_server_frame  # a full room of entries at their limit
    assert limits.max_client_frame == 1 * MiB - FRAME_OVERHEAD  # what clients may send is unchanged
    assert limits.max_member == 14 * KiB  # and so is a member's entry
    with pytest.raises(ValueError, match="welcome"):
        Limits(max_members=600)  # 600 entries of 14 KiB: past the server's frame


def test_a_welcome_listing_a_full_room_fits_one_frame(people: tuple[Identity, Identity]) -> None:
    _, student = people
    ca = generate(2048)
    certificate = certificates.issue(ca, "student000", student.public).encode()
    entry = Member("student000", student.public.to_wire(), certificate, nonce=nonce("student000"))
    others = tuple(Member(alias, entry.identity, certificate, nonce=nonce(alias)) for alias in OTHERS)
    _, _, welcome = in_room("teacher", others)
    assert len(welcome) > DEFAULT_LIMITS.max_frame  # why the server's frames may be larger: 1.5 MB here
    # and at the entry limit: every member's identity padded to 14 KiB
    empty = Member("student000", {"p": ""}, nonce=nonce("student000"))
    padding = DEFAULT_LIMITS.max_member - len(encode_json(empty.to_dict()))
    padded = tuple(Member(alias, {"p": "A" * padding}, nonce=nonce(alias)) for alias in OTHERS)
    _, _, welcome = in_room("teacher", padded)
    assert DEFAULT_LIMITS.max_frame < len(welcome) <= DEFAULT_LIMITS.max_server_frame


def test_a_key_bundle_to_a_full_room_fits_and_opens(people: tuple[Identity, Identity]) -> None:
    teacher, student = people
    session = RoomSession(teacher, "teacher", "hall", "3des", "rsa", nonce=nonce("teacher"))
    result = session.start([Arrival(alias, student.public.to_wire(), nonce(alias)) for alias in OTHERS])
    (out,) = result.outgoing
    assert out.kind == "key_bundle" and out.payloads is not None and out.key_id is not None
    assert len(out.payloads) == HALL - 1
    client, server, _ = in_room("teacher")
    sent = client.send(KeyBundleFrame(out.key_id, out.payloads, out.body))  # within every client limit
    assert len(sent) < DEFAULT_LIMITS.max_client_frame
    server.receive_data(sent)
    bundle = server.next_event()
    assert isinstance(bundle, KeyBundleFrame) and len(bundle.payloads) == HALL - 1
    relayed = relay_to_one(server, bundle, "teacher")
    receiver_end, _, _ = in_room(
        "student000", (Member("teacher", teacher.public.to_wire(), nonce=nonce("teacher")),)
    )
    receiver_end.receive_data(relayed)
    got = receiver_end.next_event()
    assert isinstance(got, RelayedKeyBundleFrame)
    # each recipient gets the manifest of all 499 (39 KB with these aliases, 49 KB with 32-character
    # ones): a rekey costs the room n² manifest entries
    assert 30_000 < len(relayed) < DEFAULT_LIMITS.max_frame
    receiver = RoomSession(student, "student000", "hall", "3des", "rsa", nonce=nonce("student000"))
    receiver.start([Arrival("teacher", teacher.public.to_wire(), nonce("teacher"))])
    opened = receiver.open_bundle(got.sender, got.key_id, got.body, got.payload)
    # this receiver was told of the teacher only, so the teacher's signed view names 498 it does not see
    assert [type(e) for e in opened.events] == [KeyReceived, ViewDiffers]


def sealed_to_all(session: RoomSession, data: bytes, content_type: str) -> Outgoing:
    (out,) = session.seal_data(data, content_type).outgoing
    return out


def test_a_direct_message_and_a_file_chunk_to_a_full_room_fit(people: tuple[Identity, Identity]) -> None:
    teacher, student = people
    session = RoomSession(teacher, "teacher", "hall", "rsa", "rsa", nonce=nonce("teacher"))
    session.start([Arrival(alias, student.public.to_wire(), nonce(alias)) for alias in OTHERS])
    client, server, _ = in_room("teacher")
    chunk = chunk_size_for(False, HALL - 1, DEFAULT_LIMITS.max_body, [kex("rsa").block_sizes(student.public)])
    assert chunk > 0
    for data, content_type in ((b"a question from the back row", "text"), (b"x" * chunk, CHUNK)):
        out = sealed_to_all(session, data, content_type)
        assert out.payloads is not None and len(out.payloads) == HALL - 1
        server.receive_data(client.send(MessageFrame(out.body, out.payloads)))
        message = server.next_event()
        assert isinstance(message, MessageFrame)
        receiver_end, _, _ = in_room(
            "student000", (Member("teacher", teacher.public.to_wire(), nonce=nonce("teacher")),)
        )
        receiver_end.receive_data(relay_to_one(server, message, "teacher"))
        got = receiver_end.next_event()
        assert isinstance(got, RelayedMessageFrame)
        receiver = RoomSession(student, "student000", "hall", "rsa", "rsa", nonce=nonce("student000"))
        receiver.start([Arrival("teacher", teacher.public.to_wire(), nonce("teacher"))])
        events = receiver.open_message(got.sender, got.body, got.payload).events
        delivered = [e for e in events if isinstance(e, Delivered)]
        assert [e.data for e in delivered] == [data]
    # the hybrid suites' chunks do not depend on the room; ElGamal's direct blocks still fit 499
    assert chunk_size_for(True, HALL - 1, DEFAULT_LIMITS.max_body) == HYBRID_CHUNK
    assert (
        chunk_size_for(False, HALL - 1, DEFAULT_LIMITS.max_body, [kex("elgamal").block_sizes(student.public)])
        > 0
    )

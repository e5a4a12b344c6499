"""Sender chains: forward secrecy inside a chain, reordering within a window, bounded advancing.

A newcomer is handed a chain at its current index and cannot open what was sent before; a thief
of a current chain key derives every later message key and none of the earlier ones; a message
key opens its message once; a receiver follows reordered messages within a window of skipped keys,
and an index far ahead costs a bounded time and moves nothing unless the message authenticates.
"""

from __future__ import annotations

import time

import pytest

from chat.e2e import bodies, sealed
from chat.e2e.chain import MAX_SKIP, MAX_SKIPPED, message_key, message_keys, next_chain_key
from chat.e2e.session import (
    Delivered,
    Earlier,
    Held,
    KeyReceived,
    Outgoing,
    Reason,
    Rejected,
    Result,
    RoomSession,
)
from ciphers.envelope import authenticate
from ciphers.errors import DecryptionError
from tests.chat_support import SUITE_KEX, Room, arrival, session_of

HYBRID = [(s, k) for s, k in SUITE_KEX if s in ("3des", "des")]
HYBRID_IDS = [f"{s}-{k}" for s, k in HYBRID]


def delivered(result: Result) -> list[str]:
    return [e.text for e in result.events if isinstance(e, Delivered)]


def reasons(result: Result) -> list[Reason]:
    assert not delivered(result), "a message was delivered"
    return [e.reason for e in result.events if isinstance(e, Rejected)]


def seal(session: RoomSession, text: str) -> Outgoing:
    (out,) = session.seal(text).outgoing
    return out


def authenticates(chain_key: bytes, out: Outgoing, session: RoomSession) -> bool:
    """Whether the message keys of ``chain_key`` pass ``out``'s MAC (with the header it names)."""
    suite = session.suite
    assert suite.hybrid
    fields = bodies.parse_hybrid_message(out.body, suite, 64)  # type: ignore[arg-type]
    header = sealed.message_header(
        suite.name,
        session.kex.name,
        session.room,
        fields.key_owner,
        fields.common.nonce,
        fields.key_id,
        fields.index,
        fields.content_type,
        fields.epoch,
        fields.view,
    )
    _, mac_key = message_keys(message_key(chain_key), suite.name, suite.key_size)
    try:
        authenticate(mac_key, header, fields.box)
    except DecryptionError:
        return False
    return True


@pytest.mark.parametrize(("suite", "kex"), HYBRID, ids=HYBRID_IDS)
def test_a_newcomer_cannot_open_what_was_sent_before_it_joined(suite: str, kex: str) -> None:
    room = Room(suite, kex)
    alice = room.join("alice")
    room.join("bob")
    before = [seal(alice, "payment #1 approved"), seal(alice, "payment #2 approved")]
    for out in before:
        room.route("alice", Result(outgoing=(out,)))
    assert [t for _, t in room.texts("bob")] == ["payment #1 approved", "payment #2 approved"]
    dave = room.join("dave")
    # Alice handed Dave her chain as it stands: at index 2, past the messages he may have recorded.
    handed = [d for d in room.log if d.kind == "key_bundle" and d.sender == "alice" and d.recipient == "dave"]
    assert [d.body["idx"] for d in handed] == ["2"]
    # Replayed to him, they open nothing; they are alice's, sealed before his chain: dropped quietly.
    for out in before:
        result = dave.open_message("alice", out.body)
        assert result.events == (Earlier("alice", "alice/1", int(out.body["idx"])),)
    forged = dict(before[0].body, sig=before[1].body["sig"])  # the relay's copy, made up
    assert reasons(dave.open_message("alice", forged)) == [Reason.BAD_SIGNATURE]
    room.send("alice", "payment #3 approved")
    assert room.texts("dave") == [("alice", "payment #3 approved")]


@pytest.mark.parametrize(("suite", "kex"), HYBRID[:1], ids=HYBRID_IDS[:1])
def test_what_reaches_a_newcomer_before_its_bundle_is_quiet_if_sealed_before_it(suite: str, kex: str) -> None:
    """Frames alice sealed before she knew of dave reach him ahead of her bundle (a file's batch of
    chunks, or frames in transit as he joins): more than he holds. Once the bundle says where his
    chain starts, every one of them, held or dropped, was below it: no warning. Frames sealed
    after it, dropped while waiting, are reported as lost."""
    room = Room(suite, kex)
    alice = room.join("alice")
    room.join("bob")
    dave = session_of("dave", suite, kex, max_held=2)
    dave.start([arrival(n, room.nonces[n]) for n in ("alice", "bob")])
    early = [seal(alice, f"before dave {i}") for i in range(5)]
    for out in early:
        assert [type(e) for e in dave.open_message("alice", out.body).events] == [Held]
    (bundle,) = alice.add_member(arrival("dave", dave.nonce)).outgoing
    assert bundle.payloads is not None and bundle.body["idx"] == "5"
    opened = dave.open_bundle("alice", "alice/1", bundle.body, bundle.payloads["dave"])
    assert [type(e) for e in opened.events] == [KeyReceived, Earlier, Earlier, Earlier]
    assert [e.count for e in opened.events[1:]] == [1, 1, 3]  # type: ignore[union-attr]
    assert dave.held_count() == 0 and dave.expire_held("alice").events == ()
    # Sealed after the bundle, then three reach him before it: two held and opened, one lost.
    carol = session_of("carol", suite, kex, max_held=2)
    carol.start([arrival(n, room.nonces[n]) for n in ("alice", "bob")])
    (late_bundle,) = alice.add_member(arrival("carol", carol.nonce)).outgoing
    later = [seal(alice, f"for carol {i}") for i in range(3)]
    for out in later:
        carol.open_message("alice", out.body)
    assert late_bundle.payloads is not None
    released = carol.open_bundle("alice", "alice/1", late_bundle.body, late_bundle.payloads["carol"])
    assert delivered(released) == ["for carol 1", "for carol 2"]
    assert [r.detail for r in released.events if isinstance(r, Rejected)] == [
        "1 message under key alice/1 dropped while waiting for it"
    ]


@pytest.mark.parametrize(("suite", "kex"), HYBRID, ids=HYBRID_IDS)
def test_a_stolen_chain_key_opens_what_follows_and_nothing_before(suite: str, kex: str) -> None:
    room = Room(suite, kex)
    alice = room.join("alice")
    bob = room.join("bob")
    earlier = [seal(alice, f"earlier {i}") for i in range(3)]
    for number, out in enumerate(earlier):
        assert delivered(bob.open_message("alice", out.body)) == [f"earlier {number}"]
    stolen = bob.chain_key("alice/1")
    assert stolen is not None and stolen[1] == 3
    # The sender forgot the earlier chain keys too: hers stands at the same index.
    assert alice.chain_key("alice/1") == stolen
    later = seal(alice, "later")
    assert authenticates(stolen[0], later, bob)
    # Forward from the stolen key, 1000 steps: no key authenticates an earlier message.
    chain_key = stolen[0]
    for _ in range(1000):
        assert not any(authenticates(chain_key, out, bob) for out in earlier)
        chain_key = next_chain_key(chain_key)


def test_a_message_key_opens_its_message_once_and_is_then_gone() -> None:
    room = Room("3des", "rsa")
    alice = room.join("alice")
    bob = room.join("bob")
    out = seal(alice, "once")
    assert delivered(bob.open_message("alice", out.body)) == ["once"]
    assert reasons(bob.open_message("alice", out.body)) == [Reason.REPLAY]
    assert bob._room.members["alice"].chain.skipped == {}  # type: ignore[union-attr]


@pytest.mark.parametrize(("suite", "kex"), HYBRID[:2], ids=HYBRID_IDS[:2])
def test_reordered_messages_open_once_each(suite: str, kex: str) -> None:
    room = Room(suite, kex)
    alice = room.join("alice")
    bob = room.join("bob")
    outs = [seal(alice, f"m{i}") for i in range(5)]
    order = [4, 1, 3, 0, 2]
    assert [delivered(bob.open_message("alice", outs[i].body)) for i in order] == [[f"m{i}"] for i in order]
    for out in outs:
        assert reasons(bob.open_message("alice", out.body)) == [Reason.REPLAY]
    assert bob._room.members["alice"].chain.skipped == {}  # type: ignore[union-attr]


def test_skipped_keys_are_kept_within_a_window_only() -> None:
    room = Room("des", "rsa")
    alice = room.join("alice")
    bob = room.join("bob")
    outs = [seal(alice, f"m{i}") for i in range(MAX_SKIPPED + 3)]
    assert delivered(bob.open_message("alice", outs[-1].body)) == [f"m{MAX_SKIPPED + 2}"]
    # Of the 34 skipped, the oldest 2 fall out of the window: refused; the other 32 still open.
    for out in outs[:2]:
        assert reasons(bob.open_message("alice", out.body)) == [Reason.REPLAY]
    assert [delivered(bob.open_message("alice", out.body)) for out in outs[2:-1]] == [
        [f"m{i}"] for i in range(2, MAX_SKIPPED + 2)
    ]


def test_an_index_far_ahead_costs_a_bounded_time_and_moves_nothing() -> None:
    room = Room("3des", "rsa")
    alice = room.join("alice")
    bob = room.join("bob")
    out = seal(alice, "genuine")
    before = bob.chain_key("alice/1")
    too_far = {**out.body, "idx": str(MAX_SKIP + 1)}
    assert reasons(bob.open_message("alice", too_far)) == [Reason.UNKNOWN_KEY]
    start = time.perf_counter()
    farthest = {**out.body, "idx": str(MAX_SKIP)}
    assert reasons(bob.open_message("alice", farthest)) == [Reason.BAD_MAC]
    assert time.perf_counter() - start < 10  # 100 000 HMACs: well under a second unloaded
    assert bob.chain_key("alice/1") == before
    assert delivered(bob.open_message("alice", out.body)) == ["genuine"]

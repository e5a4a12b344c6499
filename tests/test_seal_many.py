"""Sealing many messages at once (file chunks, encrypted side by side) gives the messages sealing
them one after another gives, byte for byte, and each opens as usual on the other side."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat.e2e.session import Delivered, Result, RoomSession
from chat.transfer.format import CHUNK
from ciphers.bitslice import bulk
from ciphers.des_fast import TDES_BITSLICE_THRESHOLD
from ciphers.jobs import Job
from ciphers.rng import DeterministicRNG
from tests.chat_support import arrival, fresh_nonce, identity, session_of


class PerSizeRNG:
    """Deterministic bytes whose k-th draw of n bytes depends on (seed, n, k) only: sealing at once
    draws every IV (8 bytes) before the signatures' salts (32), one at a time interleaves them, and
    this makes both see the same IVs and the same salts."""

    def __init__(self, seed: str) -> None:
        self._seed = seed
        self._streams: dict[int, DeterministicRNG] = {}

    def bytes(self, n: int) -> bytes:
        stream = self._streams.get(n)
        if stream is None:
            stream = self._streams[n] = DeterministicRNG(f"{self._seed}/{n}")
        return stream.bytes(n)


def twin_senders(suite: str, seed: str) -> tuple[RoomSession, RoomSession]:
    """Two identical alices (same identity, join nonce and randomness) in a room with bob."""
    nonce, bob_nonce = fresh_nonce("alice"), fresh_nonce("bob")
    twins = []
    for _ in range(2):
        alice = session_of("alice", suite, "rsa", nonce=nonce, rng=PerSizeRNG(seed))
        alice.start([arrival("bob", bob_nonce)])
        twins.append(alice)
    return twins[0], twins[1]


@settings(max_examples=6, deadline=None)
@pytest.mark.parametrize("suite", ["3des", "des"])
@given(
    seed=st.text(max_size=8),
    lengths=st.one_of(st.integers(1, 8), st.integers(72, 90)).flatmap(
        lambda n: st.lists(st.integers(0, 80), min_size=n, max_size=n)
    ),  # few messages (one after another) or enough for the bitslice path (side by side)
)
def test_sealing_at_once_gives_the_messages_of_one_at_a_time(
    suite: str, seed: str, lengths: list[int]
) -> None:
    one, many = twin_senders(suite, seed)
    data = DeterministicRNG(seed)
    items = [(data.bytes(n), CHUNK) for n in lengths]
    expected = [one.seal_data(d, t) for d, t in items]
    got = many.seal_data_many(items)
    assert [r.outgoing for r in got] == [r.outgoing for r in expected]
    assert [r.events for r in got] == [r.events for r in expected]
    assert [r.trace for r in got] == [r.trace for r in expected]
    assert [r.outgoing for r in one.seal_data_many(items[:1])] == [
        r.outgoing for r in many.seal_data_many(items[:1])
    ]


def test_a_batch_goes_side_by_side_and_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    """Enough chunks for the bitslice path: one pass for all, and bob opens every one, in order."""
    passes: defaultdict[str, int] = defaultdict(int)
    real = bulk.cbc_encrypt_streams_job

    def counted(*args: object) -> Job[list[bytes]]:
        passes["side by side"] += 1
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(bulk, "cbc_encrypt_streams_job", counted)
    nonce, bob_nonce = fresh_nonce("alice"), fresh_nonce("bob")
    alice = RoomSession(identity("alice"), "alice", "Lobby", "3des", "rsa", nonce=nonce)
    bob = RoomSession(identity("bob"), "bob", "Lobby", "3des", "rsa", nonce=bob_nonce)
    bob.start([arrival("alice", nonce)])
    (bundle,) = alice.start([arrival("bob", bob_nonce)]).outgoing
    assert bundle.key_id is not None and bundle.payloads is not None
    bob.open_bundle("alice", bundle.key_id, bundle.body, bundle.payloads["bob"])
    rng = DeterministicRNG("chunks")
    items = [(rng.bytes(100 + i), CHUNK) for i in range(80)]
    results = alice.seal_data_many(items)
    assert passes["side by side"] == 1
    opened = []
    for result in results:
        (out,) = result.outgoing
        opened += [e for e in bob.open_message("alice", out.body).events if isinstance(e, Delivered)]
    assert [(e.data, e.content_type) for e in opened] == items
    assert [e.counter for e in opened] == list(range(80))


def test_every_item_is_checked_before_any_is_sealed() -> None:
    alice, _ = twin_senders("3des", "checks")
    with pytest.raises(ValueError, match="content type"):
        alice.seal_data_many([(b"fine", CHUNK), (b"bad", "Not A Type")])
    assert alice.seal_data_many([(b"fine", CHUNK)])[0].events[0].counter == 0  # type: ignore[attr-defined]


def test_a_message_sealed_between_segments_takes_the_next_index_and_changes_nothing() -> None:
    """The batch's job reserves everything at once: a text sealed while it runs takes the next
    index, the batch's messages are those of the batch sealed in one go (IVs, ciphertexts, MACs),
    and bob, given the batch then the text (the order the client writes them), opens every one,
    in order, with nothing but deliveries."""
    nonce, bob_nonce = fresh_nonce("alice"), fresh_nonce("bob")
    at_once, resumed = (
        session_of("alice", "3des", "rsa", nonce=nonce, rng=PerSizeRNG("segments")) for _ in range(2)
    )
    at_once.start([arrival("bob", bob_nonce)])
    (bundle,) = resumed.start([arrival("bob", bob_nonce)]).outgoing
    bob = RoomSession(identity("bob"), "bob", "Lobby", "3des", "rsa", nonce=bob_nonce)
    bob.start([arrival("alice", nonce)])
    assert bundle.key_id is not None and bundle.payloads is not None
    bob.open_bundle("alice", bundle.key_id, bundle.body, bundle.payloads["bob"])
    data = DeterministicRNG("segment data")
    lanes = TDES_BITSLICE_THRESHOLD // 8 + 8
    items = [(data.bytes(1024), CHUNK) for _ in range(lanes)]  # 129 CBC steps: three segments
    expected = [*at_once.seal_data_many(items), at_once.seal("typed meanwhile")]
    job = resumed.seal_data_many_job(items)
    next(job)
    text = resumed.seal("typed meanwhile")
    segments = 1
    while True:
        try:
            next(job)
            segments += 1
        except StopIteration as stop:
            batch: list[Result] = stop.value
            break
    assert segments >= 3
    got = [*batch, text]

    def unsigned(result: Result) -> dict[str, str]:
        (out,) = result.outgoing
        return {k: v for k, v in out.body.items() if k != "sig"}  # salts are drawn in another order

    assert [unsigned(r) for r in got] == [unsigned(r) for r in expected]
    assert [r.events for r in got] == [r.events for r in expected]
    opened = [bob.open_message("alice", r.outgoing[0].body).events for r in got]
    delivered = [e for events in opened for e in events if isinstance(e, Delivered)]
    assert [len(events) for events in opened] == [1] * (lanes + 1)  # a delivery each, nothing else
    assert [e.counter for e in delivered] == list(range(lanes + 1))
    assert [e.data for e in delivered] == [*(d for d, _ in items), b"typed meanwhile"]

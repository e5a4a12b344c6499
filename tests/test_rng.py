"""DeterministicRNG: a reproducible stream, whatever the sizes it is drawn in."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from ciphers.rng import DeterministicRNG


@given(sizes=st.lists(st.integers(0, 200), max_size=12))
def test_the_stream_does_not_depend_on_how_it_is_drawn(sizes: list[int]) -> None:
    pieces = DeterministicRNG("stream")
    whole = DeterministicRNG("stream").bytes(sum(sizes))
    assert b"".join(pieces.bytes(n) for n in sizes) == whole


def test_the_stream_is_sha256_in_counter_mode() -> None:
    seed = repr("seed").encode()
    expected = b"".join(hashlib.sha256(c.to_bytes(8, "big") + seed).digest() for c in range(3))
    assert DeterministicRNG("seed").bytes(96) == expected
    assert len(DeterministicRNG(1).bytes(1 << 20)) == 1 << 20  # long outputs are drawn in linear time

"""The bitslice DES engine: the transposition, the rounds on slices under one key and many keys,
the bulk operations (ECB, the CTR keystream, CBC streams side by side), all against the
table-driven path and PyCryptodome."""

from __future__ import annotations

import struct
import warnings

import pytest
from Crypto.Cipher import DES as RefDES
from Crypto.Cipher import DES3 as RefDES3
from hypothesis import given, settings
from hypothesis import strategies as st

from ciphers.bitslice import bulk, des, inline, rounds, sboxes
from ciphers.bitslice.transpose import blocks_to_slices, padded_length, slices_to_blocks
from ciphers.des_fast import FastDES
from ciphers.errors import InsecureWarning
from ciphers.rng import DeterministicRNG

pytestmark = pytest.mark.filterwarnings("ignore::ciphers.errors.InsecureWarning")

keys8 = st.binary(min_size=8, max_size=8)
block_counts = st.integers(min_value=0, max_value=40)


def bit(block: bytes, i: int) -> int:
    """Bit i (1..64, FIPS numbering) of an 8-byte block."""
    return int.from_bytes(block, "big") >> (64 - i) & 1


# --- the transposition --------------------------------------------------------------------------


@given(data=st.data(), blocks=block_counts)
def test_slice_i_holds_bit_i_of_block_k_in_bit_k(data: st.DataObject, blocks: int) -> None:
    message = data.draw(st.binary(min_size=8 * blocks, max_size=8 * blocks))
    slices = blocks_to_slices(message)
    assert len(slices) == 64
    for k in range(blocks):
        block = message[8 * k : 8 * k + 8]
        assert [s >> k & 1 for s in slices] == [bit(block, i) for i in range(1, 65)]
    assert all(s < 1 << padded_length(blocks) for s in slices)  # padding blocks are zero
    assert slices_to_blocks(slices, blocks) == message


def test_padded_length_is_whole_lanes() -> None:
    assert [padded_length(n) for n in (0, 1, 7, 8, 9, 64, 65)] == [0, 8, 8, 8, 16, 64, 72]


# --- one key, many blocks -----------------------------------------------------------------------


def ecb_slices(key: bytes, message: bytes, *, decrypt: bool = False) -> bytes:
    keys = des.RoundKeys.of((des.schedule_of(key, decrypt=decrypt),))
    return bulk.crypt_blocks(keys, message)


@given(key=keys8, data=st.data(), blocks=block_counts)
def test_des_on_slices_is_des(key: bytes, data: st.DataObject, blocks: int) -> None:
    message = data.draw(st.binary(min_size=8 * blocks, max_size=8 * blocks))
    reference = RefDES.new(key, RefDES.MODE_ECB)
    assert ecb_slices(key, message) == reference.encrypt(message)
    assert ecb_slices(key, message, decrypt=True) == reference.decrypt(message)


def test_passes_of_many_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs longer than one pass are cut into near-equal passes (16 blocks a pass here)."""
    monkeypatch.setattr(bulk, "CHUNK_BLOCKS", 16)
    assert bulk._chunks(33) == [(0, 16), (16, 16), (32, 1)]
    assert sum(n for _, n in bulk._chunks(100)) == 100
    rng = DeterministicRNG("passes")
    key, message = rng.bytes(8), rng.bytes(8 * 100)
    assert ecb_slices(key, message) == RefDES.new(key, RefDES.MODE_ECB).encrypt(message)
    keys = des.RoundKeys.of((des.schedule_of(key),))
    counters = b"".join(((2**64 - 50 + j) % 2**64).to_bytes(8, "big") for j in range(100))
    assert bulk.counter_keystream(keys, 2**64 - 50, 100) == RefDES.new(key, RefDES.MODE_ECB).encrypt(counters)


def test_triple_des_is_three_passes_on_the_same_slices() -> None:
    rng = DeterministicRNG("tdes slices")
    key = RefDES3.adjust_key_parity(rng.bytes(24))
    message = rng.bytes(8 * 21)
    schedule = (des.schedule_of(key[:8]), des.schedule_of(key[8:16], decrypt=True), des.schedule_of(key[16:]))
    keys = des.RoundKeys.of(schedule)
    assert bulk.crypt_blocks(keys, message) == RefDES3.new(key, RefDES3.MODE_ECB).encrypt(message)


@given(key=keys8, start=st.integers(min_value=0, max_value=2**64 - 1), count=st.integers(0, 40))
def test_counter_slices_are_the_counter_blocks(key: bytes, start: int, count: int) -> None:
    counters = b"".join(((start + j) % 2**64).to_bytes(8, "big") for j in range(count))
    valid = (1 << count) - 1
    assert [s & valid for s in bulk.counter_slices(start, count)] == blocks_to_slices(counters)
    keys = des.RoundKeys.of((des.schedule_of(key),))
    assert bulk.counter_keystream(keys, start, count) == RefDES.new(key, RefDES.MODE_ECB).encrypt(counters)


def test_counter_wraps_at_the_top() -> None:
    assert slices_to_blocks(bulk.counter_slices(2**64 - 2, 4), 4) == struct.pack(
        ">4Q", 2**64 - 2, 2**64 - 1, 0, 1
    )


@settings(max_examples=25)
@given(
    key=keys8,
    streams=st.lists(
        st.tuples(st.binary(min_size=8, max_size=8), st.integers(0, 12).map(lambda n: bytes(range(8 * n)))),
        max_size=19,
    ),
)
def test_cbc_streams_side_by_side_are_each_streams_cbc(
    key: bytes, streams: list[tuple[bytes, bytes]]
) -> None:
    keys = des.RoundKeys.of((des.schedule_of(key),))
    expected = [RefDES.new(key, RefDES.MODE_CBC, iv=iv).encrypt(data) for iv, data in streams]
    assert bulk.cbc_encrypt_streams(keys, streams) == expected


@settings(max_examples=30)
@given(width=st.integers(1, 300), data=st.data())
def test_the_straight_line_round_is_the_round_as_written_beside_the_standard(
    width: int, data: st.DataObject
) -> None:
    words = data.draw(st.lists(st.integers(0, (1 << width) - 1), min_size=112, max_size=112))
    left, right, key = words[:32], words[32:64], words[64:]
    ones = (1 << width) - 1
    assert rounds.feistel_round(left, right, key, ones) == des.feistel_xor(left, right, key, ones)


def test_the_straight_line_round_is_what_its_generator_writes() -> None:
    """rounds.py is GENERATED from the S-box module: regenerated, it is the same file."""
    assert inline.MODULE.read_text(encoding="utf-8") == inline.render_module()


def test_complemented_circuit_outputs_are_tracked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Circuits that deliver every output complemented give the same DES once the polarity is
    tracked (a check of the bookkeeping that circuits which complement some outputs rely on)."""

    def complemented(sbox: sboxes.SboxFunction) -> sboxes.SboxFunction:
        def flipped(a: int, b: int, c: int, d: int, e: int, f: int, ones: int) -> sboxes.Words4:
            w, x, y, z = sbox(a, b, c, d, e, f, ones)
            return w ^ ones, x ^ ones, y ^ ones, z ^ ones

        return flipped

    outputs = tuple(flags ^ 0b1111 for flags in sboxes.COMPLEMENTED_OUTPUTS)
    for j, sbox in enumerate(sboxes.SBOXES, start=1):
        monkeypatch.setattr(des, f"s{j}", complemented(sbox))
    monkeypatch.setattr(des, "feistel_round", des.feistel_xor)  # the round that calls them
    polarity = {p: des.Polarity.of(16 * p, sboxes.COMPLEMENTED_INPUTS, outputs) for p in (1, 3)}
    monkeypatch.setattr(des, "POLARITY", polarity)
    rng = DeterministicRNG("complemented outputs")
    key, message = rng.bytes(8), rng.bytes(8 * 9)
    assert ecb_slices(key, message) == RefDES.new(key, RefDES.MODE_ECB).encrypt(message)
    assert ecb_slices(key, message, decrypt=True) == RefDES.new(key, RefDES.MODE_ECB).decrypt(message)


# --- many keys, one block -----------------------------------------------------------------------


def key_words(keys: list[bytes]) -> tuple[list[int], int]:
    """64 words holding one key a lane (the keys' own bit slices)."""
    width = padded_length(len(keys))
    return blocks_to_slices(b"".join(keys)), (1 << width) - 1


@given(keys=st.lists(keys8, min_size=1, max_size=20), block=st.binary(min_size=8, max_size=8))
def test_many_keys_one_block(keys: list[bytes], block: bytes) -> None:
    words, ones = key_words(keys)
    p = int.from_bytes(block, "big")
    encrypted = slices_to_blocks(des.encrypt_many_keys(p, words, ones), len(keys))
    decrypted = slices_to_blocks(des.encrypt_many_keys(p, words, ones, decrypt=True), len(keys))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        ours = [FastDES(k) for k in keys]
    assert encrypted == b"".join(c.encrypt_block(block) for c in ours)
    assert decrypted == b"".join(c.decrypt_block(block) for c in ours)


def test_matching_keys_marks_exactly_the_lanes_that_match() -> None:
    rng = DeterministicRNG("matching lanes")
    keys = [rng.bytes(8) for _ in range(64)]
    keys[41] = keys[7]  # the same key twice: both lanes match
    plaintext = rng.bytes(8)
    words, ones = key_words(keys)
    p = int.from_bytes(plaintext, "big")
    targets = [
        FastDES(keys[7]).encrypt_block(plaintext),
        FastDES(keys[63]).encrypt_block(plaintext),
        rng.bytes(8),
    ]
    masks = des.matching_keys(p, [int.from_bytes(t, "big") for t in targets], words, ones)
    assert masks == [1 << 7 | 1 << 41, 1 << 63, 0]

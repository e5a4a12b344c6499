"""PKCS#7 padding (RFC 5652 §6.3): examples from the RFC's rule, properties, and PyCryptodome as referee."""

from __future__ import annotations

import itertools

import pytest
from Crypto.Util.Padding import pad as ref_pad
from Crypto.Util.Padding import unpad as ref_unpad
from hypothesis import given
from hypothesis import strategies as st

from ciphers.errors import PaddingError
from ciphers.padding import pkcs7_pad, pkcs7_unpad

block_sizes = st.integers(min_value=1, max_value=32)


@pytest.mark.parametrize(
    ("data", "padded"),
    [
        (b"", b"\x08" * 8),
        (b"A", b"A" + b"\x07" * 7),
        (b"ABCDEFG", b"ABCDEFG\x01"),
        (b"ABCDEFGH", b"ABCDEFGH" + b"\x08" * 8),
        (b"ABCDEFGHI", b"ABCDEFGHI" + b"\x07" * 7),
    ],
    ids=["empty", "one-byte", "seven-bytes", "full-block", "nine-bytes"],
)
def test_pad_examples_from_rfc_5652_rule(data: bytes, padded: bytes) -> None:
    # RFC 5652 §6.3: pad with k - (l mod k) octets, each of that value.
    assert pkcs7_pad(data) == padded
    assert pkcs7_unpad(padded) == data


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"\x01" * 7,
        b"\x01" * 9,
        b"ABCDEFG\x00",
        b"ABCDEFG\x09",
        b"ABCDEFG\xff",
        b"ABCDEF\x01\x02",
        b"ABCDE\x02\x03\x03",
        b"\x07" + b"\x08" * 7,
        b"ABCDEFGH" + b"\x08" * 7 + b"\x00",
    ],
    ids=[
        "empty",
        "short",
        "not-multiple",
        "pad-zero",
        "pad-above-block",
        "pad-255",
        "inconsistent-2",
        "inconsistent-3",
        "inconsistent-full-block",
        "zero-in-second-block",
    ],
)
def test_unpad_rejects_each_malformation(bad: bytes) -> None:
    with pytest.raises(PaddingError, match=r"^invalid padding$"):
        pkcs7_unpad(bad)


def _valid_reference(block: bytes, block_size: int) -> bool:
    """RFC 5652 §6.3 read literally: the last k bytes all equal k, with 1 <= k <= block size."""
    k = block[-1]
    return 1 <= k <= block_size and all(b == k for b in block[-k:])


def test_unpad_agrees_with_the_rule_on_every_two_and_some_three_byte_blocks() -> None:
    for block_size, alphabet in ((2, range(256)), (3, range(6))):
        for block in itertools.product(alphabet, repeat=block_size):
            data = bytes(block)
            if _valid_reference(data, block_size):
                assert pkcs7_unpad(data, block_size) == data[: -data[-1]]
            else:
                with pytest.raises(PaddingError):
                    pkcs7_unpad(data, block_size)


@given(st.binary(max_size=80), block_sizes)
def test_unpad_inverts_pad(data: bytes, block_size: int) -> None:
    padded = pkcs7_pad(data, block_size)
    assert len(padded) % block_size == 0
    assert 1 <= len(padded) - len(data) <= block_size
    assert pkcs7_unpad(padded, block_size) == data


@given(st.binary(max_size=80), block_sizes)
def test_pad_matches_pycryptodome(data: bytes, block_size: int) -> None:
    assert pkcs7_pad(data, block_size) == ref_pad(data, block_size, style="pkcs7")


@given(st.binary(max_size=40), st.sampled_from([1, 2, 3, 8, 16]))
def test_unpad_accepts_and_rejects_exactly_what_pycryptodome_does(data: bytes, block_size: int) -> None:
    try:
        expected: bytes | None = ref_unpad(data, block_size, style="pkcs7")
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(PaddingError):
            pkcs7_unpad(data, block_size)
    else:
        assert pkcs7_unpad(data, block_size) == expected


@st.composite
def corrupted(draw: st.DrawFn) -> tuple[bytes, int]:
    """A correctly padded message with one fault that no valid padding can have."""
    block_size = draw(st.integers(min_value=2, max_value=16))
    padded = bytearray(pkcs7_pad(draw(st.binary(max_size=40)), block_size))
    k = padded[-1]
    faults = ["zero", "too-big", "truncate", "extend"] + (["inner"] if k >= 2 else [])
    fault = draw(st.sampled_from(faults))
    if fault == "zero":
        padded[-1] = 0
    elif fault == "too-big":
        padded[-1] = draw(st.integers(min_value=block_size + 1, max_value=255))
    elif fault == "truncate":
        del padded[-draw(st.integers(min_value=1, max_value=block_size - 1)) :]
    elif fault == "extend":
        padded += bytes(draw(st.integers(min_value=1, max_value=block_size - 1)))
    else:
        position = len(padded) - draw(st.integers(min_value=2, max_value=k))
        padded[position] ^= draw(st.integers(min_value=1, max_value=255))
    return bytes(padded), block_size


@given(corrupted())
def test_every_corrupted_padding_raises(case: tuple[bytes, int]) -> None:
    data, block_size = case
    with pytest.raises(PaddingError, match=r"^invalid padding$"):
        pkcs7_unpad(data, block_size)


@pytest.mark.parametrize("block_size", [0, 256, -1])
def test_block_size_out_of_range(block_size: int) -> None:
    with pytest.raises(ValueError, match="block size"):
        pkcs7_pad(b"x", block_size)
    with pytest.raises(ValueError, match="block size"):
        pkcs7_unpad(b"x", block_size)

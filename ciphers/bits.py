"""Bit-level helpers shared by the readable DES: byte/int conversion and 1-based permutations.

FIPS 46-3 numbers bits from 1 (the leftmost, most significant) to n. :func:`permute` takes a table
exactly as printed there: output bit i is input bit ``table[i-1]``.
"""

from __future__ import annotations

from collections.abc import Sequence


def bytes_to_int(data: bytes) -> int:
    """Big-endian bytes to a non-negative integer."""
    return int.from_bytes(data, "big")


def int_to_bytes(value: int, length: int) -> bytes:
    """A non-negative integer to exactly ``length`` big-endian bytes."""
    return value.to_bytes(length, "big")


def permute(block: int, table: Sequence[int], in_bits: int) -> int:
    """Apply a FIPS 46-3 permutation/selection table (1-based, MSB first) to an ``in_bits``-bit block."""
    out = 0
    for position in table:
        out = (out << 1) | ((block >> (in_bits - position)) & 1)
    return out


def rotate_left(value: int, shift: int, width: int) -> int:
    """Rotate a ``width``-bit value left by ``shift`` positions."""
    mask = (1 << width) - 1
    return ((value << shift) | (value >> (width - shift))) & mask


def xor_bytes(a: bytes, b: bytes) -> bytes:
    """Bytewise XOR of two equal-length strings."""
    if len(a) != len(b):
        raise ValueError("xor_bytes needs equal lengths")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def bit_string(value: int, width: int, group: int = 0) -> str:
    """``value`` as ``width`` binary digits, optionally in groups of ``group`` separated by spaces."""
    digits = format(value, f"0{width}b")
    if not group:
        return digits
    return " ".join(digits[i : i + group] for i in range(0, width, group))


def hamming_distance(a: int, b: int) -> int:
    """The number of bit positions in which ``a`` and ``b`` differ."""
    return (a ^ b).bit_count()

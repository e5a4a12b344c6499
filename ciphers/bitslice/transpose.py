"""Blocks into bit slices and back: the transposition at the edges of the bitslice DES. INSECURE.

Biham (FSE 1997) keeps bit i of W blocks in one W-bit word: a W x 64 bit matrix (one
block a row) is stored as its transpose, 64 words of W bits. Here slice i - 1 holds bit i of every
block (FIPS 46-3 numbering, bit 1 the leftmost), with block k in bit k of the word.

The transposition is done with whole-buffer operations, never a Python loop over bits or blocks:

1. **Bytes by stride.** ``data[8 * r + j :: 64]`` is byte j of blocks r, r + 8, r + 16, ...: one
   C-level slice for each of the 64 (r, j), read as one little-endian integer, a *plane*, whose
   8-bit lane q is byte j of block 8q + r.
2. **Eight planes at a time, an 8 x 8 transposition in every lane.** For each j, planes r = 0..7
   form in each lane an 8 x 8 bit matrix (row r = block 8q + r, column c = bit c of byte j). The
   classic recursive block swap (swap the off-diagonal 4 x 4 blocks, then the 2 x 2 blocks inside,
   then single bits: three masked shift-and-XOR steps) transposes all of them at once, every lane
   of every plane in parallel. Afterwards plane c holds bit c of byte j of block 8q + r in bit r of
   lane q, that is, in bit 8q + r of the word: the slice of FIPS bit 8j + 8 - c.

Going back is the same steps in the same order (a transposition is its own inverse), then the
planes are written back by stride into a ``bytearray``.
"""

from __future__ import annotations

from collections.abc import Sequence

BLOCK = 8  # bytes
#: (shift, mask byte) of the three block-swap steps: swap bit c + s of plane r with bit c of plane
#: r + s wherever bit s of r and of c is 0 (masks select those c).
_STEPS = ((4, 0x0F), (2, 0x33), (1, 0x55))


def padded_length(blocks: int) -> int:
    """The number of blocks a slice holds: ``blocks`` rounded up to a multiple of 8 (whole lanes)."""
    return -(-blocks // 8) * 8


def _masks(lanes: int) -> list[tuple[int, int]]:
    return [(shift, int.from_bytes(bytes((mask,)) * lanes, "little")) for shift, mask in _STEPS]


def _transpose_planes(planes: list[int], masks: Sequence[tuple[int, int]]) -> None:
    """The 8 x 8 bit transposition in every 8-bit lane of eight planes, in place."""
    for shift, mask in masks:
        for r in range(8):
            if r & shift:
                continue
            t = ((planes[r] >> shift) ^ planes[r + shift]) & mask
            planes[r + shift] ^= t
            planes[r] ^= t << shift


def blocks_to_slices(data: bytes) -> list[int]:
    """The 64 bit slices of the 8-byte blocks in ``data``, each ``padded_length(len(data) // 8)``
    bits wide (the padding blocks are zero): slice i - 1 is bit i of every block, block k in bit k."""
    lanes = padded_length(len(data) // BLOCK) // 8
    if len(data) < 64 * lanes:
        data = bytes(data) + bytes(64 * lanes - len(data))
    masks = _masks(lanes)
    slices = [0] * 64
    for j in range(BLOCK):
        planes = [int.from_bytes(data[8 * r + j :: 64], "little") for r in range(8)]
        _transpose_planes(planes, masks)
        for c in range(8):
            slices[8 * j + 7 - c] = planes[c]
    return slices


def slices_to_blocks(slices: Sequence[int], blocks: int) -> bytes:
    """The first ``blocks`` 8-byte blocks held in 64 bit slices: the inverse of :func:`blocks_to_slices`."""
    lanes = padded_length(blocks) // 8
    masks = _masks(lanes)
    out = bytearray(64 * lanes)
    for j in range(BLOCK):
        planes = [slices[8 * j + 7 - c] for c in range(8)]
        _transpose_planes(planes, masks)
        for r in range(8):
            out[8 * r + j :: 64] = planes[r].to_bytes(lanes, "little")
    return bytes(out[: BLOCK * blocks])

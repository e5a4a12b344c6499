"""The bulk operations the modes use: many blocks, or many CBC streams (one key, or one each). INSECURE.

All of them move data into bit slices (:mod:`ciphers.bitslice.transpose`), run the cipher on the
slices (:mod:`ciphers.bitslice.des`) and move the result back. A pass costs about the same for 8
blocks as for a few hundred (Python's cost per operation dominates until the words are about a
kilobit wide), so below some 70 to 80 blocks the table-driven path of :mod:`ciphers.des_fast` is
faster, and the cipher objects only choose this path above a measured threshold
(:data:`ciphers.des_fast.BITSLICE_THRESHOLD`).

CTR's counter blocks never exist as bytes: their slices are computed directly, by adding the
initial counter to the slices of the block numbers 0, 1, 2, ... with a bitsliced ripple-carry adder
(:func:`counter_slices`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ciphers.bitslice.des import KeyWords, RoundKeys, Words, encrypt_slices
from ciphers.bitslice.transpose import BLOCK, blocks_to_slices, padded_length, slices_to_blocks
from ciphers.jobs import Job, run

#: Blocks per pass. Word operations cost least per bit around 64 Kibit here (measured with
#: ``timeit`` on XOR of random integers: about 3.3 ns per Kibit at 64 Kibit, 4.5 at 128 Kibit,
#: 13 at 8 Mibit, as the words stop fitting in cache), so longer inputs go in passes of 64 Ki blocks.
CHUNK_BLOCKS = 1 << 16


def _chunks(blocks: int) -> list[tuple[int, int]]:
    """(first block, block count) of near-equal passes of at most :data:`CHUNK_BLOCKS` blocks."""
    if not blocks:
        return []
    passes = -(-blocks // CHUNK_BLOCKS)
    size = padded_length(-(-blocks // passes))
    return [(start, min(size, blocks - start)) for start in range(0, blocks, size)]


def crypt_blocks(keys: RoundKeys, data: bytes) -> bytes:
    """ECB: the cipher (encryption or decryption, as ``keys`` say) on every 8-byte block of ``data``."""
    out = []
    for start, count in _chunks(len(data) // BLOCK):
        chunk = data[BLOCK * start : BLOCK * (start + count)]
        ones = (1 << padded_length(count)) - 1
        out.append(slices_to_blocks(encrypt_slices(blocks_to_slices(chunk), keys, ones), count))
    return b"".join(out)


def block_number_bit(b: int, width: int) -> int:
    """The word whose bit k is bit b of the number k, for k < width (a multiple of 8)."""
    if b < 3:
        pattern = bytes((0xAA, 0xCC, 0xF0)[b : b + 1])
    else:
        half = 1 << (b - 3)
        pattern = bytes(half) + b"\xff" * half
    lanes = width // 8
    return int.from_bytes((pattern * -(-lanes // len(pattern)))[:lanes], "little")


def counter_slices(start: int, count: int) -> Words:
    """The slices of the counter blocks T_k = start + k mod 2^64, k < count (SP 800-38A §B.1):
    the block numbers' slices plus the constant ``start``, one bit at a time with a carry word."""
    width = padded_length(count)
    ones = (1 << width) - 1
    slices = [0] * 64
    carry = 0
    for b in range(64):
        x = block_number_bit(b, width) if 1 << b < width else 0
        if (start >> b) & 1:
            slices[63 - b] = x ^ carry ^ ones
            carry = x | carry
        else:
            slices[63 - b] = x ^ carry
            carry = x & carry
    return slices


def counter_keystream(keys: RoundKeys, start: int, count: int) -> bytes:
    """E(T_1) || ... || E(T_count), with T_1 = ``start`` and T_j = T_(j-1) + 1 mod 2^64."""
    out = []
    for first, n in _chunks(count):
        ones = (1 << padded_length(n)) - 1
        slices = counter_slices((start + first) % (1 << 64), n)
        out.append(slices_to_blocks(encrypt_slices(slices, keys, ones), n))
    return b"".join(out)


#: CBC steps whose blocks are transposed together when encrypting streams side by side.
_STEPS_PER_GROUP = 64
#: CBC steps of one segment of :func:`cbc_encrypt_streams_job`: 32 steps of 3DES on 256 lanes take
#: about 45 ms on this machine (two shared cores), 64 about 85 ms.
STEPS_PER_SEGMENT = 32


def cbc_encrypt_streams(keys: KeyWords, streams: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
    """CBC encryption (SP 800-38A §6.2) of many (IV, whole blocks) streams, one block of every
    stream per pass: stream s is bit s of each word, so the chaining of each stream stays
    sequential but all streams advance together. Streams may differ in length. Under one key
    (:class:`~ciphers.bitslice.des.RoundKeys`) or one key a stream
    (:class:`~ciphers.bitslice.des.LaneKeys`, built for ``len(streams)`` lanes)."""
    return run(cbc_encrypt_streams_job(keys, streams))


def cbc_encrypt_streams_job(keys: KeyWords, streams: Sequence[tuple[bytes, bytes]]) -> Job[list[bytes]]:
    """:func:`cbc_encrypt_streams` as a :data:`~ciphers.jobs.Job` of :data:`STEPS_PER_SEGMENT` steps
    a segment. CBC resumes: steps [k, n) chained from the state after step k - 1 (each stream's
    last ciphertext block) give the same ciphertext as all n steps at once."""
    if not streams:
        return []
    lengths = [len(data) // BLOCK for _, data in streams]
    width = padded_length(len(streams))
    lanes, ones = width // 8, (1 << width) - 1
    state = blocks_to_slices(b"".join(iv for iv, _ in streams))
    steps = max(lengths)
    columns: list[list[bytes]] = [[] for _ in range(64)]  # the ciphertext slices' bytes, step by step
    for first in range(0, steps, _STEPS_PER_GROUP):
        group = min(_STEPS_PER_GROUP, steps - first)
        plain = _step_major(streams, lengths, first, group, width)
        plain_slices = [s.to_bytes(group * lanes, "little") for s in blocks_to_slices(plain)]
        for j in range(group):
            if first + j and not (first + j) % STEPS_PER_SEGMENT:
                yield
            window = slice(j * lanes, (j + 1) * lanes)
            x = [int.from_bytes(p[window], "little") ^ c for p, c in zip(plain_slices, state, strict=True)]
            state = encrypt_slices(x, keys, ones)
            for column, word in zip(columns, state, strict=True):
                column.append(word.to_bytes(lanes, "little"))
    cipher = slices_to_blocks([int.from_bytes(b"".join(c), "little") for c in columns], steps * width)
    out = []
    for s, n in enumerate(lengths):
        view = memoryview(cipher).cast("Q")
        out.append(view[s : s + n * width : width].tobytes())
    return out


def _step_major(
    streams: Sequence[tuple[bytes, bytes]], lengths: Sequence[int], first: int, steps: int, width: int
) -> bytes:
    """Blocks ``first`` .. ``first + steps - 1`` of every stream, step by step (zeros past an end)."""
    buffer = bytearray(BLOCK * width * steps)
    view = memoryview(buffer).cast("Q")
    for s, ((_, data), n) in enumerate(zip(streams, lengths, strict=True)):
        take = max(0, min(steps, n - first))
        if take:
            source = memoryview(data)[BLOCK * first : BLOCK * (first + take)].cast("Q")
            view[s : s + take * width : width] = source
    return bytes(buffer)

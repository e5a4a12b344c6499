"""The fast path for bulk DES: the same answers as :mod:`ciphers.des`, some 35 times faster. INSECURE.

DES has a 56-bit key and has been broken by exhaustive search since 1998; this module exists so the
toolkit's modes, benchmarks and demonstrations run at a usable speed. Read :mod:`ciphers.des` to
learn the algorithm: this one trades readability for speed, and every table here is derived at
import time from the FIPS 46-3 tables in :mod:`ciphers.des_tables` through the readable functions.

How it is fast (pure Python, where every bytecode costs: a round is eleven integer operations and
four look-ups in small tables):

* **The state is kept expanded.** E is a bit selection, so E(a xor b) = E(a) xor E(b). The halves
  L and R are carried as the 48-bit values E(L) and E(R); a round is then
  ``E(R_n) = E(L_(n-1)) xor E(P(S(E(R_(n-1)) xor K_n)))``, with the standard 48-bit subkeys and no
  expansion step at run time.
* **Combined S-box, P and E tables, two S-boxes a look-up.** ``E(R) xor K`` is cut into four
  12-bit chunks (S1 S2, S3 S4, S5 S6, S7 S8), split first into two 24-bit halves so that most of
  the shifting and masking is on one-digit integers. Each table maps a chunk straight to its share
  of E(f(R, K)), E(P(the two S-boxes' outputs in place)). The four 4096-entry tables hold 256
  distinct values each, so the entries share their integer objects and everything the cipher reads
  stays in cache, even when other work runs between blocks. (Three S-boxes a look-up saves two
  operations a round, but its 2^18-entry tables fall out of cache and it ends up slower.)
* **Shares are added, not XORed.** P is a permutation and E a selection, so the shares of
  different S-boxes occupy different bits, as do the contributions of different bytes to IP and
  IP^-1 (each output bit has one source). On disjoint bits ``+`` equals ``|`` equals ``^``, and
  CPython adds integers faster than it XORs them.
* **IP and IP^-1 by tables.** IP is eight byte-indexed tables giving E(L0) and E(R0) at once; IP^-1
  reads the 32 bits of R16 and L16 out of their expanded forms in 12-bit chunks (eight tables).
* **Unrolled rounds on local variables**, no per-block allocation beyond the integers themselves.
  Between the passes of Triple DES, IP^-1 followed by IP cancels, so EDE costs one IP, 48 rounds
  and one IP^-1 (see :func:`crypt_int`).

Many blocks at once go faster still on bit slices (:mod:`ciphers.bitslice`, Biham 1997): the
cipher objects here offer those bulk operations (:class:`BitsliceBulk`), and the modes use them
from :data:`BITSLICE_THRESHOLD` bytes on.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ciphers.bits import permute
from ciphers.bitslice import bulk
from ciphers.bitslice.des import LaneKeys, RoundKeys
from ciphers.des import (
    BLOCK_SIZE,
    check_block,
    check_key,
    expansion,
    final_permutation,
    initial_permutation,
    permutation,
    selection_function,
    warn_about_key,
)
from ciphers.des_tables import PC1, PC2, SHIFTS, E
from ciphers.jobs import Job

#: Subkeys for one pass of 16 rounds, in the order they are used (reversed to decipher).
Pass = tuple[int, ...]
#: The passes a block goes through: one for DES, three for Triple DES (EDE).
Schedule = tuple[Pass, ...]

_MASK48 = (1 << 48) - 1


# --- tables, derived from FIPS 46-3 through the readable functions -----------------------------


def _linear_table(images: Sequence[int]) -> list[int]:
    """Tabulate a map that is linear over XOR (every bit selection is) on all ``len(images)``-bit
    inputs, given the image of each single input bit, most significant first. A zero image
    repeats entries, so equal entries share one integer object."""
    table = [0]
    for image in images:
        table = [t ^ x for t in table for x in (0, image)] if image else [t for t in table for _ in (0, 1)]
    return table


def _round_table(first: int, count: int) -> list[int]:
    """The look-up for S-boxes ``first`` .. ``first + count - 1`` together: indexed by their 6*count
    input bits, it gives E(P(their outputs in place)), i.e. their share of E(f(R, K))."""
    outputs = [0]  # for every input, the S-box outputs side by side (4*count bits)
    for n in range(first, first + count):
        box = [selection_function(n, b) for b in range(64)]
        outputs = [(o << 4) | s for o in outputs for s in box]
    lowest = 32 - 4 * (first + count - 1)  # where the last box's output sits in the 32 bits
    images = [expansion(permutation(1 << (lowest + i))) for i in reversed(range(4 * count))]
    shares = _linear_table(images)  # 16**count values, shared by the 64**count entries
    return list(map(shares.__getitem__, outputs))


def _ip_tables() -> list[list[int]]:
    """Per input byte: the contribution of each of its values to E(L0) << 48 | E(R0)."""
    images = []
    for bit in range(1, 65):
        lr = initial_permutation(1 << (64 - bit))
        images.append((expansion(lr >> 32) << 48) | expansion(lr & 0xFFFFFFFF))
    return [_linear_table(images[i : i + 8]) for i in range(0, 64, 8)]


def _fp_tables(high: bool) -> list[list[int]]:
    """IP^-1 read from an expanded half, E(R16) (``high``) or E(L16), in four 12-bit chunks.

    Each bit of the half is read from the first of its places in E; its duplicate is ignored.
    """
    first_place: dict[int, int] = {}
    for place, bit in enumerate(E, start=1):
        first_place.setdefault(bit, place)
    images = [
        final_permutation((1 << (32 - bit)) << (32 if high else 0)) if first_place[bit] == place else 0
        for place, bit in enumerate(E, start=1)
    ]
    return [_linear_table(images[i : i + 12]) for i in range(0, 48, 12)]


_S12 = _round_table(1, 2)  # S1 S2: bits 1..12 of E(R) xor K (FIPS numbering, 1 = leftmost)
_S34 = _round_table(3, 2)  # S3 S4: bits 13..24
_S56 = _round_table(5, 2)  # S5 S6: bits 25..36
_S78 = _round_table(7, 2)  # S7 S8: bits 37..48
_I0, _I1, _I2, _I3, _I4, _I5, _I6, _I7 = _ip_tables()
_R0, _R1, _R2, _R3 = _fp_tables(high=True)
_L0, _L1, _L2, _L3 = _fp_tables(high=False)


# --- the cipher ---------------------------------------------------------------------------------


def crypt_int(block: int, schedule: Schedule) -> int:
    """IP, 16 rounds per pass of ``schedule``, IP^-1, on a 64-bit integer.

    Between passes the halves are exchanged, which is what IP^-1 followed by IP leaves of the
    preoutput R16 L16: so ``(K1..K16,)`` is DES encryption, ``(K16..K1,)`` DES decryption, and
    ``(K1, reversed K2, K3)`` Triple DES EDE encryption.
    """
    t1, t2, t3, t4 = _S12, _S34, _S56, _S78
    b = block.to_bytes(8, "big")  # OverflowError unless 0 <= block < 2**64
    v = _I0[b[0]] + _I1[b[1]] + _I2[b[2]] + _I3[b[3]] + _I4[b[4]] + _I5[b[5]] + _I6[b[6]] + _I7[b[7]]
    l, r = v >> 48, v & _MASK48
    for keys in schedule:
        k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11, k12, k13, k14, k15, k16 = keys
        w = r ^ k1
        h = w >> 24
        w &= 0xFFFFFF
        l ^= t1[h >> 12] + t2[h & 0xFFF] + t3[w >> 12] + t4[w & 0xFFF]
        w = l ^ k2
        h = w >> 24
        w &= 0xFFFFFF
        r ^= t1[h >> 12] + t2[h & 0xFFF] + t3[w >> 12] + t4[w & 0xFFF]
        w = r ^ k3
        h = w >> 24
        w &= 0xFFFFFF
        l ^= t1[h >> 12] + t2[h & 0xFFF] + t3[w >> 12] + t4[w & 0xFFF]
        w = l ^ k4
        h = w >> 24
        w &= 0xFFFFFF
        r ^= t1[h >> 12] + t2[h & 0xFFF] + t3[w >> 12] + t4[w & 0xFFF]
        w = r ^ k5
        h = w >> 24
        w &= 0xFFFFFF
        l ^= t1[h >> 12] + t2[h & 0xFFF] + t3[w >> 12] + t4[w & 0xFFF]
        w = l ^ k6
        h = w >> 24
        w &= 0xFFFFFF
        r ^= t1[h >> 12] + t2[h & 0xFFF] + t3[w >> 12] + t4[w & 0xFFF]
        w = r ^ k7
        h = w >> 24
        w &= 0xFFFFFF
        l ^= t1[h >> 12] + t2[h & 0xFFF] + t3[w >> 12] + t4[w & 0xFFF]
        w = l ^ k8
        h = w >> 24
        w &= 0xFFFFFF
        r ^= t1[h >> 12] + t2[h & 0xFFF] + t3[w >> 12] + t4[w & 0xFFF]
        w = r ^ k9
        h = w >> 24
        w &= 0xFFFFFF
        l ^= t1[h >> 12] + t2[h & 0xFFF] + t3[w >> 12] + t4[w & 0xFFF]
        w = l ^ k10
        h = w >> 24
        w &= 0xFFFFFF
        r ^= t1[h >> 12] + t2[h & 0xFFF] + t3[w >> 12] + t4[w & 0xFFF]
        w = r ^ k11
        h = w >> 24
        w &= 0xFFFFFF
        l ^= t1[h >> 12] + t2[h & 0xFFF] + t3[w >> 12] + t4[w & 0xFFF]
        w = l ^ k12
        h = w >> 24
        w &= 0xFFFFFF
        r ^= t1[h >> 12] + t2[h & 0xFFF] + t3[w >> 12] + t4[w & 0xFFF]
        w = r ^ k13
        h = w >> 24
        w &= 0xFFFFFF
        l ^= t1[h >> 12] + t2[h & 0xFFF] + t3[w >> 12] + t4[w & 0xFFF]
        w = l ^ k14
        h = w >> 24
        w &= 0xFFFFFF
        r ^= t1[h >> 12] + t2[h & 0xFFF] + t3[w >> 12] + t4[w & 0xFFF]
        w = r ^ k15
        h = w >> 24
        w &= 0xFFFFFF
        l ^= t1[h >> 12] + t2[h & 0xFFF] + t3[w >> 12] + t4[w & 0xFFF]
        w = l ^ k16
        h = w >> 24
        w &= 0xFFFFFF
        r ^= t1[h >> 12] + t2[h & 0xFFF] + t3[w >> 12] + t4[w & 0xFFF]
        l, r = r, l
    # l, r now hold R16 and L16 (expanded): the preoutput R16 L16 goes through IP^-1.
    lh, rh = l >> 24, r >> 24
    l &= 0xFFFFFF
    r &= 0xFFFFFF
    return (
        _R0[lh >> 12] + _R1[lh & 0xFFF] + _R2[l >> 12] + _R3[l & 0xFFF]
        + _L0[rh >> 12] + _L1[rh & 0xFFF] + _L2[r >> 12] + _L3[r & 0xFFF]
    )  # fmt: skip


def _selection_tables(table: Sequence[int], in_bits: int) -> list[list[int]]:
    """Per input byte: the contribution of each of its values to a FIPS 46-3 bit selection."""
    images = [permute(1 << (in_bits - bit), table, in_bits) for bit in range(1, in_bits + 1)]
    return [_linear_table(images[i : i + 8]) for i in range(0, in_bits, 8)]


_PC1 = _selection_tables(PC1, 64)
_PC2 = _selection_tables(PC2, 56)
_MASK28 = (1 << 28) - 1


def des_schedule(key: bytes, *, decrypt: bool = False) -> Pass:
    """The 16 subkeys of ``key`` in the order one pass uses them (reversed to decipher): the key
    schedule of :func:`ciphers.des.key_schedule`, with PC-1 and PC-2 looked up a byte at a time."""
    k = check_key(key)
    cd = sum(t[b] for t, b in zip(_PC1, k, strict=True))
    c, d = cd >> 28, cd & _MASK28
    p0, p1, p2, p3, p4, p5, p6 = _PC2
    subkeys = []
    for shift in SHIFTS:
        c = ((c << shift) | (c >> (28 - shift))) & _MASK28
        d = ((d << shift) | (d >> (28 - shift))) & _MASK28
        cd = (c << 28) | d
        subkeys.append(
            p0[cd >> 48] + p1[(cd >> 40) & 255] + p2[(cd >> 32) & 255] + p3[(cd >> 24) & 255]
            + p4[(cd >> 16) & 255] + p5[(cd >> 8) & 255] + p6[cd & 255]
        )  # fmt: skip
    return tuple(subkeys[::-1] if decrypt else subkeys)


# --- bulk operations on bit slices ------------------------------------------------------------

#: Input sizes in bytes from which the bitslice path is faster than this one, for single and Triple
#: DES; the modes switch paths there. Measured, not guessed: ``python -m bench des`` times ECB on
#: 8 bytes to 2 KiB on both paths ("Small inputs": medians of interleaved runs, each sample many
#: calls) and says where they cross. With the committed circuits, on the 2-core machine this was
#: tuned on (load average about 2 from other work), two runs crossed at 640 bytes (80 blocks) for
#: DES and 576 bytes (72 blocks) for 3DES; below that the table-driven path is faster, and the
#: modes' default stays within a few percent of what they did before the bitslice path existed.
BITSLICE_THRESHOLD = 640
TDES_BITSLICE_THRESHOLD = 576
NEVER = sys.maxsize


class BitsliceBulk:
    """The bulk operations of :class:`~ciphers.blockcipher.BulkBlockCipher` on bit slices.

    For classes that keep their subkeys as ``_encrypt`` and ``_decrypt`` schedules. ``bitslice``
    says when to use them: ``None`` from ``threshold`` bytes on (the measured default), ``True``
    always, ``False`` never (the modes then run one block at a time).
    """

    __slots__ = ("_round_keys", "bulk_threshold")
    _encrypt: Schedule
    _decrypt: Schedule
    #: The input size in bytes from which the modes use the bulk operations.
    bulk_threshold: int
    _round_keys: dict[bool, RoundKeys]

    def _choose(self, bitslice: bool | None, threshold: int) -> None:
        self.bulk_threshold = threshold if bitslice is None else (0 if bitslice else NEVER)
        self._round_keys = {}

    def _keys(self, decrypt: bool) -> RoundKeys:
        keys = self._round_keys.get(decrypt)
        if keys is None:
            keys = self._round_keys[decrypt] = RoundKeys.of(self._decrypt if decrypt else self._encrypt)
        return keys

    def encrypt_blocks(self, data: bytes) -> bytes:
        """Encrypt every 8-byte block of ``data`` at once on bit slices (ECB)."""
        return bulk.crypt_blocks(self._keys(False), _whole_blocks(data))

    def decrypt_blocks(self, data: bytes) -> bytes:
        """Decrypt every 8-byte block of ``data`` at once on bit slices."""
        return bulk.crypt_blocks(self._keys(True), _whole_blocks(data))

    def encrypt_counter_blocks(self, start: int, count: int) -> bytes:
        """The CTR keystream E(start) || E(start + 1) || ... (mod 2^64), ``count`` blocks."""
        return bulk.counter_keystream(self._keys(False), start, count)

    def cbc_encrypt_streams(self, streams: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        """CBC-encrypt many (IV, whole blocks) streams side by side, one bit of each word a stream."""
        return bulk.cbc_encrypt_streams(self._keys(False), [(iv, _whole_blocks(d)) for iv, d in streams])

    @staticmethod
    def cbc_encrypt_each(streams: Sequence[tuple[BitsliceBulk, bytes, bytes]]) -> Job[list[bytes]]:
        """CBC-encrypt many (cipher, IV, whole blocks) streams side by side, each under its own
        cipher's key (the key bits become slices too: :class:`~ciphers.bitslice.des.LaneKeys`),
        as a :data:`~ciphers.jobs.Job` (:func:`ciphers.bitslice.bulk.cbc_encrypt_streams_job`).
        The ciphers must be of one kind (one pass each, or three)."""
        keys = LaneKeys.of([cipher._encrypt for cipher, _, _ in streams])
        return bulk.cbc_encrypt_streams_job(keys, [(iv, _whole_blocks(d)) for _, iv, d in streams])


def _whole_blocks(data: bytes) -> bytes:
    if len(data) % BLOCK_SIZE:
        raise ValueError(f"bulk operations take whole {BLOCK_SIZE}-byte blocks, got {len(data)} bytes")
    return bytes(data)


class FastDES(BitsliceBulk):
    """DES as a :class:`~ciphers.blockcipher.BulkBlockCipher` on the fast path. INSECURE (56-bit key).

    Same answers and the same key checks and weak-key warnings as :class:`ciphers.des.DES`.
    ``encrypt_int``/``decrypt_int`` take integers in [0, 2**64) (anything else raises OverflowError).
    Many blocks at once go through the bitslice path (see :class:`BitsliceBulk` for ``bitslice``).
    """

    block_size = BLOCK_SIZE
    __slots__ = ("_decrypt", "_encrypt")

    def __init__(self, key: bytes, *, bitslice: bool | None = None) -> None:
        key = check_key(key)
        warn_about_key(key)
        subkeys = des_schedule(key)
        self._encrypt: Schedule = (subkeys,)
        self._decrypt: Schedule = (subkeys[::-1],)
        self._choose(bitslice, BITSLICE_THRESHOLD)

    def encrypt_int(self, block: int) -> int:
        """Encipher a 64-bit integer block."""
        return crypt_int(block, self._encrypt)

    def decrypt_int(self, block: int) -> int:
        """Decipher a 64-bit integer block."""
        return crypt_int(block, self._decrypt)

    def encrypt_block(self, block: bytes) -> bytes:
        """Encipher one 8-byte block."""
        return crypt_int(check_block(block), self._encrypt).to_bytes(BLOCK_SIZE, "big")

    def decrypt_block(self, block: bytes) -> bytes:
        """Decipher one 8-byte block."""
        return crypt_int(check_block(block), self._decrypt).to_bytes(BLOCK_SIZE, "big")

    def __repr__(self) -> str:
        return "FastDES(<key hidden>)"

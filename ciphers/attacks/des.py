"""Attacks on DES and on CBC: key search, weak keys, complementation, double DES, padding oracles.

* **Exhaustive search** finds a 56-bit key in at most 2^56 trial encryptions (Diffie and Hellman
  1977; the EFF machine did it in 56 hours in 1998). Here part of the key is known, so the search
  covers 2^k keys for a small k; the cost doubles with every unknown bit.
* **The complementation property** E_~K(~P) = ~E_K(P) halves any search given E_K(P) and E_K(~P).
* **Weak keys** make encryption an involution with 2^32 fixed points (hence the warnings).
* **Meet-in-the-middle** breaks double DES with 2 * 2^56 operations instead of 2^112: why Triple
  DES exists, and why it has three keys (two-key EDE still resists it, but offers 112 bits at most).
* **The CBC padding oracle** (Vaudenay 2002) decrypts with ~128 queries per byte when a receiver
  tells good padding from bad; the remedy is encrypt-then-MAC: check the tag before unpadding.

Reduced key spaces are :class:`KeySpace` objects. The searches run on bit slices, as software key
search is done in practice (Biham, "A Fast New DES Implementation in Software", FSE 1997; John the
Ripper's DES is bitsliced): W candidate keys per pass, each key bit a W-bit word (the known bits
all zeros or all ones, the unknown ones the patterns of the candidate numbers), the known block a
constant, and most wrong keys rejected before the last round (:func:`ciphers.bitslice.des.matching_keys`).
:meth:`KeySpace.schedules` gives the candidates one at a time instead, subkeys computed from
linearity: PC-1, the rotations and PC-2 only select key bits, so schedule(K xor K') =
schedule(K) xor schedule(K').
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from operator import xor

from ciphers.bits import bytes_to_int, int_to_bytes
from ciphers.bitslice.bulk import block_number_bit
from ciphers.bitslice.des import encrypt_many_keys, matching_keys
from ciphers.bitslice.transpose import padded_length, slices_to_blocks
from ciphers.des import feistel, final_permutation, initial_permutation, key_schedule, set_odd_parity
from ciphers.des_fast import FastDES, Pass, crypt_int
from ciphers.errors import PaddingError
from ciphers.modes import cbc_decrypt
from ciphers.padding import pkcs7_unpad

BLOCK = 8
MASK64 = (1 << 64) - 1
MASK32 = (1 << 32) - 1
MASK48 = (1 << 48) - 1
KEY_BITS: tuple[int, ...] = tuple(position for position in range(1, 65) if position % 8)
"""The 56 positions (FIPS 46-3 numbering, 1 = leftmost bit) that carry key bits; 8, 16, ... are parity."""
SEARCH_WIDTH = 1 << 16
"""Candidate keys per bitslice pass: words of 64 Kibit, where word operations cost least per bit."""


def last_key_bits(count: int) -> tuple[int, ...]:
    """The last ``count`` key-bit positions: the unknown part of a reduced key space."""
    if not 0 <= count <= len(KEY_BITS):
        raise ValueError(f"a DES key has {len(KEY_BITS)} key bits")
    return KEY_BITS[len(KEY_BITS) - count :]


def complement(data: bytes) -> bytes:
    """Every bit of ``data`` flipped (a complemented key keeps odd parity)."""
    return bytes(b ^ 0xFF for b in data)


@dataclass(frozen=True)
class KeySpace:
    """The DES keys that agree with ``base`` outside the ``unknown`` bit positions.

    Candidate number v sets the unknown bits to the binary digits of v, first position = most
    significant; keys are tried in that order, 0 to 2^k - 1, and returned with odd parity.
    """

    base: bytes
    unknown: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.base) != BLOCK:
            raise ValueError("a DES key is 8 bytes")
        if len(set(self.unknown)) != len(self.unknown) or not set(self.unknown) <= set(KEY_BITS):
            raise ValueError("unknown positions must be distinct key-bit positions (not parity bits)")

    @property
    def size(self) -> int:
        """2^k, the number of candidate keys."""
        return 1 << len(self.unknown)

    def _masks(self) -> list[int]:
        return [1 << (64 - position) for position in self.unknown]

    def key(self, value: int) -> bytes:
        """Candidate number ``value``."""
        key = bytes_to_int(self.base)
        for i, mask in enumerate(self._masks()):
            bit = (value >> (len(self.unknown) - 1 - i)) & 1
            key = (key & ~mask) | (mask if bit else 0)
        return set_odd_parity(int_to_bytes(key, BLOCK))

    def value(self, key: bytes) -> int:
        """The candidate number of ``key`` (its unknown bits)."""
        k = bytes_to_int(key)
        return sum(1 << (len(self.unknown) - 1 - i) for i, mask in enumerate(self._masks()) if k & mask)

    def passes(self, width: int = SEARCH_WIDTH) -> Iterator[tuple[int, int, list[int], int]]:
        """The space in bitslice passes: (first candidate number, how many, the 64 key words, the
        all-ones word). Lane t of every word is candidate ``first + t``; a known key bit is a
        constant word, the unknown bit that is bit b of the candidate number is the word whose
        bit t is bit b of t (for b below log2 of the width) or a constant (above)."""
        k = len(self.unknown)
        width = min(width, padded_length(self.size))
        low = width.bit_length() - 1  # candidate-number bits that vary within a pass
        ones = (1 << width) - 1
        base = bytes_to_int(self.base)
        known = [ones if (base >> (64 - position)) & 1 else 0 for position in range(1, 65)]
        patterns = {b: block_number_bit(b, width) for b in range(low)}
        for first in range(0, self.size, width):
            key = list(known)
            for i, position in enumerate(self.unknown):
                b = k - 1 - i
                key[position - 1] = patterns[b] if b < low else (ones if (first >> b) & 1 else 0)
            yield first, min(width, self.size - first), key, ones

    def complement(self) -> KeySpace:
        """The space of the complements of these keys (same unknown positions, base complemented)."""
        return KeySpace(complement(self.base), self.unknown)

    def schedules(self, *, decrypt: bool = False) -> Iterator[tuple[int, Pass]]:
        """Each candidate number with its 16 subkeys (reversed when ``decrypt``), in order.

        The subkeys of candidate v are those of the base with the unknown bits cleared, xor the
        subkeys of each one-bit key in v; one tuple xor per candidate.
        """

        def schedule(key: int) -> tuple[int, ...]:
            subkeys = key_schedule(int_to_bytes(key, BLOCK))
            return tuple(subkeys[::-1] if decrypt else subkeys)

        masks = self._masks()
        cleared = bytes_to_int(self.base)
        for mask in masks:
            cleared &= ~mask
        deltas = [schedule(mask) for mask in masks]  # most significant unknown bit first
        k = len(masks)
        low_count = min(k, 8)
        low_table: list[tuple[int, ...]] = [(0,) * 16]
        for delta in deltas[k - low_count :]:
            low_table = [t for base in low_table for t in (base, tuple(map(xor, base, delta)))]
        for high in range(1 << (k - low_count)):
            subkeys = schedule(cleared)
            for i, delta in enumerate(deltas[: k - low_count]):
                if (high >> (k - low_count - 1 - i)) & 1:
                    subkeys = tuple(map(xor, subkeys, delta))
            for low, low_subkeys in enumerate(low_table):
                yield (high << low_count) | low, tuple(map(xor, subkeys, low_subkeys))


# --- exhaustive search and the complementation property -----------------------------------------


@dataclass(frozen=True)
class SearchResult:
    """The key found (``None`` if the space did not hold it) and the trials: the keys of the space,
    in its order, up to and including the one found (all of them if none was), which is what a
    search one key at a time makes. The bitslice search evaluates them W at a time, so it also
    computes the rest of the last pass."""

    key: bytes | None
    trials: int


def _first_lane(mask: int) -> int:
    """The lowest lane set in a nonzero mask word."""
    return (mask & -mask).bit_length() - 1


def exhaustive_search(space: KeySpace, plaintext: bytes, ciphertext: bytes) -> SearchResult:
    """Try every key of ``space`` on one known plaintext block until one gives ``ciphertext``.

    Diffie and Hellman, "Exhaustive cryptanalysis of the NBS Data Encryption Standard", Computer
    10(6), 1977. On average half the space is searched. With 2^k <= 2^24 keys and a 64-bit block a
    false match has probability below 2^-40; a second known block would confirm.
    """
    p, c = bytes_to_int(plaintext), bytes_to_int(ciphertext)
    for first, count, key, ones in space.passes():
        (hits,) = matching_keys(p, [c], key, ones)
        hits &= (1 << count) - 1
        if hits:
            value = first + _first_lane(hits)
            return SearchResult(space.key(value), value + 1)
    return SearchResult(None, space.size)


def sequential_search(space: KeySpace, plaintext: bytes, ciphertext: bytes) -> SearchResult:
    """:func:`exhaustive_search` one key at a time on the table-driven path (what it was before it
    ran on bit slices), for comparison: the same result, many times slower."""
    p, c = bytes_to_int(plaintext), bytes_to_int(ciphertext)
    for trials, (value, subkeys) in enumerate(space.schedules(), start=1):
        if crypt_int(p, (subkeys,)) == c:
            return SearchResult(space.key(value), trials)
    return SearchResult(None, space.size)


def complementation_search(
    space: KeySpace, plaintext: bytes, ciphertext: bytes, complement_ciphertext: bytes
) -> SearchResult:
    """Search ``space`` and its complement with one trial encryption per key of ``space``.

    Given C1 = E_K(P) and C2 = E_K(~P), a candidate K' with E_K'(P) = C1 is the key, and one with
    E_K'(P) = ~C2 means E_~K'(~P) = C2: the key is ~K'. So 2^k trials cover 2^(k+1) keys (DES's
    complementation property, Hellman et al., "Results of an initial attempt to cryptanalyze the
    NBS Data Encryption Standard", Stanford SEL 76-042, 1976; HAC §7.4.3). For DES itself: 2^55.
    """
    p = bytes_to_int(plaintext)
    c1, not_c2 = bytes_to_int(ciphertext), bytes_to_int(complement_ciphertext) ^ MASK64
    for first, count, key, ones in space.passes():
        valid = (1 << count) - 1
        direct, complemented = (hits & valid for hits in matching_keys(p, [c1, not_c2], key, ones))
        if direct or complemented:
            value = first + min(_first_lane(h) for h in (direct, complemented) if h)
            if direct >> (value - first) & 1:
                return SearchResult(space.key(value), value + 1)
            return SearchResult(complement(space.key(value)), value + 1)
    return SearchResult(None, space.size)


def _lanes(words: Sequence[int], count: int) -> tuple[int, ...]:
    """The 64-bit value in each of the first ``count`` lanes of 64 words."""
    values: tuple[int, ...] = struct.unpack(f">{count}Q", slices_to_blocks(words, count))
    return values


# --- weak keys ----------------------------------------------------------------------------------


def weak_key_fixed_point(key: bytes, half: int) -> bytes:
    """The fixed point of weak key ``key`` whose state after round 8 is (half, half).

    With all 16 subkeys equal, a round F(L, R) = (R, L xor f(R)) satisfies swap F swap = F^-1, so
    DES = IP^-1 swap F^16 IP fixes exactly the blocks whose state after 8 rounds has L8 = R8:
    2^32 of them, one for each ``half``, found by running 8 rounds backwards from (half, half)
    (Moore and Simmons, "Cycle structure of the DES for keys having palindromic (or
    antipalindromic) sequences of round keys", IEEE Trans. Software Eng. 13(2), 1987).
    ``ValueError`` unless ``key`` is weak.
    """
    subkeys = key_schedule(key)
    if len(set(subkeys)) != 1:
        raise ValueError("not a weak key: its 16 subkeys are not all equal")
    k = subkeys[0]
    left = right = half & MASK32
    for _ in range(8):  # F^-1(L, R) = (R xor f(L), L)
        left, right = right ^ feistel(left, k), left
    return int_to_bytes(final_permutation((left << 32) | right), BLOCK)


def weak_key_fixed_points(key: bytes, count: int, start: int = 0) -> list[bytes]:
    """``count`` distinct fixed points of a weak key, from halves start, start + 1, ..."""
    return [weak_key_fixed_point(key, half) for half in range(start, start + count)]


def round_state_after(key: bytes, block: bytes, rounds: int) -> tuple[int, int]:
    """(L, R) after ``rounds`` rounds of DES: to see L8 = R8 at a weak key's fixed point."""
    left, right = divmod(initial_permutation(bytes_to_int(block)), 1 << 32)
    for k in key_schedule(key)[:rounds]:
        left, right = right, left ^ feistel(right, k)
    return left, right


# --- double DES: meet-in-the-middle --------------------------------------------------------------


@dataclass(frozen=True)
class MeetInTheMiddleResult:
    """The keys found, and the cost: one encryption per K1, one decryption per K2 tried, and two
    DES operations per candidate pair checked against the other known blocks."""

    key1: bytes | None
    key2: bytes | None
    encryptions: int
    decryptions: int
    checks: int
    table_size: int

    @property
    def operations(self) -> int:
        """Single-DES operations in all."""
        return self.encryptions + self.decryptions + 2 * self.checks


def double_encrypt(key1: bytes, key2: bytes, block: bytes) -> bytes:
    """Double DES: E_K2(E_K1(P)). Its 112 key bits buy only 57 bits of security."""
    return FastDES(key2).encrypt_block(FastDES(key1).encrypt_block(block))


def meet_in_the_middle(
    space1: KeySpace, space2: KeySpace, pairs: Sequence[tuple[bytes, bytes]]
) -> MeetInTheMiddleResult:
    """Find K1, K2 with E_K2(E_K1(P)) = C from known pairs in |space1| + |space2| operations.

    Tabulate E_K1(P1) for every K1, then for each K2 compute D_K2(C1) and look it up: a hit is a
    candidate pair, checked on the other pairs (Diffie and Hellman 1977; Merkle and Hellman,
    "On the security of multiple encryption", CACM 24(7), 1981). Brute force would need
    |space1| * |space2| double encryptions. Both sides are computed a bitslice pass of keys at a
    time; ``decryptions`` counts those up to the K2 found, in the space's order.
    """
    if len(pairs) < 2:
        raise ValueError("meet-in-the-middle needs two known pairs: the second rules out false matches")
    (p1, c1), *others = [(bytes_to_int(p), bytes_to_int(c)) for p, c in pairs]
    table: dict[int, list[int]] = {}
    for first, count, key, ones in space1.passes():
        for t, middle in enumerate(_lanes(encrypt_many_keys(p1, key, ones), count)):
            table.setdefault(middle, []).append(first + t)
    checks = 0
    for first, count, key, ones in space2.passes():
        for t, middle in enumerate(_lanes(encrypt_many_keys(c1, key, ones, decrypt=True), count)):
            for value1 in table.get(middle, ()):
                checks += 1
                key1, key2 = space1.key(value1), space2.key(first + t)
                inner, outer = FastDES(key1), FastDES(key2)
                if all(outer.encrypt_int(inner.encrypt_int(p)) == c for p, c in others):
                    return MeetInTheMiddleResult(key1, key2, space1.size, first + t + 1, checks, len(table))
    return MeetInTheMiddleResult(None, None, space1.size, space2.size, checks, len(table))


def double_des_exhaustive_search(
    space1: KeySpace, space2: KeySpace, pairs: Sequence[tuple[bytes, bytes]]
) -> tuple[bytes, bytes, int] | None:
    """Brute force on double DES for comparison: (K1, K2, key pairs tried), or ``None``. For each
    K1 in turn, every K2 is tried on its middle value, a bitslice pass of K2s at a time."""
    (p1, c1), *others = [(bytes_to_int(p), bytes_to_int(c)) for p, c in pairs]
    second = list(space2.passes())
    for first1, count1, key1_words, ones1 in space1.passes():
        for t1, middle in enumerate(_lanes(encrypt_many_keys(p1, key1_words, ones1), count1)):
            value1 = first1 + t1
            for first2, count2, key2_words, ones2 in second:
                (hits,) = matching_keys(middle, [c1], key2_words, ones2)
                hits &= (1 << count2) - 1
                while hits:
                    t2 = _first_lane(hits)
                    hits &= hits - 1
                    key1, key2 = space1.key(value1), space2.key(first2 + t2)
                    if all(
                        double_encrypt(key1, key2, int_to_bytes(p, BLOCK)) == int_to_bytes(c, BLOCK)
                        for p, c in others
                    ):
                        return key1, key2, value1 * space2.size + first2 + t2 + 1
    return None


# --- the CBC padding oracle ---------------------------------------------------------------------

PaddingOracle = Callable[[bytes, bytes], bool]
"""A receiver that, given (IV, ciphertext), reveals whether the CBC plaintext was well padded."""


def cbc_padding_oracle(key: bytes) -> PaddingOracle:
    """The victim: decrypts with our CBC and PKCS#7 and lets the sender see whether padding failed."""
    cipher = FastDES(key)

    def oracle(iv: bytes, ciphertext: bytes) -> bool:
        try:
            cbc_decrypt(cipher, iv, ciphertext)
        except PaddingError:
            return False
        return True

    return oracle


def encrypt_then_mac_oracle(key: bytes, mac_key: bytes, tag: bytes) -> PaddingOracle:
    """The same receiver done right: it checks HMAC-SHA256(IV || C) against the tag first, so a
    modified ciphertext is rejected before any padding is looked at, and every answer is "no"."""
    cipher = FastDES(key)

    def oracle(iv: bytes, ciphertext: bytes) -> bool:
        expected = hmac.new(mac_key, iv + ciphertext, "sha256").digest()
        if not hmac.compare_digest(expected, tag):
            return False
        try:
            cbc_decrypt(cipher, iv, ciphertext)
        except PaddingError:
            return False
        return True

    return oracle


@dataclass(frozen=True)
class PaddingOracleResult:
    """The recovered plaintext (padding removed) and the number of oracle queries."""

    plaintext: bytes
    queries: int


def padding_oracle_attack(iv: bytes, ciphertext: bytes, oracle: PaddingOracle) -> PaddingOracleResult:
    """Decrypt a CBC ciphertext with a padding oracle, byte by byte from the end of each block.

    For block C_i, forge a previous block X and ask whether X, C_i decrypts to valid padding: when
    D(C_i) xor X ends in pad bytes 01, or 02 02, ..., the byte guessed in X gives a byte of D(C_i),
    and P_i = D(C_i) xor C_(i-1). At most 256 queries a byte, 128 on average (Vaudenay, "Security
    flaws induced by CBC padding", EUROCRYPT 2002). ``RuntimeError`` if no guess is accepted.
    """
    queries = 0

    def ask(prev: bytes, block: bytes) -> bool:
        nonlocal queries
        queries += 1
        return oracle(prev, block)

    blocks = [iv] + [ciphertext[i : i + BLOCK] for i in range(0, len(ciphertext), BLOCK)]
    plain = b""
    for prev, block in pairwise(blocks):
        inter = bytearray(BLOCK)  # D(block), found from the right
        for pad in range(1, BLOCK + 1):
            j = BLOCK - pad
            tail = bytes(inter[t] ^ pad for t in range(j + 1, BLOCK))
            for guess in range(256):
                forged = bytes(j) + bytes((guess,)) + tail
                if not ask(forged, block):
                    continue
                if pad == 1:  # 02 02 (etc.) would pass too: change the byte before and ask again
                    probe = bytearray(forged)
                    probe[j - 1] ^= 1
                    if not ask(bytes(probe), block):
                        continue
                inter[j] = guess ^ pad
                break
            else:
                raise RuntimeError("no guess gave valid padding: this receiver is not a padding oracle")
        plain += bytes(a ^ b for a, b in zip(inter, prev, strict=True))
    return PaddingOracleResult(pkcs7_unpad(plain, BLOCK), queries)

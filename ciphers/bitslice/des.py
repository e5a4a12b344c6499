"""DES on bit slices (Biham, "A Fast New DES Implementation in Software", FSE 1997). INSECURE.

DES has a 56-bit key and falls to exhaustive search; this module exists to show how software DES is
made fast, and to run the toolkit's bulk modes and key searches at a usable speed. Read
:mod:`ciphers.des` to learn the algorithm: this is the same FIPS 46-3 computation done as a Boolean
circuit on W blocks (or W keys) at once, one W-bit word per bit (:mod:`ciphers.bitslice.transpose`).

* **Every permutation is a renaming.** IP, IP^-1, E and P move bits, and bits are words here, so
  they are list indexing and cost nothing; so are PC-1, the rotations and PC-2, which turn a key's
  56 bits into subkey bits (:data:`KEY_BITS`, :func:`subkey_words`).
* **Each S-box is a circuit** of AND, OR, XOR and NOT gates, one big-integer operation each
  (:mod:`ciphers.bitslice.sboxes`, made by :mod:`ciphers.bitslice.search`).
* **Key bits are words too.** Under one key a key bit is the all-zeros or the all-ones word, so
  XORing it into an S-box input is a NOT or nothing (:class:`RoundKeys`; the code XORs either
  word, which costs about the same, rather than branch). For a key search the candidate keys' bits
  are slices (:func:`encrypt_many_keys`, :func:`matching_keys`).
* **Complements are bookkeeping.** The circuits may take inputs and give outputs complemented.
  Whether a word holds a bit or its complement is the same for every key and every block, so it is
  worked out once per round (:class:`Polarity`) and folded into the key bits; the output is
  corrected at the end.

Between the passes of Triple DES, IP^-1 then IP cancel, leaving the halves exchanged
(:func:`crypt_slices`), as in :mod:`ciphers.des_fast`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ciphers.bitslice import sboxes
from ciphers.bitslice.rounds import feistel_round
from ciphers.bitslice.transpose import blocks_to_slices, padded_length
from ciphers.des import key_schedule
from ciphers.des_tables import IP, IP_INV, PC1, PC2, SHIFTS, E, P

Words = list[int]

_IP = tuple(p - 1 for p in IP)
_FP = tuple(p - 1 for p in IP_INV)
_E = tuple(p - 1 for p in E)
_P = tuple(p - 1 for p in P)


def _bits(value: int, width: int) -> list[int]:
    """The bits of ``value``, most significant (FIPS bit 1) first."""
    return [(value >> (width - 1 - i)) & 1 for i in range(width)]


def _number(bits: Sequence[int]) -> int:
    """The inverse of :func:`_bits`."""
    return int("".join(map(str, bits)) or "0", 2)


@dataclass(frozen=True)
class Polarity:
    """Which words hold their bit complemented, round by round (the same for every key and block).

    ``inputs[n]`` (48 bits, FIPS order) marks the S-box inputs of round n + 1 that must be
    complemented before the circuit sees them: the circuit's wish, xor the state of the word of R
    it reads. ``halves[n]`` is (L, R) after round n + 1 (32 bits each): a word of L or R holds its
    bit complemented when an odd number of complemented S-box outputs went into it. ``output``
    marks the complemented bits of the result after all the rounds and IP^-1.
    """

    inputs: tuple[int, ...]
    halves: tuple[tuple[int, int], ...]
    output: int

    @classmethod
    def of(
        cls, rounds: int, complemented_inputs: Sequence[int], complemented_outputs: Sequence[int]
    ) -> Polarity:
        """For ``rounds`` rounds (16 a pass; the halves are exchanged between passes)."""
        want = [(complemented_inputs[box] >> i) & 1 for box in range(8) for i in range(6)]
        comes = [(complemented_outputs[box] >> j) & 1 for box in range(8) for j in range(4)]
        f_flips = [comes[p] for p in _P]
        left, right = [0] * 32, [0] * 32
        inputs, halves = [], []
        for n in range(rounds):
            inputs.append(_number([right[e] ^ w for e, w in zip(_E, want, strict=True)]))
            left, right = right, [a ^ b for a, b in zip(left, f_flips, strict=True)]
            halves.append((_number(left), _number(right)))
            if n % 16 == 15:
                left, right = right, left
        preoutput = left + right
        return cls(tuple(inputs), tuple(halves), _number([preoutput[p] for p in _FP]))


#: The polarities of DES (16 rounds) and Triple DES (48), for the circuits of :mod:`~ciphers.bitslice.sboxes`.
POLARITY = {
    passes: Polarity.of(16 * passes, sboxes.COMPLEMENTED_INPUTS, sboxes.COMPLEMENTED_OUTPUTS)
    for passes in (1, 3)
}


# --- the rounds -----------------------------------------------------------------------------------

s1, s2, s3, s4, s5, s6, s7, s8 = sboxes.SBOXES


def feistel_xor(left: Sequence[int], right: Sequence[int], k: Sequence[int], ones: int) -> Words:
    """R_n = L_(n-1) xor f(R_(n-1), K_n), with f(R, K) = P(S(E(R) xor K)), on words (FIPS 46-3,
    "The Cipher Function f"). E and P are only indices: each S-box reads the six words of R its row
    of the E table names (XORed with the six key words), and each word of f is the S-box output
    the P table names, so the lines below are the two tables, 0-based."""
    r, l = right, left
    o1, o2, o3, o4 = s1(r[31] ^ k[0], r[0] ^ k[1], r[1] ^ k[2], r[2] ^ k[3], r[3] ^ k[4], r[4] ^ k[5], ones)
    o5, o6, o7, o8 = s2(r[3] ^ k[6], r[4] ^ k[7], r[5] ^ k[8], r[6] ^ k[9], r[7] ^ k[10], r[8] ^ k[11], ones)
    o9, o10, o11, o12 = s3(
        r[7] ^ k[12], r[8] ^ k[13], r[9] ^ k[14], r[10] ^ k[15], r[11] ^ k[16], r[12] ^ k[17], ones
    )
    o13, o14, o15, o16 = s4(
        r[11] ^ k[18], r[12] ^ k[19], r[13] ^ k[20], r[14] ^ k[21], r[15] ^ k[22], r[16] ^ k[23], ones
    )
    o17, o18, o19, o20 = s5(
        r[15] ^ k[24], r[16] ^ k[25], r[17] ^ k[26], r[18] ^ k[27], r[19] ^ k[28], r[20] ^ k[29], ones
    )
    o21, o22, o23, o24 = s6(
        r[19] ^ k[30], r[20] ^ k[31], r[21] ^ k[32], r[22] ^ k[33], r[23] ^ k[34], r[24] ^ k[35], ones
    )
    o25, o26, o27, o28 = s7(
        r[23] ^ k[36], r[24] ^ k[37], r[25] ^ k[38], r[26] ^ k[39], r[27] ^ k[40], r[28] ^ k[41], ones
    )
    o29, o30, o31, o32 = s8(
        r[27] ^ k[42], r[28] ^ k[43], r[29] ^ k[44], r[30] ^ k[45], r[31] ^ k[46], r[0] ^ k[47], ones
    )
    return [
        l[0] ^ o16, l[1] ^ o7, l[2] ^ o20, l[3] ^ o21,
        l[4] ^ o29, l[5] ^ o12, l[6] ^ o28, l[7] ^ o17,
        l[8] ^ o1, l[9] ^ o15, l[10] ^ o23, l[11] ^ o26,
        l[12] ^ o5, l[13] ^ o18, l[14] ^ o31, l[15] ^ o10,
        l[16] ^ o2, l[17] ^ o8, l[18] ^ o24, l[19] ^ o14,
        l[20] ^ o32, l[21] ^ o27, l[22] ^ o3, l[23] ^ o9,
        l[24] ^ o19, l[25] ^ o13, l[26] ^ o30, l[27] ^ o6,
        l[28] ^ o22, l[29] ^ o11, l[30] ^ o4, l[31] ^ o25,
    ]  # fmt: skip


def crypt_slices(block: Sequence[int], passes: Sequence[Sequence[Sequence[int]]], ones: int) -> Words:
    """IP, 16 rounds per pass, IP^-1, on 64 words; ``passes`` holds each round's 48 key words
    (already folded with :class:`Polarity`). Output words may still hold complements. Each round
    is :func:`feistel_xor` written out as straight-line code (:func:`~ciphers.bitslice.rounds.feistel_round`,
    about a tenth faster)."""
    left = [block[p] for p in _IP[:32]]
    right = [block[p] for p in _IP[32:]]
    for subkeys in passes:
        for subkey in subkeys:
            left, right = right, feistel_round(left, right, subkey, ones)
        left, right = right, left  # R16 L16: what IP^-1 then IP leaves for the next pass
    preoutput = left + right
    return [preoutput[p] for p in _FP]


# --- keys -----------------------------------------------------------------------------------------


def _key_bit_positions() -> tuple[tuple[int, ...], ...]:
    """For each round n and subkey bit i, the key bit (1..64) it is: PC-1, shifts and PC-2 only
    select bits (FIPS 46-3, "Key Schedule Calculation")."""
    c = list(PC1[:28])
    d = list(PC1[28:])
    rounds = []
    for shift in SHIFTS:
        c, d = c[shift:] + c[:shift], d[shift:] + d[:shift]
        cd = c + d
        rounds.append(tuple(cd[p - 1] for p in PC2))
    return tuple(rounds)


#: ``KEY_BITS[n - 1][i - 1]``: the key bit (FIPS numbering, 1..64) that is bit i of subkey K_n.
KEY_BITS = _key_bit_positions()


@dataclass(frozen=True)
class RoundKeys:
    """One key's subkeys as masks of the S-box inputs to complement, round by round: K_n xor
    :class:`Polarity`. ``passes`` is one pass (DES) or three (Triple DES EDE). Like the cipher
    objects, it keeps its key material out of its repr."""

    passes: tuple[tuple[int, ...], ...] = field(repr=False)
    _words: dict[int, list[list[Words]]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, schedule: Sequence[Sequence[int]]) -> RoundKeys:
        """From 48-bit subkeys in the order they are used (:data:`ciphers.des_fast.Schedule`)."""
        flat = [k for subkeys in schedule for k in subkeys]
        masks = [k ^ p for k, p in zip(flat, POLARITY[len(schedule)].inputs, strict=True)]
        return cls(tuple(tuple(masks[16 * i : 16 * i + 16]) for i in range(len(schedule))))

    def words(self, ones: int) -> list[list[Words]]:
        """The key words for words of this width: all-ones where an input is complemented (the
        last few widths are kept: CBC streams ask for the same one at every step)."""
        words = self._words.get(ones)
        if words is None:
            words = [[constant_words(mask, 48, ones) for mask in subkeys] for subkeys in self.passes]
            if len(self._words) >= 4:
                self._words.clear()
            self._words[ones] = words
        return words

    @property
    def output_flips(self) -> int:
        """The output bits that come out complemented."""
        return POLARITY[len(self.passes)].output


@dataclass(frozen=True)
class LaneKeys:
    """Each lane its own key: bit s of every key word is a bit of lane s's subkey, folded with
    :class:`Polarity` as :class:`RoundKeys` folds one key's. Used like :class:`RoundKeys` by
    :func:`encrypt_slices`, at the one width it was built for (:meth:`of`)."""

    passes: tuple[tuple[Words, ...], ...] = field(repr=False)
    ones: int = field(repr=False)
    output_flips: int

    @classmethod
    def of(cls, schedules: Sequence[Sequence[Sequence[int]]]) -> LaneKeys:
        """From each lane's subkeys (lane s: ``schedules[s]``, as :meth:`RoundKeys.of` takes them;
        every lane with the same number of passes), for words of ``padded_length(len(schedules))``
        bits. One transposition turns all the subkeys into slices: subkey n of lane s is block
        ``n * width + s`` (48 bits, left-aligned in 64), so bit i of subkey n of every lane is bits
        ``n * width`` to ``n * width + width - 1`` of slice i."""
        passes = len(schedules[0])
        if any(len(schedule) != passes for schedule in schedules):
            raise ValueError("every lane needs the same number of passes")
        width = padded_length(len(schedules))
        ones = (1 << width) - 1
        rounds = 16 * passes
        subkeys = [0] * (rounds * width)
        for s, schedule in enumerate(schedules):
            flat = [k for subkeys_of_pass in schedule for k in subkeys_of_pass]
            subkeys[s : rounds * width : width] = [k << 16 for k in flat]
        slices = blocks_to_slices(struct.pack(f">{len(subkeys)}Q", *subkeys))[:48]
        polarity = POLARITY[passes].inputs
        words = []
        for n in range(rounds):
            shift, flips = n * width, polarity[n]
            words.append(
                [(w >> shift) & ones ^ (ones if flips >> (47 - i) & 1 else 0) for i, w in enumerate(slices)]
            )
        grouped = tuple(tuple(words[16 * p : 16 * p + 16]) for p in range(passes))
        return cls(grouped, ones, POLARITY[passes].output)

    def words(self, ones: int) -> tuple[tuple[Words, ...], ...]:
        """The key words; ``ones`` must be the width they were built for."""
        if ones != self.ones:
            raise ValueError("lane keys are built for one width")
        return self.passes


class KeyWords(Protocol):
    """What :func:`encrypt_slices` needs of keys: their words at a width and the output's complements."""

    def words(self, ones: int, /) -> Sequence[Sequence[Sequence[int]]]: ...

    @property
    def output_flips(self) -> int: ...


def encrypt_slices(slices: Sequence[int], keys: KeyWords, ones: int) -> Words:
    """The cipher on 64 slices, under one key (:class:`RoundKeys`) or one key a lane
    (:class:`LaneKeys`); encryption or decryption, as ``keys`` say."""
    out = crypt_slices(slices, keys.words(ones), ones)
    flips = keys.output_flips
    return [w ^ ones if flips >> (63 - i) & 1 else w for i, w in enumerate(out)]


def schedule_of(key: bytes, *, decrypt: bool = False) -> tuple[int, ...]:
    """K1..K16 (K16..K1 to decipher), as :func:`ciphers.des.key_schedule` gives them."""
    subkeys = key_schedule(key)
    return tuple(subkeys[::-1] if decrypt else subkeys)


# --- many keys, one block (key search) --------------------------------------------------------------


def constant_words(value: int, width: int, ones: int) -> Words:
    """A ``width``-bit value as words that are all zeros or all ones: the same bits in every lane
    (read off its binary digits, most significant first: a new key costs one of these a round)."""
    return list(map({"0": 0, "1": ones}.__getitem__, format(value, f"0{width}b")))


def subkey_words(key: Sequence[int], ones: int, *, decrypt: bool = False) -> list[Words]:
    """The 16 rounds' 48 key words for keys given as 64 words (word i - 1 is key bit i of every
    lane, parity bits unused), folded with the polarities: the key schedule is only a renaming."""
    polarity = POLARITY[1].inputs
    complements: dict[int, int] = {}
    rounds = []
    for index, n in enumerate(range(15, -1, -1) if decrypt else range(16)):
        words = []
        for p, bit in enumerate(KEY_BITS[n]):
            word = key[bit - 1]
            if polarity[index] >> (47 - p) & 1:
                if bit not in complements:
                    complements[bit] = word ^ ones
                word = complements[bit]
            words.append(word)
        rounds.append(words)
    return rounds


def encrypt_many_keys(block: int, key: Sequence[int], ones: int, *, decrypt: bool = False) -> Words:
    """DES (or its inverse) of one 64-bit block under every key held in the 64 key words."""
    out = crypt_slices(constant_words(block, 64, ones), [subkey_words(key, ones, decrypt=decrypt)], ones)
    flips = POLARITY[1].output
    return [w ^ ones if flips >> (63 - i) & 1 else w for i, w in enumerate(out)]


def _sbox_outputs_to_right() -> tuple[tuple[int, ...], ...]:
    """For S-box j, the bits of f (0-based) its four outputs become: P read backwards."""
    where = {q: i for i, q in enumerate(_P)}
    return tuple(tuple(where[4 * j + o] for o in range(4)) for j in range(8))


_F_BITS = _sbox_outputs_to_right()


def matching_keys(plaintext: int, ciphertexts: Sequence[int], key: Sequence[int], ones: int) -> list[int]:
    """For each ciphertext, the lanes (as a mask word) whose key encrypts ``plaintext`` to it.

    Biham's early rejection, in two steps. R15 is the right half of IP(C) (L16 = R15), so after
    round 15 every lane can be checked against 32 bits without round 16; and round 15 is computed
    one S-box at a time, four bits of R15 each, stopping as soon as no lane matches any
    ciphertext. With W lanes, about log2(W) + 1 bits rule out every wrong key.
    """
    polarity = POLARITY[1]
    subkeys = subkey_words(key, ones)
    left = constant_words(plaintext, 64, ones)
    left, right = [left[p] for p in _IP[:32]], [left[p] for p in _IP[32:]]
    for subkey in subkeys[:14]:
        left, right = right, feistel_xor(left, right, subkey, ones)
    # held = true xor offset: the expected words of R15 and R16 in the polarity they are held in
    r15_offset, r16_offset = polarity.halves[14][1], polarity.halves[15][1]
    preoutputs = [_bits(_ip(c), 64) for c in ciphertexts]
    alive = [ones] * len(ciphertexts)
    k15 = subkeys[14]
    r15 = list(left)  # R15 = L14 xor f(R14, K15), filled in S-box by S-box
    for j, sbox in enumerate(sboxes.SBOXES):
        e = _E[6 * j : 6 * j + 6]
        inputs = [right[e[i]] ^ k15[6 * j + i] for i in range(6)]
        x = inputs
        for o, word in zip(_F_BITS[j], sbox(x[0], x[1], x[2], x[3], x[4], x[5], ones), strict=True):
            r15[o] = left[o] ^ word
            held = r15[o]
            for t, pre in enumerate(preoutputs):
                if alive[t]:
                    want = pre[32 + o] ^ (r15_offset >> (31 - o) & 1)
                    alive[t] &= held if want else held ^ ones
        if not any(alive):
            return alive
    r16 = feistel_xor(right, r15, subkeys[15], ones)
    for t, pre in enumerate(preoutputs):
        for i in range(32):
            if not alive[t]:
                break
            want = pre[i] ^ (r16_offset >> (31 - i) & 1)
            alive[t] &= r16[i] if want else r16[i] ^ ones
    return alive


def _ip(block: int) -> int:
    """IP of a 64-bit integer (to compare a ciphertext with the state before IP^-1)."""
    bits = _bits(block, 64)
    return _number([bits[p] for p in _IP])

"""The Data Encryption Standard, written to be read beside FIPS PUB 46-3. INSECURE: for study only.

DES has a 56-bit key: it was searched exhaustively in 56 hours in 1998 (EFF "Deep Crack") and in
under a day since. It is here so that students can open it up round by round; never protect real
data with it. Triple DES lives in :mod:`ciphers.tdes`; the table-driven fast path for bulk data in
:mod:`ciphers.des_fast` gives the same answers.

Bits are numbered as in the standard: 1 is the leftmost (most significant) bit of a block, and the
tables in :mod:`ciphers.des_tables` are applied with :func:`ciphers.bits.permute`. Every step is a
function named after the standard's term; :func:`trace_block` runs the same functions and keeps
every intermediate value, and :func:`encrypt_block` is that very computation without the record.

Keys are 8 bytes; as in the standard, the low bit of each byte is a parity bit and is ignored.
Weak and semi-weak keys are accepted (students must be able to try them) but reported with an
:class:`~ciphers.errors.InsecureWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ciphers.bits import bytes_to_int, hamming_distance, int_to_bytes, permute, rotate_left
from ciphers.des_tables import IP, IP_INV, PC1, PC2, S_BOXES, SHIFTS, E, P
from ciphers.errors import InsecureWarning, InvalidKeyError

BLOCK_SIZE = 8  # bytes
KEY_SIZE = 8  # bytes, of which 56 bits are key and 8 are parity
ROUNDS = 16
_MASK28 = (1 << 28) - 1
_MASK32 = (1 << 32) - 1


# --- checking inputs ----------------------------------------------------------------------------


def check_key(key: bytes) -> bytes:
    """Return ``key`` as ``bytes`` if it is an 8-byte DES key; otherwise raise InvalidKeyError."""
    if not isinstance(key, bytes | bytearray | memoryview):
        raise InvalidKeyError(f"a DES key must be bytes, not {type(key).__name__}")
    key = bytes(key)
    if len(key) != KEY_SIZE:
        raise InvalidKeyError(f"a DES key must be {KEY_SIZE} bytes (64 bits with parity), got {len(key)}")
    return key


def check_block(block: bytes) -> int:
    """``block`` as a 64-bit integer if it is 8 bytes; otherwise raise TypeError or ValueError."""
    if not isinstance(block, bytes | bytearray | memoryview):
        raise TypeError(f"a DES block must be bytes, not {type(block).__name__}")
    if len(block) != BLOCK_SIZE:
        raise ValueError(f"a DES block must be {BLOCK_SIZE} bytes, got {len(block)}")
    return bytes_to_int(bytes(block))


def check_int(block: int) -> int:
    """``block`` itself if it is a 64-bit block as an integer, in [0, 2**64); else ValueError."""
    if not 0 <= block < 1 << 64:
        raise ValueError("a DES block must be an integer in [0, 2**64)")
    return block


# --- the key schedule (FIPS 46-3, "Key Schedule Calculation") -----------------------------------


def permuted_choice_1(key: int) -> tuple[int, int]:
    """PC-1: select the 56 key bits of the 64-bit key, dropping parity bits; return (C0, D0)."""
    cd = permute(key, PC1, 64)
    return cd >> 28, cd & _MASK28


def permuted_choice_2(c: int, d: int) -> int:
    """PC-2: select the 48 bits of subkey K_n from the 56 bits of C_n D_n."""
    return permute((c << 28) | d, PC2, 56)


def key_schedule(key: bytes) -> list[int]:
    """The 16 48-bit subkeys K1..K16: PC-1, then for each n, C_n and D_n are C_(n-1) and D_(n-1)
    rotated left by the n-th entry of the shift schedule, and K_n = PC-2(C_n D_n)."""
    c, d = permuted_choice_1(bytes_to_int(check_key(key)))
    subkeys = []
    for shift in SHIFTS:
        c, d = rotate_left(c, shift, 28), rotate_left(d, shift, 28)
        subkeys.append(permuted_choice_2(c, d))
    return subkeys


# --- the permutations around the rounds (FIPS 46-3, "Enciphering") ------------------------------


def initial_permutation(block: int) -> int:
    """IP: the 64-bit input block is permuted before the first round."""
    return permute(block, IP, 64)


def final_permutation(block: int) -> int:
    """IP^-1: the preoutput R16 L16 is permuted to give the output block."""
    return permute(block, IP_INV, 64)


# --- the cipher function f (FIPS 46-3, "The Cipher Function f") ---------------------------------


def expansion(r: int) -> int:
    """E: the 32-bit half block R expanded to 48 bits by the E bit-selection table."""
    return permute(r, E, 32)


def split_six_bit_blocks(x: int) -> tuple[int, ...]:
    """B1..B8: a 48-bit value cut into eight 6-bit blocks, B1 leftmost."""
    return tuple((x >> (42 - 6 * j)) & 0x3F for j in range(8))


def selection_function(n: int, b: int) -> int:
    """S_n(B): the first and last bits of the 6-bit block B pick the row, the middle four the column."""
    row = ((b >> 4) & 0b10) | (b & 1)
    column = (b >> 1) & 0xF
    return S_BOXES[n - 1][row][column]


def join_four_bit_blocks(outputs: Sequence[int]) -> int:
    """The eight 4-bit S-box outputs S1(B1)..S8(B8) concatenated into 32 bits."""
    out = 0
    for nibble in outputs:
        out = (out << 4) | nibble
    return out


def substitution(x: int) -> int:
    """S: 48 bits in, 32 bits out; S1(B1) S2(B2) ... S8(B8)."""
    blocks = split_six_bit_blocks(x)
    return join_four_bit_blocks([selection_function(n, b) for n, b in enumerate(blocks, start=1)])


def permutation(x: int) -> int:
    """P: the permutation applied to the 32-bit S-box output."""
    return permute(x, P, 32)


def feistel(r: int, k: int) -> int:
    """The cipher function f(R, K) = P(S(E(R) xor K))."""
    return permutation(substitution(expansion(r) ^ k))


# --- the rounds, recorded -----------------------------------------------------------------------


@dataclass(frozen=True)
class RoundTrace:
    """One of the 16 iterations: L and R are the values after it; the rest are f's intermediates."""

    round: int  # 1..16
    subkey: int  # the 48-bit K used in this round (K16 first when deciphering)
    L: int  # L_n = R_(n-1)
    R: int  # R_n = L_(n-1) xor f(R_(n-1), K)
    expanded: int  # E(R_(n-1)), 48 bits
    xored: int  # E(R_(n-1)) xor K, 48 bits
    sbox_inputs: tuple[int, ...]  # B1..B8, 6 bits each
    sbox_outputs: tuple[int, ...]  # S1(B1)..S8(B8), 4 bits each
    p_output: int  # P(S1(B1)..S8(B8)) = f(R_(n-1), K), 32 bits

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every value as fixed-width lowercase hex."""
        return {
            "round": self.round,
            "subkey": f"{self.subkey:012x}",
            "L": f"{self.L:08x}",
            "R": f"{self.R:08x}",
            "expanded": f"{self.expanded:012x}",
            "xored": f"{self.xored:012x}",
            "sbox_inputs": [f"{b:02x}" for b in self.sbox_inputs],
            "sbox_outputs": [f"{s:x}" for s in self.sbox_outputs],
            "p_output": f"{self.p_output:08x}",
        }


def des_round(number: int, left: int, right: int, subkey: int) -> RoundTrace:
    """One iteration: L_n = R_(n-1), R_n = L_(n-1) xor f(R_(n-1), K_n), keeping f's intermediates.

    This is :func:`feistel` opened up: the same E, S_n and P, one step at a time.
    """
    expanded = expansion(right)
    xored = expanded ^ subkey
    sbox_inputs = split_six_bit_blocks(xored)
    sbox_outputs = tuple(selection_function(n, b) for n, b in enumerate(sbox_inputs, start=1))
    p_output = permutation(join_four_bit_blocks(sbox_outputs))
    return RoundTrace(
        round=number,
        subkey=subkey,
        L=right,
        R=left ^ p_output,
        expanded=expanded,
        xored=xored,
        sbox_inputs=sbox_inputs,
        sbox_outputs=sbox_outputs,
        p_output=p_output,
    )


def iterate_rounds(ip_output: int, subkeys: Sequence[int]) -> tuple[RoundTrace, ...]:
    """The 16 iterations on L0 R0 = IP(block), with the subkeys in the order they are used."""
    left, right = ip_output >> 32, ip_output & _MASK32
    rounds = []
    for number, subkey in enumerate(subkeys, start=1):
        step = des_round(number, left, right, subkey)
        rounds.append(step)
        left, right = step.L, step.R
    return tuple(rounds)


def preoutput(rounds: Sequence[RoundTrace]) -> int:
    """The block R16 L16: the halves after the last round, exchanged (FIPS 46-3, "Enciphering")."""
    last = rounds[-1]
    return (last.R << 32) | last.L


def crypt_int(block: int, subkeys: Sequence[int]) -> int:
    """IP, 16 rounds, IP^-1 on a 64-bit integer. Subkeys K1..K16 encipher; K16..K1 decipher
    (FIPS 46-3, "Deciphering")."""
    return final_permutation(preoutput(iterate_rounds(initial_permutation(block), subkeys)))


def encrypt_block(key: bytes, block: bytes) -> bytes:
    """Encipher one 8-byte block under an 8-byte key (no weak-key warning: use :class:`DES` for that)."""
    return int_to_bytes(crypt_int(check_block(block), key_schedule(key)), BLOCK_SIZE)


def decrypt_block(key: bytes, block: bytes) -> bytes:
    """Decipher one 8-byte block: the same computation with the subkeys in reverse order."""
    return int_to_bytes(crypt_int(check_block(block), key_schedule(key)[::-1]), BLOCK_SIZE)


# --- the trace ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DESTrace:
    """Everything DES computes for one block: the subkeys, IP's output, the 16 rounds, the result."""

    key: bytes
    block: bytes  # the input block (plaintext, or ciphertext when decrypt is true)
    decrypt: bool
    subkeys: tuple[int, ...]  # K1..K16 in the standard's order, whatever the direction
    ip_output: int  # L0 R0
    rounds: tuple[RoundTrace, ...]
    preoutput: int  # R16 L16
    output: bytes  # IP^-1(preoutput)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: hex strings throughout, with ``plaintext`` and ``ciphertext`` named."""
        plaintext, ciphertext = (self.output, self.block) if self.decrypt else (self.block, self.output)
        return {
            "operation": "decrypt" if self.decrypt else "encrypt",
            "key": self.key.hex(),
            "input": self.block.hex(),
            "output": self.output.hex(),
            "plaintext": plaintext.hex(),
            "ciphertext": ciphertext.hex(),
            "subkeys": [f"{k:012x}" for k in self.subkeys],
            "ip_output": f"{self.ip_output:016x}",
            "rounds": [r.to_dict() for r in self.rounds],
            "preoutput": f"{self.preoutput:016x}",
        }


def trace_block(key: bytes, block: bytes, *, decrypt: bool = False) -> DESTrace:
    """Run DES on one block and keep every intermediate value (the same functions as encrypt_block)."""
    key = check_key(key)
    subkeys = key_schedule(key)
    ip_output = initial_permutation(check_block(block))
    rounds = iterate_rounds(ip_output, subkeys[::-1] if decrypt else subkeys)
    pre = preoutput(rounds)
    output = int_to_bytes(final_permutation(pre), BLOCK_SIZE)
    return DESTrace(key, bytes(block), decrypt, tuple(subkeys), ip_output, rounds, pre, output)


def _flip_bit(data: bytes, bit: int, what: str) -> bytes:
    """``data`` with bit ``bit`` flipped, counting 1..64 from the left as FIPS 46-3 does."""
    if not 1 <= bit <= 8 * len(data):
        raise ValueError(f"{what} bit must be in 1..{8 * len(data)}, got {bit}")
    return int_to_bytes(bytes_to_int(data) ^ (1 << (8 * len(data) - bit)), len(data))


def avalanche(
    key: bytes, block: bytes, *, flip_plaintext_bit: int | None = None, flip_key_bit: int | None = None
) -> list[int]:
    """How far a one-bit change spreads: 17 Hamming distances between two encryptions' L R.

    Entry 0 compares L0 R0 (after IP), entry n the halves L_n R_n after round n. Bits count 1..64
    from the left, as in FIPS 46-3; key bits 8, 16, ..., 64 are parity and change nothing.
    """
    if flip_plaintext_bit is None and flip_key_bit is None:
        raise ValueError("give flip_plaintext_bit or flip_key_bit")
    other_key, other_block = key, block
    if flip_plaintext_bit is not None:
        other_block = _flip_bit(block, flip_plaintext_bit, "plaintext")
    if flip_key_bit is not None:
        other_key = _flip_bit(key, flip_key_bit, "key")
    first, second = trace_block(key, block), trace_block(other_key, other_block)
    distances = [hamming_distance(first.ip_output, second.ip_output)]
    for a, b in zip(first.rounds, second.rounds, strict=True):
        distances.append(hamming_distance((a.L << 32) | a.R, (b.L << 32) | b.R))
    return distances


# --- parity, weak and semi-weak keys ------------------------------------------------------------


def _check_key_bytes(key: bytes) -> bytes:
    """A DES key (8 bytes) or a Triple DES key (16 or 24 bytes) as ``bytes``."""
    if not isinstance(key, bytes | bytearray | memoryview) or len(key) not in (8, 16, 24):
        return check_key(key)  # raises InvalidKeyError with the reason
    return bytes(key)


def set_odd_parity(key: bytes) -> bytes:
    """``key`` (DES or Triple DES) with the low bit of each byte set to give it an odd number of ones."""
    return bytes((b & 0xFE) | ((b >> 1).bit_count() + 1) % 2 for b in _check_key_bytes(key))


def has_odd_parity(key: bytes) -> bool:
    """Whether every byte of ``key`` (DES or Triple DES) has odd parity, as FIPS 46-3 recommends
    (the standard does not require it, and neither do we)."""
    return all(b.bit_count() % 2 == 1 for b in _check_key_bytes(key))


def _without_parity(key: bytes) -> bytes:
    return bytes(b & 0xFE for b in key)


#: The four weak keys: all 16 subkeys are equal, so encryption is its own inverse.
WEAK_KEYS: tuple[bytes, ...] = tuple(
    bytes.fromhex(h) for h in ("0101010101010101", "fefefefefefefefe", "e0e0e0e0f1f1f1f1", "1f1f1f1f0e0e0e0e")
)

#: The six pairs of semi-weak keys: encrypting under one key of a pair decrypts under the other.
SEMI_WEAK_PAIRS: tuple[tuple[bytes, bytes], ...] = tuple(
    (bytes.fromhex(a), bytes.fromhex(b))
    for a, b in (
        ("01fe01fe01fe01fe", "fe01fe01fe01fe01"),
        ("1fe01fe00ef10ef1", "e01fe01ff10ef10e"),
        ("01e001e001f101f1", "e001e001f101f101"),
        ("1ffe1ffe0efe0efe", "fe1ffe1ffe0efe0e"),
        ("011f011f010e010e", "1f011f010e010e01"),
        ("e0fee0fef1fef1fe", "fee0fee0fef1fef1"),
    )
)

_WEAK = frozenset(_without_parity(k) for k in WEAK_KEYS)
_SEMI_WEAK_PARTNER = {_without_parity(a): b for pair in SEMI_WEAK_PAIRS for a, b in (pair, pair[::-1])}


def is_weak_key(key: bytes) -> bool:
    """Whether ``key`` is one of the four weak keys (parity bits ignored)."""
    return _without_parity(check_key(key)) in _WEAK


def is_semi_weak_key(key: bytes) -> bool:
    """Whether ``key`` belongs to one of the six semi-weak pairs (parity bits ignored)."""
    return _without_parity(check_key(key)) in _SEMI_WEAK_PARTNER


def key_warnings(key: bytes) -> list[str]:
    """Human-readable warnings about ``key`` (empty for an ordinary key)."""
    if is_weak_key(key):
        return [
            f"DES key {key.hex()} is a weak key: all 16 subkeys are equal, so encrypting twice "
            "gives the plaintext back"
        ]
    if is_semi_weak_key(key):
        partner = _SEMI_WEAK_PARTNER[_without_parity(key)]
        return [
            f"DES key {key.hex()} is semi-weak: encrypting under {partner.hex()} decrypts what it encrypts"
        ]
    return []


def warn_about_key(key: bytes, *, stacklevel: int = 3) -> None:
    """Issue an InsecureWarning for each of :func:`key_warnings` (a warning, never a refusal)."""
    for message in key_warnings(key):
        warnings.warn(message, InsecureWarning, stacklevel=stacklevel)


# --- the block cipher object --------------------------------------------------------------------


class DES:
    """DES as a :class:`~ciphers.blockcipher.BlockCipher`, on the readable path. INSECURE (56-bit key).

    Weak and semi-weak keys work but raise an InsecureWarning. For bulk data use
    :class:`ciphers.des_fast.FastDES`, which gives the same answers much faster.
    """

    block_size = BLOCK_SIZE

    def __init__(self, key: bytes) -> None:
        self.key = check_key(key)
        warn_about_key(self.key)
        self.subkeys: tuple[int, ...] = tuple(key_schedule(self.key))
        self._reversed = self.subkeys[::-1]

    def encrypt_int(self, block: int) -> int:
        """Encipher a 64-bit integer block."""
        return crypt_int(check_int(block), self.subkeys)

    def decrypt_int(self, block: int) -> int:
        """Decipher a 64-bit integer block."""
        return crypt_int(check_int(block), self._reversed)

    def encrypt_block(self, block: bytes) -> bytes:
        """Encipher one 8-byte block."""
        return int_to_bytes(crypt_int(check_block(block), self.subkeys), BLOCK_SIZE)

    def decrypt_block(self, block: bytes) -> bytes:
        """Decipher one 8-byte block."""
        return int_to_bytes(crypt_int(check_block(block), self._reversed), BLOCK_SIZE)

    def __repr__(self) -> str:
        return "DES(<key hidden>)"

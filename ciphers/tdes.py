"""Triple DES (TDEA, NIST SP 800-67): C = E_K3(D_K2(E_K1(P))), keying options 1, 2 and 3.

Legacy: its 64-bit block makes it unsafe past a few gigabytes under one key (Sweet32, 2016), NIST
disallowed it for encryption after 2023, and keying option 2 offers about 80 bits of security at
best. It is here because it is how DES was stretched, and to show why meet-in-the-middle makes
double DES pointless.

A key is 24 bytes K1 || K2 || K3, or 16 bytes K1 || K2 meaning K3 = K1 (keying option 2). If K1 = K2
or K2 = K3 (parity bits ignored), one encryption cancels the decryption next to it and EDE is
single DES: such keys work, as the standard's backward compatibility intends, but raise an
:class:`~ciphers.errors.InsecureWarning`, as do weak or semi-weak component keys.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from ciphers import des, des_fast
from ciphers.des import BLOCK_SIZE, check_block, key_warnings
from ciphers.des_fast import TDES_BITSLICE_THRESHOLD, BitsliceBulk, Schedule, des_schedule
from ciphers.errors import InsecureWarning, InvalidKeyError

KEY_SIZES = (16, 24)


def split_key(key: bytes) -> tuple[bytes, bytes, bytes]:
    """K1, K2, K3 from a 24-byte key, or from a 16-byte key with K3 = K1 (keying option 2)."""
    if not isinstance(key, bytes | bytearray | memoryview):
        raise InvalidKeyError(f"a Triple DES key must be bytes, not {type(key).__name__}")
    key = bytes(key)
    if len(key) not in KEY_SIZES:
        raise InvalidKeyError(
            f"a Triple DES key must be 16 bytes (K1||K2) or 24 bytes (K1||K2||K3), got {len(key)}"
        )
    k1, k2 = key[:8], key[8:16]
    return k1, k2, key[16:24] if len(key) == 24 else k1


def _same(a: bytes, b: bytes) -> bool:
    """Equal as DES keys, that is, ignoring the parity bits."""
    return all((x ^ y) & 0xFE == 0 for x, y in zip(a, b, strict=True))


def keying_option(k1: bytes, k2: bytes, k3: bytes) -> int:
    """SP 800-67 keying option: 3 if K1 = K2 = K3, 2 if K1 = K3 only, else 1 (parity ignored)."""
    if _same(k1, k2) and _same(k2, k3):
        return 3
    return 2 if _same(k1, k3) else 1


def tdes_key_warnings(key: bytes) -> list[str]:
    """Why a Triple DES key is weak, in words (empty for a sound key)."""
    k1, k2, k3 = split_key(key)
    messages = []
    if _same(k1, k2) and _same(k2, k3):
        messages.append("Triple DES key has K1 = K2 = K3: this is single DES with a 56-bit key")
    elif _same(k1, k2):
        messages.append("Triple DES key has K1 = K2: E_K3(D_K2(E_K1(P))) reduces to single DES under K3")
    elif _same(k2, k3):
        messages.append("Triple DES key has K2 = K3: E_K3(D_K2(E_K1(P))) reduces to single DES under K1")
    seen: list[bytes] = []
    for name, part in (("K1", k1), ("K2", k2), ("K3", k3)):
        if not any(_same(part, other) for other in seen):
            messages.extend(f"{name}: {message}" for message in key_warnings(part))
        seen.append(part)
    return messages


def _readable_crypt(block: int, schedule: Schedule) -> int:
    """Each DES pass in full on the readable path: IP, 16 rounds, IP^-1, three times."""
    block = des.check_int(block)
    for subkeys in schedule:
        block = des.crypt_int(block, subkeys)
    return block


class TripleDES(BitsliceBulk):
    """Triple DES EDE as a :class:`~ciphers.blockcipher.BulkBlockCipher`. Legacy; see the module notes.

    ``fast=True`` (the default) runs the three passes on :mod:`ciphers.des_fast` with one IP and one
    IP^-1, and many blocks at once on bit slices (``bitslice``: see
    :class:`~ciphers.des_fast.BitsliceBulk`); ``fast=False`` composes the readable DES of
    :mod:`ciphers.des`, one block at a time. All give the same answers.
    """

    block_size = BLOCK_SIZE
    __slots__ = ("_crypt", "_decrypt", "_encrypt", "_keying_option")

    def __init__(self, key: bytes, *, fast: bool = True, bitslice: bool | None = None) -> None:
        if bitslice and not fast:
            raise ValueError("the readable path (fast=False) has no bitslice operations")
        k1, k2, k3 = split_key(key)
        for message in tdes_key_warnings(key):
            warnings.warn(message, InsecureWarning, stacklevel=2)
        self._keying_option = keying_option(k1, k2, k3)
        s1, s2, s3 = des_schedule(k1), des_schedule(k2), des_schedule(k3)
        self._encrypt: Schedule = (s1, s2[::-1], s3)
        self._decrypt: Schedule = (s3[::-1], s2, s1[::-1])
        self._crypt: Callable[[int, Schedule], int] = des_fast.crypt_int if fast else _readable_crypt
        self._choose(bitslice if fast else False, TDES_BITSLICE_THRESHOLD)

    @property
    def keying_option(self) -> int:
        """1 (three distinct keys), 2 (K3 = K1) or 3 (K1 = K2 = K3, single DES)."""
        return self._keying_option

    def encrypt_int(self, block: int) -> int:
        """Encrypt a 64-bit integer block: E_K3(D_K2(E_K1(block)))."""
        return self._crypt(block, self._encrypt)

    def decrypt_int(self, block: int) -> int:
        """Decrypt a 64-bit integer block: D_K1(E_K2(D_K3(block)))."""
        return self._crypt(block, self._decrypt)

    def encrypt_block(self, block: bytes) -> bytes:
        """Encrypt one 8-byte block."""
        return self._crypt(check_block(block), self._encrypt).to_bytes(BLOCK_SIZE, "big")

    def decrypt_block(self, block: bytes) -> bytes:
        """Decrypt one 8-byte block."""
        return self._crypt(check_block(block), self._decrypt).to_bytes(BLOCK_SIZE, "big")

    def __repr__(self) -> str:
        return f"TripleDES(<key hidden>, keying_option={self._keying_option})"

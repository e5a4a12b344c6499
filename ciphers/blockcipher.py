"""The interface every 64-bit block cipher offers to :mod:`ciphers.modes`.

Modes work on 64-bit integers (``encrypt_int``/``decrypt_int``), so the bulk path does no per-block
byte conversion; ``encrypt_block``/``decrypt_block`` on 8-byte strings are for people.

A cipher may also offer bulk operations (:class:`BulkBlockCipher`): many blocks in one call, as
the bitslice DES does (:mod:`ciphers.bitslice`). The modes use them where the mode allows it and
the data is at least ``bulk_threshold`` bytes, and fall back on one block at a time otherwise, so
any :class:`BlockCipher` works with every mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class BlockCipher(Protocol):
    """A keyed 64-bit block cipher (DES, Triple DES)."""

    block_size: int  # in bytes; 8 for DES and Triple DES

    def encrypt_int(self, block: int) -> int:
        """Encrypt one block given as a 64-bit integer."""
        ...

    def decrypt_int(self, block: int) -> int:
        """Decrypt one block given as a 64-bit integer."""
        ...

    def encrypt_block(self, block: bytes) -> bytes:
        """Encrypt one 8-byte block."""
        ...

    def decrypt_block(self, block: bytes) -> bytes:
        """Decrypt one 8-byte block."""
        ...


class BulkBlockCipher(BlockCipher, Protocol):
    """A block cipher that also encrypts many independent blocks at once."""

    @property
    def bulk_threshold(self) -> int:
        """The input size in bytes from which the bulk operations beat one block at a time."""
        ...

    def encrypt_blocks(self, data: bytes) -> bytes:
        """Encrypt every 8-byte block of ``data`` (a whole number of blocks): ECB, in bulk."""
        ...

    def decrypt_blocks(self, data: bytes) -> bytes:
        """Decrypt every 8-byte block of ``data`` (a whole number of blocks), in bulk."""
        ...

    def encrypt_counter_blocks(self, start: int, count: int) -> bytes:
        """E(T_1) || ... || E(T_count) for T_1 = ``start``, T_j = T_(j-1) + 1 mod 2^64 (CTR)."""
        ...

    def cbc_encrypt_streams(self, streams: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        """CBC-encrypt many (IV, whole blocks) streams side by side, unpadded."""
        ...

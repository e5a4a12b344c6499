"""The interface every 64-bit block cipher offers to :mod:`ciphers.modes`.

Modes work on 64-bit integers (``encrypt_int``/``decrypt_int``), so the bulk path does no per-block
byte conversion; ``encrypt_block``/``decrypt_block`` on 8-byte strings are for people.
"""

from __future__ import annotations

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

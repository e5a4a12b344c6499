"""PKCS#7 padding (RFC 5652 §6.3), the padding ECB and CBC use to reach a whole number of blocks.

Unpadding is strict and says nothing about *what* was wrong: every malformation raises the same
:class:`~ciphers.errors.PaddingError`. A decryptor that tells "bad padding" apart from other
failures, by its message or by how long it takes, is a *padding oracle*: Vaudenay (2002) showed
that such an oracle alone lets an attacker decrypt any CBC ciphertext, one byte per ~128 queries.
The check below therefore looks at every byte of the last block without an early exit. Python
cannot promise constant time, so the real defence is the one the chat uses: authenticate the
ciphertext (encrypt-then-MAC) and unpad only after the MAC has verified.
"""

from __future__ import annotations

from ciphers.errors import PaddingError

_MESSAGE = "invalid padding"


def _check_block_size(block_size: int) -> None:
    if not 1 <= block_size <= 255:
        raise ValueError(f"PKCS#7 block size must be 1..255 bytes, got {block_size}")


def pkcs7_pad(data: bytes, block_size: int = 8) -> bytes:
    """RFC 5652 §6.3: append k bytes of value k (1 <= k <= block_size), so a full block when aligned."""
    _check_block_size(block_size)
    k = block_size - len(data) % block_size
    return bytes(data) + bytes((k,)) * k


def pkcs7_unpad(data: bytes, block_size: int = 8) -> bytes:
    """Remove RFC 5652 §6.3 padding; raise :class:`PaddingError` on any malformation.

    Malformed means: empty, a length that is not a multiple of ``block_size``, a last byte of 0 or
    greater than ``block_size``, or pad bytes that are not all equal to it. The pad bytes of the
    last block are all examined, whatever the pad value, before the one verdict is given.
    """
    _check_block_size(block_size)
    n = len(data)
    if n == 0 or n % block_size:
        raise PaddingError(_MESSAGE)
    k = data[-1]
    # bad accumulates non-zero bits for any fault; (x >> 8) & 1 is 1 exactly when -256 <= x < 0.
    bad = ((k - 1) >> 8) & 1  # k == 0
    bad |= ((block_size - k) >> 8) & 1  # k > block_size
    for i in range(1, block_size + 1):
        in_pad = (((k - i) >> 8) & 1) ^ 1  # 1 when i <= k
        bad |= in_pad * (data[n - i] ^ k)
    if bad:
        raise PaddingError(_MESSAGE)
    return bytes(data[: n - k])

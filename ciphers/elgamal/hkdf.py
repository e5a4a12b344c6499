"""HKDF with HMAC-SHA256 (RFC 5869): extract a pseudorandom key, then expand it to any length.

Written from the RFC so that the KEM's key derivation can be read in full. Nothing here is
ElGamal-specific; another family may import it.
"""

from __future__ import annotations

import hashlib
import hmac

HASH = "sha256"
HASH_LEN = hashlib.sha256().digest_size


def extract(salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869 §2.2): PRK = HMAC-Hash(salt, IKM); an empty salt means HashLen zeros."""
    return hmac.new(salt or bytes(HASH_LEN), ikm, HASH).digest()


def expand(prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand (RFC 5869 §2.3): T(i) = HMAC-Hash(PRK, T(i-1) | info | i), L <= 255 * HashLen."""
    if not 0 <= length <= 255 * HASH_LEN:
        raise ValueError(f"HKDF output length must be in [0, {255 * HASH_LEN}]")
    okm, block = b"", b""
    for counter in range(1, -(-length // HASH_LEN) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), HASH).digest()
        okm += block
    return okm[:length]


def hkdf(ikm: bytes, *, salt: bytes = b"", info: bytes = b"", length: int = 32) -> bytes:
    """HKDF (RFC 5869 §2): expand(extract(salt, ikm), info, length)."""
    return expand(extract(salt, ikm), info, length)

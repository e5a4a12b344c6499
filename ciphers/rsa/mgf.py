"""MGF1, the mask generation function of RFC 8017 §B.2.1, used by OAEP and PSS."""

from __future__ import annotations

from ciphers.errors import CryptoError
from ciphers.rsa.hashes import hash_algorithm


def mgf1(mgf_seed: bytes, mask_len: int, hash_name: str) -> bytes:
    """RFC 8017 §B.2.1 MGF1: T = Hash(mgfSeed || C) for C = I2OSP(0, 4), I2OSP(1, 4), ..., cut to maskLen.

    A counter-mode stretch of the seed to any length; the mask's bits look independent of each other.
    """
    hash_ = hash_algorithm(hash_name)
    if mask_len < 0:
        raise ValueError("mask length must not be negative")
    if mask_len > (1 << 32) * hash_.digest_size:
        raise CryptoError("mask too long")
    blocks = -(-mask_len // hash_.digest_size)
    t = b"".join(hash_.digest(mgf_seed + counter.to_bytes(4, "big")) for counter in range(blocks))
    return t[:mask_len]

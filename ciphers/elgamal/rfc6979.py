"""Deterministic DSA nonces (RFC 6979, "Deterministic Usage of DSA and ECDSA", Pornin 2013).

The nonce k is drawn from HMAC_DRBG (NIST SP 800-90A) seeded with the private key x and the
message hash h1 (§3.2), so the same key and message always give the same k, and no weak or
repeated random number can give the key away
(:func:`ciphers.attacks.elgamal.dsa_nonce_reuse_private_key` shows what a repeated k costs).
§3.6 allows extra data k' in the seed: with fresh random bytes there ("hedged" signatures) k stays
unpredictable even if the random source is weak, and is never worse than the deterministic k.

The conversions of §2.3 are written out because the vectors depend on them bit for bit:
``bits2int`` keeps the leftmost qlen bits, ``int2octets`` writes rlen = 8 ceil(qlen / 8) bits, and
``bits2octets`` reduces modulo q before writing.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from ciphers.rsa.hashes import hash_algorithm


def bits2int(data: bytes, qlen: int) -> int:
    """§2.3.2: the bit string as a big-endian integer, keeping only its leftmost qlen bits."""
    value = int.from_bytes(data, "big")
    blen = 8 * len(data)
    return value >> (blen - qlen) if blen > qlen else value


def int2octets(value: int, qlen: int) -> bytes:
    """§2.3.3: value (0 <= value < q) as rlen = 8 ceil(qlen / 8) bits, big-endian."""
    return value.to_bytes((qlen + 7) // 8, "big")


def bits2octets(data: bytes, q: int) -> bytes:
    """§2.3.4: bits2int, then reduced modulo q (one subtraction suffices), then int2octets."""
    qlen = q.bit_length()
    z1 = bits2int(data, qlen)
    return int2octets(z1 - q if z1 >= q else z1, qlen)


def nonces(q: int, x: int, h1: bytes, hash_name: str = "sha256", extra: bytes = b"") -> Iterator[int]:
    """The candidates k of §3.2 steps b-h, in order, each in [1, q - 1].

    ``h1`` is H(m) for the hash ``hash_name`` (any of :data:`ciphers.rsa.hashes.HASHES`); ``extra``
    is §3.6's k' (empty for the deterministic variant). The signer takes the first k and asks for
    the next one only if r or s comes out 0 (§3.4); the iterator never ends.
    """
    digest = hash_algorithm(hash_name).new
    qlen = q.bit_length()

    def mac(key: bytes, data: bytes) -> bytes:
        return hmac.new(key, data, digest).digest()

    seed = int2octets(x, qlen) + bits2octets(h1, q) + extra
    v = b"\x01" * digest().digest_size  # step b
    k = b"\x00" * len(v)  # step c
    k = mac(k, v + b"\x00" + seed)  # step d
    v = mac(k, v)  # step e
    k = mac(k, v + b"\x01" + seed)  # step f
    v = mac(k, v)  # step g
    while True:  # step h
        t = b""
        while 8 * len(t) < qlen:
            v = mac(k, v)
            t += v
        candidate = bits2int(t, qlen)
        if 1 <= candidate < q:
            yield candidate
        k = mac(k, v + b"\x00")
        v = mac(k, v)


def generate_k(q: int, x: int, h1: bytes, hash_name: str = "sha256", extra: bytes = b"") -> int:
    """The first nonce of :func:`nonces`: what RFC 6979 Appendix A lists as k."""
    return next(nonces(q, x, h1, hash_name, extra))

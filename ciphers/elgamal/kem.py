"""The ElGamal key-encapsulation mechanism: a fresh session key for hybrid encryption.

Encapsulate to y with a fresh k in [1, q - 1]: c1 = g^k, shared = y^k, and
key = HKDF-SHA256(IKM = I2OSP(shared, |p|), salt = "", info = LABEL || I2OSP(c1, |p|) || I2OSP(y, |p|)).
Decapsulation recomputes shared = c1^x after checking that c1 is in the subgroup and is not 1.
Binding c1 and y into the derivation follows DHKEM (RFC 9180 §4.1, kem_context = enc || pkR).
This is hashed ElGamal: IND-CCA in the random-oracle model under the strong/gap Diffie-Hellman
assumption (Abdalla, Bellare, Rogaway, "DHIES", 2001), unlike textbook ElGamal.
"""

from __future__ import annotations

from ciphers.elgamal.core import PrivateKey, PublicKey
from ciphers.elgamal.hkdf import hkdf
from ciphers.errors import DecryptionError
from ciphers.numtheory import powmod
from ciphers.rng import RNG, SYSTEM

LABEL = b"cipherchat ElGamal-KEM v1"
DEFAULT_LENGTH = 32


def derive_key(public: PublicKey, c1: int, shared: int, length: int) -> bytes:
    """The KDF step: HKDF-SHA256 over the fixed-length encodings of shared, c1 and y."""
    group = public.group
    info = LABEL + group.encode_element(c1) + group.encode_element(public.y)
    return hkdf(group.encode_element(shared), info=info, length=length)


def encapsulate(public: PublicKey, *, length: int = DEFAULT_LENGTH, rng: RNG = SYSTEM) -> tuple[int, bytes]:
    """Return (c1, key): c1 = g^k goes to the recipient, the ``length``-byte key stays here."""
    group = public.group
    k = group.random_exponent(rng)
    c1 = group.power(k)
    return c1, derive_key(public, c1, powmod(public.y, k, group.p), length)


def decapsulate(private: PrivateKey, c1: int, length: int = DEFAULT_LENGTH) -> bytes:
    """The key that :func:`encapsulate` derived for c1; ``DecryptionError`` if c1 is not a valid element."""
    group = private.group
    if c1 == 1 or not group.contains(c1):
        raise DecryptionError()
    return derive_key(private.public_key, c1, powmod(c1, private.x, group.p), length)

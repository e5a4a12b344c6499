"""ElGamal keys and encryption (ElGamal 1985, "A public key cryptosystem and a signature scheme
based on discrete logarithms", §II; HAC Algorithm 8.18).

Key: x uniform in [1, q - 1], y = g^x mod p. Encryption of an element m with a fresh k in [1, q - 1]:
c1 = g^k, c2 = m * y^k; decryption m = c2 * c1^(-x) = c2 * c1^(q - x) (c1 has order q).

**Textbook ElGamal is insecure in practice**: it is malleable (E(m1) * E(m2) is an encryption of
m1 * m2, so anyone can turn E(m) into E(2m)), and byte strings longer than one element are split
into chunks that can be reordered or dropped unnoticed. It is here to be studied; for real messages
use the KEM (:mod:`ciphers.elgamal.kem`) and the hybrid scheme (:mod:`ciphers.elgamal.hybrid`).

Two layers: ``encrypt_int``/``decrypt_int`` are the bare equations over Z_p* for any p and g (what
the known-answer vectors exercise), while the key-level functions insist on a checked
:class:`~ciphers.elgamal.groups.Group` and on messages and ciphertexts inside its subgroup.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from ciphers.elgamal import encoding
from ciphers.elgamal.groups import Group, check_identity_group
from ciphers.errors import DecryptionError, InsecureWarning, InvalidKeyError
from ciphers.numtheory import invert, powmod
from ciphers.rng import RNG, SYSTEM

TEXTBOOK_WARNING = "textbook ElGamal is malleable and insecure; use the KEM or the hybrid scheme"


# --- the bare equations, on integers, for any p and g (known-answer vectors) ---


def encrypt_int(p: int, g: int, y: int, m: int, k: int) -> tuple[int, int]:
    """Textbook encryption over Z_p*: (g^k mod p, m * y^k mod p). No checks; insecure."""
    return powmod(g, k, p), m * powmod(y, k, p) % p


def decrypt_int(p: int, x: int, c1: int, c2: int) -> int:
    """Textbook decryption over Z_p*: c2 * (c1^x)^-1 mod p. No checks; insecure."""
    return c2 * invert(powmod(c1, x, p), p) % p


# --- keys ---


@dataclass(frozen=True)
class PublicKey:
    """An ElGamal public key: the group and y = g^x, an element of its order-q subgroup."""

    group: Group
    y: int

    def __post_init__(self) -> None:
        if not self.group.contains(self.y) or self.y == 1:
            raise InvalidKeyError("public key y must be an element of the subgroup other than 1")


@dataclass(frozen=True)
class PrivateKey:
    """An ElGamal private key: x in [1, q - 1] with its public y = g^x (x is kept out of repr)."""

    group: Group
    x: int = field(repr=False)
    y: int

    def __post_init__(self) -> None:
        if not 1 <= self.x < self.group.q:
            raise InvalidKeyError("private key x must be in [1, q - 1]")
        if self.group.power(self.x) != self.y:
            raise InvalidKeyError("public key y does not equal g^x")

    @property
    def public_key(self) -> PublicKey:
        """The matching public key."""
        return PublicKey(self.group, self.y)

    @classmethod
    def from_exponent(cls, group: Group, x: int) -> PrivateKey:
        """The key with private exponent x (y = g^x computed)."""
        return cls(group, x, group.power(x))


def check_identity_key(public: PublicKey) -> None:
    """Raise :class:`InvalidKeyError` unless ``public`` is within an identity key's bounds.

    Its group must pass :func:`~ciphers.elgamal.groups.check_identity_group` (built-in and at least
    2048 bits, or custom of 2048 to 4096 bits) and y be a subgroup element other than 1. Cheap enough
    for every key received from the network: a comparison with the built-in primes and one Legendre
    symbol (the group's primality was checked once, when it was built).
    """
    check_identity_group(public.group)
    if not public.group.contains(public.y) or public.y == 1:
        raise InvalidKeyError("public key y must be an element of the subgroup other than 1")


def generate_private_key(group: Group, rng: RNG = SYSTEM) -> PrivateKey:
    """A fresh key pair in ``group``: x uniform in [1, q - 1]."""
    return PrivateKey.from_exponent(group, group.random_exponent(rng))


# --- encryption of subgroup elements (textbook) ---


@dataclass(frozen=True)
class Ciphertext:
    """An ElGamal ciphertext (c1, c2) = (g^k, m * y^k)."""

    c1: int
    c2: int

    def to_bytes(self, group: Group) -> bytes:
        """c1 || c2, each |p| bytes big-endian."""
        return group.encode_element(self.c1) + group.encode_element(self.c2)

    @classmethod
    def from_bytes(cls, group: Group, data: bytes) -> Ciphertext:
        """Parse c1 || c2 (each |p| bytes); ``DecryptionError`` on a wrong length."""
        n = group.element_bytes
        if len(data) != 2 * n:
            raise DecryptionError()
        return cls(int.from_bytes(data[:n], "big"), int.from_bytes(data[n:], "big"))


def encrypt_element(public: PublicKey, m: int, rng: RNG = SYSTEM) -> Ciphertext:
    """Textbook ElGamal encryption of a subgroup element m with a fresh k. Malleable: insecure."""
    warnings.warn(TEXTBOOK_WARNING, InsecureWarning, stacklevel=2)
    return _encrypt_element(public, m, rng)


def _encrypt_element(public: PublicKey, m: int, rng: RNG) -> Ciphertext:
    group = public.group
    if not group.contains(m):
        raise ValueError("the message must be an element of the subgroup (see ciphers.elgamal.encoding)")
    c1, c2 = encrypt_int(group.p, group.g, public.y, m, group.random_exponent(rng))
    return Ciphertext(c1, c2)


def decrypt_element(private: PrivateKey, ciphertext: Ciphertext) -> int:
    """Textbook ElGamal decryption; ``DecryptionError`` unless c1 and c2 are in the subgroup."""
    group = private.group
    if not (group.contains(ciphertext.c1) and group.contains(ciphertext.c2)):
        raise DecryptionError()
    # c1 has order q, so c1^(q - x) is the inverse of c1^x: one exponentiation, no inversion.
    return ciphertext.c2 * powmod(ciphertext.c1, group.q - private.x, group.p) % group.p


# --- encryption of byte strings (textbook, chunked) ---


def encrypt_bytes(public: PublicKey, data: bytes, rng: RNG = SYSTEM) -> bytes:
    """Textbook encryption of bytes: chunks of ``max_message_length`` bytes, each one element.

    The output is the concatenation of c1 || c2 per chunk (2 |p| bytes each; at least one chunk,
    so the empty message has a ciphertext too). Insecure: malleable, and chunks can be reordered.
    """
    warnings.warn(TEXTBOOK_WARNING, InsecureWarning, stacklevel=2)
    group = public.group
    size = encoding.max_message_length(group)
    chunks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    return b"".join(
        _encrypt_element(public, encoding.bytes_to_element(group, chunk), rng).to_bytes(group)
        for chunk in chunks
    )


def decrypt_bytes(private: PrivateKey, data: bytes) -> bytes:
    """The inverse of :func:`encrypt_bytes`; one ``DecryptionError`` for every kind of failure."""
    group = private.group
    step = 2 * group.element_bytes
    if not data or len(data) % step:
        raise DecryptionError()
    out = []
    for i in range(0, len(data), step):
        element = decrypt_element(private, Ciphertext.from_bytes(group, data[i : i + step]))
        try:
            out.append(encoding.element_to_bytes(group, element))
        except ValueError:
            raise DecryptionError() from None
    return b"".join(out)

"""Classic ElGamal signatures (ElGamal 1985, §III; Handbook of Applied Cryptography §11.5.2).

**Textbook, forgeable, kept to be studied**: the default is :mod:`ciphers.elgamal.dsa`.

Sign h with a fresh k, gcd(k, p - 1) = 1: r = g^k mod p, s = (h - x r) k^-1 mod (p - 1); retry if
s = 0. Verify: 0 < r < p, 0 < s < p - 1 and g^h ≡ y^r r^s (mod p). The range checks matter: without
0 < r < p a new signature can be forged from any valid one (HAC §11.5.2). They are not enough:
in every group of this toolkit, r = q = (p - 1)/2 with an even s ≡ -h (mod q) verifies for any h
under any key, with no secret (Bleichenbacher, "Generating ElGamal signatures without knowing the
secret key", EUROCRYPT 1996; :func:`ciphers.attacks.elgamal.bleichenbacher_1996_half_order_forgery`),
because y^q = 1 and q ≡ -2^-1 (mod p). Hashing the message does not help against that.

Two variants, both insecure:

* **hashed** (:func:`sign`, :func:`verify`): h = SHA-256(message) as an integer, reduced mod p - 1.
  Stops the existential forgeries below, not Bleichenbacher's. Both warn (:class:`InsecureWarning`);
  nothing in the chat uses them (its ElGamal family signs DSA-form, :mod:`chat.e2e.families`).
* **textbook** (:func:`sign_textbook`, :func:`verify_textbook`): h is a bare integer given by the
  caller. Anyone can also forge a valid (h, r, s) from the public key alone, for an h they do not
  control (r = g^a y^b, s = -r b^-1, h = s a mod p - 1); the forgery notebooks do exactly that.

``sign_int``/``verify_int`` are the bare equations over Z_p* for any p and g (known-answer vectors).
DSA and Schnorr are the standardised descendants that work modulo the prime q instead.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass

from ciphers.elgamal.core import PrivateKey, PublicKey
from ciphers.elgamal.groups import Group
from ciphers.errors import InsecureWarning, VerificationError
from ciphers.numtheory import gcd, invert, powmod
from ciphers.rng import RNG, SYSTEM, randrange

TEXTBOOK_WARNING = "textbook ElGamal signatures on a bare integer are forgeable; sign hashed messages"
CLASSIC_WARNING = (
    "classic ElGamal signatures are forgeable (Bleichenbacher 1996: r = (p - 1)/2 signs any message "
    "under any key); the default DSA-form scheme is not"
)


# --- the bare equations, on integers, for any p and g (known-answer vectors) ---


def sign_int(p: int, g: int, x: int, h: int, k: int) -> tuple[int, int]:
    """r = g^k mod p, s = (h - x r) k^-1 mod (p - 1). ``ValueError`` if gcd(k, p - 1) != 1."""
    if gcd(k, p - 1) != 1:
        raise ValueError("k must be coprime to p - 1")
    r = powmod(g, k, p)
    return r, (h - x * r) * invert(k, p - 1) % (p - 1)


def verify_int(p: int, g: int, y: int, h: int, r: int, s: int) -> bool:
    """Whether 0 < r < p, 0 < s < p - 1 and g^h ≡ y^r r^s (mod p)."""
    if not (0 < r < p and 0 < s < p - 1):
        return False
    return powmod(g, h, p) == powmod(y, r, p) * powmod(r, s, p) % p


# --- signatures under checked keys ---


@dataclass(frozen=True)
class Signature:
    """An ElGamal signature (r, s)."""

    r: int
    s: int

    def to_bytes(self, group: Group) -> bytes:
        """r || s, each |p| bytes big-endian."""
        return group.encode_element(self.r) + group.encode_element(self.s)

    @classmethod
    def from_bytes(cls, group: Group, data: bytes) -> Signature:
        """Parse r || s; ``ValueError`` if the length is not 2 |p| bytes."""
        n = group.element_bytes
        if len(data) != 2 * n:
            raise ValueError(f"an ElGamal signature in this group is {2 * n} bytes, got {len(data)}")
        return cls(int.from_bytes(data[:n], "big"), int.from_bytes(data[n:], "big"))


def hash_message(group: Group, message: bytes) -> int:
    """h = OS2IP(SHA-256(message)) mod (p - 1): the exponent the signature equations use."""
    return int.from_bytes(hashlib.sha256(message).digest(), "big") % (group.p - 1)


def random_nonce(group: Group, rng: RNG = SYSTEM) -> int:
    """A uniform k in [1, p - 2] with gcd(k, p - 1) = 1 (rejection sampling; p - 1 = 2q)."""
    while True:
        k = randrange(1, group.p - 1, rng)
        if gcd(k, group.p - 1) == 1:
            return k


def _sign(private: PrivateKey, h: int, rng: RNG) -> Signature:
    group = private.group
    while True:
        r, s = sign_int(group.p, group.g, private.x, h, random_nonce(group, rng))
        if s != 0:
            return Signature(r, s)


def sign(private: PrivateKey, message: bytes, rng: RNG = SYSTEM) -> Signature:
    """Sign SHA-256(message) with a fresh k drawn from ``rng``. Forgeable by anyone: insecure."""
    warnings.warn(CLASSIC_WARNING, InsecureWarning, stacklevel=2)
    return _sign(private, hash_message(private.group, message), rng)


def verify(public: PublicKey, message: bytes, signature: Signature) -> None:
    """Return if ``signature`` is valid for ``message``; raise ``VerificationError`` otherwise.

    It accepts Bleichenbacher's forgeries (module notes): insecure, and it warns so.
    """
    warnings.warn(CLASSIC_WARNING, InsecureWarning, stacklevel=2)
    group = public.group
    h = hash_message(group, message)
    if not verify_int(group.p, group.g, public.y, h, signature.r, signature.s):
        raise VerificationError()


def sign_textbook(private: PrivateKey, h: int, rng: RNG = SYSTEM) -> Signature:
    """Textbook signature of a bare integer h (no hashing). Existentially forgeable: insecure."""
    warnings.warn(TEXTBOOK_WARNING, InsecureWarning, stacklevel=2)
    return _sign(private, h % (private.group.p - 1), rng)


def verify_textbook(public: PublicKey, h: int, signature: Signature) -> None:
    """Verify a textbook signature of h; ``VerificationError`` if invalid. Forgeable: insecure."""
    group = public.group
    if not verify_int(group.p, group.g, public.y, h, signature.r, signature.s):
        raise VerificationError()

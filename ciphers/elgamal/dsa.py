"""DSA-form signatures in the prime-order subgroup of an ElGamal group: the toolkit's default.

The equations are DSA's (FIPS 186-4 §4.6), with the message hash z = the leftmost min(N, 256)
bits of SHA-256(message), N = |q|:

    sign:    r = (g^k mod p) mod q,  s = k^-1 (z + x r) mod q   (retry with the next k if r or s is 0)
    verify:  0 < r < q and 0 < s < q; w = s^-1, u1 = z w, u2 = r w;  valid if (g^u1 y^u2 mod p) mod q = r

The nonce k comes from RFC 6979 §3.2 (:mod:`ciphers.elgamal.rfc6979`), hedged with 32 random
bytes as §3.6's k' unless ``rng=None`` (the known-answer vectors).

Why not ElGamal's own equations (:mod:`ciphers.elgamal.signatures`)? They work modulo p - 1, a
number with the small factor 2, and anyone can sign anything with r = q = (p - 1)/2
(Bleichenbacher, EUROCRYPT 1996; :func:`ciphers.attacks.elgamal.bleichenbacher_1996_half_order_forgery`).
Here every exponent lives modulo the prime q and r, s must lie in [1, q - 1], so that forgery and
the textbook existential ones have nothing to stand on. DSA's security argument: Fersch, Kiltz and
Poettering, "On the Provable Security of (EC)DSA Signatures" (ACM CCS 2016), prove DSA unforgeable
when the conversion g^k mod p -> r is modelled as an idealised function and discrete logarithms are
hard in the order-q subgroup; Pornin (RFC 6979 §3.1) argues that HMAC_DRBG's k is as good as a
random one. Schnorr signatures have the cleaner proof (Pointcheval and Stern, J. Cryptology 2000),
but no standard known-answer vectors over finite fields; DSA has RFC 6979's, NIST's and Wycheproof's.

Keys are ElGamal keys (:mod:`ciphers.elgamal.core`): in a safe-prime group p = 2q + 1 the key
y = g^x is already in the order-q subgroup, checked when the key is built, so one key serves the
KEM and these signatures. ``sign_int``/``verify_int`` and friends are the bare equations for any
DSA domain parameters (FIPS 186-4 §4.3: q | p - 1, g of order q), as the vectors need.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ciphers import primes
from ciphers.elgamal.core import PrivateKey, PublicKey
from ciphers.elgamal.groups import CHECK_ROUNDS, MAX_GROUP_BITS, Group
from ciphers.elgamal.rfc6979 import bits2int, nonces
from ciphers.errors import InvalidKeyError, VerificationError
from ciphers.numtheory import invert, powmod
from ciphers.rng import RNG, SYSTEM
from ciphers.rsa.hashes import hash_algorithm

HASH = "sha256"
"""The hash of the key-level functions; the bare ones take any of ``ciphers.rsa.hashes.HASHES``."""

HEDGE_BYTES = 32
"""Random bytes mixed into each nonce as RFC 6979 §3.6's k' (hedged signatures)."""

MIN_Q_BITS = 160
"""The smallest q of FIPS 186-4 §4.2 (with a 1024-bit p): below it the subgroup is too small."""


# --- the bare equations, on integers, for any DSA domain parameters (p, q, g) -----------------


def hash_to_z(digest: bytes, q: int) -> int:
    """FIPS 186-4 §4.6: z = the leftmost min(N, outlen) bits of Hash(M) (RFC 6979 bits2int)."""
    return bits2int(digest, q.bit_length())


def sign_int(p: int, q: int, g: int, x: int, z: int, k: int) -> tuple[int, int]:
    """r = (g^k mod p) mod q and s = k^-1 (z + x r) mod q, FIPS 186-4 §4.6; no retry, no checks."""
    r = powmod(g, k, p) % q
    return r, invert(k, q) * (z + x * r) % q


def verify_int(p: int, q: int, g: int, y: int, z: int, r: int, s: int) -> bool:
    """FIPS 186-4 §4.7: 0 < r < q and 0 < s < q, then (g^(z w) y^(r w) mod p) mod q = r, w = s^-1."""
    if not (0 < r < q and 0 < s < q):
        return False
    w = invert(s, q)
    return powmod(g, z * w % q, p) * powmod(y, r * w % q, p) % p % q == r


def sign_digest(
    p: int, q: int, g: int, x: int, digest: bytes, hash_name: str = HASH, extra: bytes = b""
) -> tuple[int, int]:
    """Sign H(m) = ``digest`` with RFC 6979 nonces (``extra`` is §3.6's k'), retrying per §3.4."""
    z = hash_to_z(digest, q)
    for k in nonces(q, x, digest, hash_name, extra):
        r, s = sign_int(p, q, g, x, z, k)
        if r and s:
            return r, s
    raise AssertionError("unreachable: nonces() never ends")


def verify_digest(p: int, q: int, g: int, y: int, digest: bytes, r: int, s: int) -> bool:
    """Whether (r, s) is valid for H(m) = ``digest`` under y (:func:`verify_int` on z)."""
    return verify_int(p, q, g, y, hash_to_z(digest, q), r, s)


def public_value_problem(p: int, q: int, y: int) -> str | None:
    """Why y is not a valid public value for (p, q), or ``None``: 1 < y < p - 1 and y^q ≡ 1 (mod p).

    SP 800-89 §5.3.1's full public-key validation; one exponentiation. Without it a y of small
    order makes y^u2 take few values, and y = 1 makes every signature of the form (g^u1 mod p) mod q.
    """
    if not 1 < y < p - 1:
        return "public value y must satisfy 1 < y < p - 1"
    if powmod(y, q, p) != 1:
        return "public value y is not in the subgroup of order q"
    return None


@functools.cache
def check_parameters(p: int, q: int, g: int) -> None:
    """Raise :class:`InvalidKeyError` unless (p, q, g) are DSA domain parameters (FIPS 186-4 §4.3).

    |p| at most :data:`~ciphers.elgamal.groups.MAX_GROUP_BITS` (checked first, before any
    exponentiation), |q| at least :data:`MIN_Q_BITS` and below |p|, q | p - 1, p and q prime
    (Miller-Rabin, 2^-50 error even for chosen parameters), 1 < g < p and g^q ≡ 1: then g has order q.
    Cached: each parameter set is checked once per process.
    """
    if p.bit_length() > MAX_GROUP_BITS:
        raise InvalidKeyError(f"DSA modulus p has {p.bit_length()} bits, above the maximum {MAX_GROUP_BITS}")
    if not MIN_Q_BITS <= q.bit_length() < p.bit_length():
        raise InvalidKeyError(f"DSA order q must have at least {MIN_Q_BITS} bits and fewer than p")
    if (p - 1) % q:
        raise InvalidKeyError("DSA order q does not divide p - 1")
    if not 1 < g < p or powmod(g, q, p) != 1:
        raise InvalidKeyError("DSA generator g does not have order q")
    if not primes.is_probable_prime(q, CHECK_ROUNDS) or not primes.is_probable_prime(p, CHECK_ROUNDS):
        raise InvalidKeyError("DSA parameters p and q must be prime")


def encode_signature(q: int, r: int, s: int) -> bytes:
    """r || s, each |q| bytes big-endian (IEEE P1363 style, as Wycheproof's ``p1363`` files)."""
    n = (q.bit_length() + 7) // 8
    return r.to_bytes(n, "big") + s.to_bytes(n, "big")


def decode_signature(q: int, data: bytes) -> tuple[int, int]:
    """(r, s) from r || s; ``ValueError`` unless ``data`` is exactly 2 |q| bytes."""
    n = (q.bit_length() + 7) // 8
    if len(data) != 2 * n:
        raise ValueError(f"a DSA signature in this group is {2 * n} bytes, got {len(data)}")
    return int.from_bytes(data[:n], "big"), int.from_bytes(data[n:], "big")


# --- signatures under ElGamal keys ------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """A DSA-form signature (r, s), both in [1, q - 1] when valid."""

    r: int
    s: int

    def to_bytes(self, group: Group) -> bytes:
        """r || s, each |q| bytes: 512 bytes in a 2048-bit group."""
        return encode_signature(group.q, self.r, self.s)

    @classmethod
    def from_bytes(cls, group: Group, data: bytes) -> Signature:
        """Parse r || s; ``ValueError`` if the length is not 2 |q| bytes."""
        return cls(*decode_signature(group.q, data))


def signature_length(group: Group) -> int:
    """The length in bytes of an encoded signature in ``group``."""
    return 2 * ((group.q.bit_length() + 7) // 8)


def sign(private: PrivateKey, message: bytes, rng: RNG | None = SYSTEM) -> Signature:
    """Sign SHA-256(message). k is RFC 6979's, hedged with :data:`HEDGE_BYTES` from ``rng``
    (§3.6); ``rng=None`` gives the purely deterministic k of §3.2."""
    group = private.group
    extra = b"" if rng is None else rng.bytes(HEDGE_BYTES)
    digest = hash_algorithm(HASH).digest(message)
    return Signature(*sign_digest(group.p, group.q, group.g, private.x, digest, HASH, extra))


def verify(public: PublicKey, message: bytes, signature: Signature) -> None:
    """Return if ``signature`` is valid for ``message``; raise ``VerificationError`` otherwise.

    The group was checked when it was built and y's membership of the order-q subgroup when the
    key was (:class:`~ciphers.elgamal.core.PublicKey`); r and s are range-checked here.
    """
    group = public.group
    digest = hash_algorithm(HASH).digest(message)
    if not verify_digest(group.p, group.q, group.g, public.y, digest, signature.r, signature.s):
        raise VerificationError()

"""RSA keys (RFC 8017 §3) and key generation.

Key generation follows FIPS 186-5 §A.1 in spirit: two distinct random primes of exactly half the
modulus size, e = 65537, d = e^-1 mod lambda(n), and the CRT parameters.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import gmpy2

from ciphers.errors import InsecureWarning, InvalidKeyError
from ciphers.primes import random_prime
from ciphers.rng import RNG, SYSTEM

DEFAULT_BITS = 2048
DEFAULT_E = 65537
MIN_BITS = 256


@dataclass(frozen=True)
class RSAPublicKey:
    """(n, e), RFC 8017 §3.1."""

    n: int
    e: int

    @property
    def bits(self) -> int:
        """The modulus length in bits."""
        return self.n.bit_length()

    @property
    def size_bytes(self) -> int:
        """k, the modulus length in octets."""
        return (self.n.bit_length() + 7) // 8


@dataclass(frozen=True)
class RSAPrivateKey:
    """The private key with its CRT parameters, RFC 8017 §3.2 (second representation)."""

    n: int
    e: int
    d: int
    p: int
    q: int
    dp: int
    dq: int
    qinv: int

    @property
    def bits(self) -> int:
        return self.n.bit_length()

    @property
    def size_bytes(self) -> int:
        return (self.n.bit_length() + 7) // 8

    def public_key(self) -> RSAPublicKey:
        return RSAPublicKey(self.n, self.e)

    @classmethod
    def from_primes(cls, p: int, q: int, e: int = DEFAULT_E, d: int | None = None) -> RSAPrivateKey:
        """Build the key from p, q and e (d = e^-1 mod lambda(n) unless given)."""
        if p == q:
            raise InvalidKeyError("p and q must be distinct")
        n = p * q
        if d is None:
            lam = int(gmpy2.lcm(p - 1, q - 1))
            try:
                d = int(gmpy2.invert(e, lam))
            except ZeroDivisionError:
                raise InvalidKeyError("e is not invertible modulo lambda(n)") from None
        return cls(
            n=n,
            e=e,
            d=d,
            p=p,
            q=q,
            dp=d % (p - 1),
            dq=d % (q - 1),
            qinv=int(gmpy2.invert(q, p)),
        )

    @classmethod
    def from_components(cls, n: int, e: int, d: int) -> RSAPrivateKey:
        """Recover p and q from (n, e, d) (RFC 8017 does not say how; NIST SP 800-56B App. C)."""
        k = d * e - 1
        if k <= 0 or k % 2:
            raise InvalidKeyError("(n, e, d) is not a consistent RSA key")
        t = 0
        while k % (2 << t) == 0:
            t += 1
        for g in range(2, 1000):
            y = int(gmpy2.powmod(g, k >> t, n))
            for _ in range(t):
                if y in (1, n - 1):
                    break
                x = y * y % n
                if x == 1:
                    p = int(gmpy2.gcd(y - 1, n))
                    q = n // p
                    p, q = max(p, q), min(p, q)
                    return cls.from_primes(p, q, e, d)
                y = x
        raise InvalidKeyError("could not factor n from (n, e, d)")


def generate(bits: int = DEFAULT_BITS, e: int = DEFAULT_E, rng: RNG = SYSTEM) -> RSAPrivateKey:
    """A fresh RSA key with an exactly ``bits``-bit modulus. Below 2048 bits it warns."""
    if bits < MIN_BITS:
        raise InvalidKeyError(f"RSA keys must have at least {MIN_BITS} bits")
    if bits % 2:
        raise InvalidKeyError("RSA key size must be even")
    if bits < DEFAULT_BITS:
        warnings.warn(
            f"{bits}-bit RSA is too small to be secure; allowed for teaching only",
            InsecureWarning,
            stacklevel=2,
        )
    while True:
        p = random_prime(bits // 2, rng)
        q = random_prime(bits // 2, rng)
        if p == q or gmpy2.gcd(e, (p - 1) * (q - 1)) != 1:
            continue
        key = RSAPrivateKey.from_primes(max(p, q), min(p, q), e)
        if key.n.bit_length() == bits:
            return key

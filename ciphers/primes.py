"""Primes: a from-scratch Miller-Rabin for teaching, and fast generation on gmpy2.

``random_prime`` is what RSA key generation uses; ``safe_prime`` (q and p = 2q + 1 both prime)
makes custom ElGamal groups. Both sieve by small primes before any exponentiation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import gmpy2

from ciphers.rng import RNG, SYSTEM, randbits

Progress = Callable[[int], None]
"""Called with the number of candidates tried so far (for progress bars)."""

SMALL_PRIMES: tuple[int, ...] = tuple(
    p for p in range(3, 2000) if all(p % d for d in range(2, int(p**0.5) + 1))
)


def miller_rabin(n: int, bases: Iterable[int]) -> bool:
    """Strong probable-prime test of odd ``n`` to each base (Miller 1976, Rabin 1980).

    Write n - 1 = 2**s * d with d odd. n passes base a if a**d ≡ 1 or a**(d*2**r) ≡ -1 (mod n)
    for some 0 <= r < s. A composite passes for at most a quarter of the bases.
    """
    if n < 2:
        return False
    if n in (2, 3):
        return True
    if n % 2 == 0:
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in bases:
        a %= n
        if a in (0, 1, n - 1):
            continue
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def is_probable_prime(n: int, rounds: int = 40) -> bool:
    """gmpy2's trial division plus Miller-Rabin with ``rounds`` random bases."""
    return n >= 2 and bool(gmpy2.is_prime(n, rounds))


def _random_odd(bits: int, rng: RNG) -> int:
    """A random odd integer of exactly ``bits`` bits with its top two bits set."""
    if bits < 3:
        raise ValueError("need at least 3 bits")
    return randbits(bits, rng) | (0b11 << (bits - 2)) | 1


def random_prime(bits: int, rng: RNG = SYSTEM, progress: Progress | None = None) -> int:
    """A random prime of exactly ``bits`` bits, top two bits set (so p*q has 2*bits bits)."""
    if bits < 8:
        raise ValueError("random_prime needs at least 8 bits")
    tried = 0
    while True:
        start = _random_odd(bits, rng)
        for offset in range(0, 2 * 4096, 2):
            candidate = start + offset
            if candidate.bit_length() != bits:
                break
            tried += 1
            if progress is not None and tried % 64 == 0:
                progress(tried)
            if any(candidate % p == 0 for p in SMALL_PRIMES[:64]):
                continue
            if gmpy2.is_prime(candidate, 25):
                return candidate


def safe_prime(bits: int, rng: RNG = SYSTEM, progress: Progress | None = None) -> int:
    """A random safe prime p of exactly ``bits`` bits: p = 2q + 1 with q prime."""
    if bits < 8:
        raise ValueError("safe_prime needs at least 8 bits")
    tried = 0
    while True:
        q = _random_odd(bits - 1, rng)
        tried += 1
        if progress is not None and tried % 64 == 0:
            progress(tried)
        p = 2 * q + 1
        if any(q % r == 0 or p % r == 0 for r in SMALL_PRIMES[:64] if r < q):
            continue
        if gmpy2.is_prime(q, 1) and gmpy2.is_prime(p, 25) and gmpy2.is_prime(q, 25):
            return p

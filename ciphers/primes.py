"""Primes: a from-scratch Miller-Rabin, and fast random and safe prime generation
on the big-integer backend (:mod:`ciphers.bigint`: gmpy2 where installed).

``random_prime`` is what RSA key generation uses; ``safe_prime`` (q and p = 2q + 1 both prime)
makes custom ElGamal groups. Both follow the same plan, cheapest test first:

1. sieve a whole window of consecutive odd candidates by the small primes (a bytearray sieve of
   Eratosthenes shifted to the window: no exponentiation at all);
2. one strong-probable-prime test to base 2 on each survivor (one modular exponentiation);
3. the full count of Miller-Rabin rounds with random bases only for the rare survivor of step 2.

The search is incremental: the first prime after a random starting point, as OpenSSL and GMP's
``next_prime`` do, rather than a fresh random candidate each time (FIPS 186-5 §A.1.3). It slightly
favours primes that follow long gaps, a bias of no known use to an attacker.
"""

from __future__ import annotations

import functools
from array import array
from collections.abc import Callable, Iterable

from ciphers import bigint
from ciphers.rng import RNG, SYSTEM, randbits, randrange

Progress = Callable[[int], None]
"""Called with the number of candidates tested by exponentiation so far (for progress bars)."""

FIRST_PRIME_BASES: tuple[int, ...] = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
"""The first 13 primes: as Miller-Rabin bases they decide primality exactly below
:data:`DETERMINISTIC_LIMIT`."""

DETERMINISTIC_LIMIT = 3317044064679887385961981
"""OEIS A014233(13): the smallest odd composite that passes Miller-Rabin to all 13 bases of
:data:`FIRST_PRIME_BASES` (Sorenson and Webster 2015). Below it those bases give a proof."""

_TRIAL_DIVISION_LIMIT = 1000
_RSA_WINDOW = 2048
"""Odd candidates sieved at once for ``random_prime``; about 5 primes expected per window at 1024 bits."""


@functools.cache
def odd_primes_below(limit: int) -> array[int]:
    """The odd primes below ``limit``, by the sieve of Eratosthenes (cached and shared: do not modify)."""
    if limit <= 3:
        return array("I")
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\x00\x00"
    for i in range(2, int(limit**0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytes(len(range(i * i, limit, i)))
    return array("I", (i for i in range(3, limit, 2) if sieve[i]))


def miller_rabin(n: int, bases: Iterable[int]) -> bool:
    """Strong probable-prime test of ``n`` to each base (Miller 1976, Rabin 1980; FIPS 186-5 §B.3.1).

    Write n - 1 = 2**s * d with d odd. n passes base a if a**d ≡ 1 or a**(d * 2**r) ≡ -1 (mod n)
    for some 0 <= r < s. A prime passes every base; an odd composite passes at most a quarter of
    the bases in [1, n - 1] (Rabin), far fewer for random large n (Damgård-Landrock-Pomerance 1993).
    Bases are reduced mod n; those ≡ 0, ±1 prove nothing and are skipped.
    """
    if n < 2:
        return False
    if n in (2, 3):
        return True
    if n % 2 == 0:
        return False
    big_n = bigint.mpz(n)
    minus_one = big_n - 1
    s = bigint.bit_scan1(minus_one)
    assert s is not None  # n - 1 >= 4 has a set bit
    d = minus_one >> s
    for a in bases:
        a %= n
        if a in (0, 1, n - 1):
            continue
        x = bigint.powmod(a, d, big_n)
        if x == 1 or x == minus_one:
            continue
        for _ in range(s - 1):
            x = x * x % big_n
            if x == minus_one:
                break
        else:
            return False
    return True


def fermat(n: int, bases: Iterable[int]) -> bool:
    """Fermat probable-prime test: a**(n-1) ≡ 1 (mod n) for every base. Fooled by Carmichael numbers."""
    if n < 2:
        return False
    if n in (2, 3):
        return True
    return all(bigint.powmod(a, n - 1, n) == 1 for a in bases if a % n)


def is_probable_prime(n: int, rounds: int = 40, rng: RNG = SYSTEM) -> bool:
    """Trial division, then Miller-Rabin: exact below 3.3e24, else base 2 plus ``rounds`` random bases.

    For n >= :data:`DETERMINISTIC_LIMIT` the error is at most 4**-rounds whatever n is (Rabin), so
    40 rounds give 2**-80 even for adversarial inputs such as a loaded key or group.
    """
    if n < 2:
        return False
    for p in odd_primes_below(_TRIAL_DIVISION_LIMIT):
        if n % p == 0:
            return n == p
    if n % 2 == 0:
        return n == 2
    if n < _TRIAL_DIVISION_LIMIT**2:
        return True
    if n < DETERMINISTIC_LIMIT:
        return miller_rabin(n, FIRST_PRIME_BASES)
    return miller_rabin(n, (2,)) and miller_rabin(n, _random_bases(n, rounds, rng))


def _random_bases(n: int, count: int, rng: RNG) -> list[int]:
    """``count`` bases drawn uniformly from [2, n - 2] (FIPS 186-5 §B.3.1 step 4.1)."""
    return [randrange(2, n - 1, rng) for _ in range(count)]


def generation_rounds(bits: int) -> int:
    """Miller-Rabin rounds for a *randomly generated* candidate of ``bits`` bits.

    FIPS 186-5 Table B.1 (error probability at most 2**-112 for 1024-bit primes, 2**-128 for 1536,
    2**-144 for 2048), which rests on the average-case bound of Damgård, Landrock and Pomerance for
    random candidates. Below 1024 bits we do not rely on that bound and use Rabin's worst case:
    40 rounds, 2**-80 (cheap at those sizes).
    """
    if bits >= 1536:
        return 4
    if bits >= 1024:
        return 5
    return 40


def _random_start(bits: int, top_bits: int, rng: RNG) -> int:
    """A random odd ``bits``-bit integer with its ``top_bits`` most significant bits set."""
    return randbits(bits, rng) | (((1 << top_bits) - 1) << (bits - top_bits)) | 1


def _sieve_primes(limit: int, lowest: int) -> array[int]:
    """The odd primes below ``limit`` that are smaller than every candidate (>= ``lowest``).

    A candidate divisible by a smaller prime is composite; a candidate equal to a sieving prime
    would be wrongly struck out, hence the bound.
    """
    primes = odd_primes_below(limit)
    if lowest >= limit:
        return primes
    return array("I", (r for r in primes if r < lowest))


def _sieve_limit_for_prime(bits: int) -> int:
    """Sieve bound where one more small prime costs about what it saves in exponentiations (measured)."""
    if bits <= 256:
        return 1 << 10
    if bits <= 768:
        return 1 << 12
    if bits <= 1536:
        return 1 << 14
    return 1 << 16


def _sieve_limit_for_safe_prime(bits: int) -> tuple[int, int]:
    """(sieve bound, window) for safe primes.

    A survivor costs a full-size exponentiation and a safe prime needs about (ln p)**2 / 2.6
    odd candidates (Hardy-Littlewood), so the sieve reaches far higher than for ``random_prime``
    and a window holds most of a search.
    """
    if bits <= 256:
        return 1 << 12, 1 << 14
    if bits <= 768:
        return 1 << 17, 1 << 16
    if bits <= 1536:
        return 1 << 20, 1 << 18
    return 1 << 23, 1 << 20


def sieve_window(start: int, count: int, primes: Iterable[int]) -> bytearray:
    """Flags for the ``count`` odd candidates start, start + 2, ...: 0 where a listed prime divides.

    For each small prime r the first multiple in the window sits at index
    i ≡ -start * 2^-1 (mod r), and every r-th index after it is a multiple too.
    """
    flags = bytearray(b"\x01") * count
    zeros = memoryview(bytes(count))
    for r in primes:
        i = (r - start % r) * ((r + 1) >> 1) % r
        if i < count:
            flags[i::r] = zeros[: (count - 1 - i) // r + 1]
    return flags


def random_prime(
    bits: int,
    rng: RNG = SYSTEM,
    progress: Progress | None = None,
    *,
    rounds: int | None = None,
) -> int:
    """A random prime of exactly ``bits`` bits with its top two bits set.

    The top two bits make p >= 1.5 * 2**(bits-1) > sqrt(2) * 2**(bits-1), so a product of two such
    primes has exactly 2 * bits bits (FIPS 186-5 §A.1.3 step 4.4). ``rounds`` defaults to
    :func:`generation_rounds`.
    """
    if bits < 8:
        raise ValueError("random_prime needs at least 8 bits")
    rounds = generation_rounds(bits) if rounds is None else rounds
    lowest = 3 << (bits - 2)
    primes = _sieve_primes(_sieve_limit_for_prime(bits), lowest)
    tried = 0
    while True:
        start = _random_start(bits, 2, rng)
        count = min(_RSA_WINDOW, ((1 << bits) - start + 1) // 2)
        flags = sieve_window(start, count, primes)
        i = flags.find(1)
        while i != -1:
            candidate = start + 2 * i
            tried += 1
            if progress is not None:
                progress(tried)
            if miller_rabin(candidate, (2,)) and miller_rabin(
                candidate, _random_bases(candidate, rounds, rng)
            ):
                return candidate
            i = flags.find(1, i + 1)


def safe_prime(
    bits: int,
    rng: RNG = SYSTEM,
    progress: Progress | None = None,
    *,
    rounds: int | None = None,
) -> int:
    """A random safe prime p of exactly ``bits`` bits: p = 2q + 1 with q prime.

    Sieves q and 2q + 1 together (Wiener, "Safe prime generation with a combined sieve", IACR
    ePrint 2003/186), then tests q to base 2, then p by Pocklington's criterion: with q prime and
    q > sqrt(p), 2**(p-1) ≡ 1 (mod p) and gcd(2**2 - 1, p) = 1 prove p prime (Crandall and
    Pomerance, Prime Numbers, Thm 4.1.3). Only then does q get its full Miller-Rabin rounds.
    """
    if bits < 8:
        raise ValueError("safe_prime needs at least 8 bits")
    q_bits = bits - 1
    rounds = generation_rounds(q_bits) if rounds is None else rounds
    q_lowest = 1 << (q_bits - 1)
    limit, window = _sieve_limit_for_safe_prime(bits)
    primes = _sieve_primes(limit, q_lowest)
    tried = 0
    while True:
        q0 = _random_start(q_bits, 1, rng)
        count = min(window, ((1 << q_bits) - q0 + 1) // 2)
        flags = _sieve_safe_window(q0, count, primes)
        i = flags.find(1)
        while i != -1:
            q = bigint.mpz(q0 + 2 * i)
            p = 2 * q + 1
            tried += 1
            if progress is not None:
                progress(tried)
            if (
                miller_rabin(int(q), (2,))
                and bigint.powmod(2, p - 1, p) == 1
                and miller_rabin(int(q), _random_bases(int(q), rounds, rng))
            ):
                return int(p)
            i = flags.find(1, i + 1)


def _sieve_safe_window(q0: int, count: int, primes: Iterable[int]) -> bytearray:
    """Flags for q = q0 + 2i, i < count: 0 where a listed prime r divides q or p = 2q + 1.

    q ≡ 0 at i ≡ -q0 / 2 and 2q + 1 ≡ 0 at i ≡ -(2 q0 + 1) / 4 (mod r).
    """
    flags = bytearray(b"\x01") * count
    zeros = memoryview(bytes(count))
    for r in primes:
        half = (r + 1) >> 1
        residue = q0 % r
        i = (r - residue) * half % r
        if i < count:
            flags[i::r] = zeros[: (count - 1 - i) // r + 1]
        j = (r - (2 * residue + 1) % r) * half * half % r
        if j < count:
            flags[j::r] = zeros[: (count - 1 - j) // r + 1]
    return flags

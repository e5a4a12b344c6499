"""Number theory on Python integers, with the big-integer backend doing the heavy arithmetic.

The extended Euclidean algorithm is written out (it is taught); inverses, powers and roots go
through :mod:`ciphers.bigint` (gmpy2 where installed) for speed. Every function returns plain ``int``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ciphers import bigint


def egcd(a: int, b: int) -> tuple[int, int, int]:
    """Return ``(g, x, y)`` with ``a*x + b*y == g == gcd(a, b)`` (extended Euclid, iterative)."""
    old_r, r = a, b
    old_x, x = 1, 0
    old_y, y = 0, 1
    while r:
        q = old_r // r
        old_r, r = r, old_r - q * r
        old_x, x = x, old_x - q * x
        old_y, y = y, old_y - q * y
    if old_r < 0:
        old_r, old_x, old_y = -old_r, -old_x, -old_y
    return old_r, old_x, old_y


def gcd(a: int, b: int) -> int:
    """Greatest common divisor."""
    return int(bigint.gcd(a, b))


def lcm(a: int, b: int) -> int:
    """Least common multiple."""
    return int(bigint.lcm(a, b))


def invert(a: int, m: int) -> int:
    """The inverse of ``a`` modulo ``m``; ``ValueError`` when ``gcd(a, m) != 1``."""
    if m <= 0:
        raise ValueError("modulus must be positive")
    try:
        return int(bigint.invert(a, m))
    except ZeroDivisionError:
        raise ValueError(f"{a} has no inverse modulo {m}") from None


def powmod(base: int, exponent: int, modulus: int) -> int:
    """``base**exponent % modulus`` (negative exponents use the inverse)."""
    return int(bigint.powmod(base, exponent, modulus))


def crt(residues: Sequence[int], moduli: Sequence[int]) -> int:
    """The unique ``x`` modulo ``prod(moduli)`` with ``x ≡ residues[i] (mod moduli[i])``.

    The moduli must be pairwise coprime (Chinese remainder theorem, Gauss's construction).
    """
    if len(residues) != len(moduli) or not moduli:
        raise ValueError("crt needs as many residues as moduli, at least one")
    x, m = 0, 1
    for r, n in zip(residues, moduli, strict=True):
        g, _, _ = egcd(m, n)
        if g != 1:
            raise ValueError("crt moduli must be pairwise coprime")
        # x' = x + m * ((r - x) * m^-1 mod n) keeps x mod m and fixes x mod n.
        x = x + m * ((r - x) * invert(m, n) % n)
        m *= n
    return x % m


def isqrt(n: int) -> int:
    """The integer square root ``floor(sqrt(n))``."""
    return int(bigint.isqrt(n))


def iroot(n: int, k: int) -> tuple[int, bool]:
    """``(floor(n ** (1/k)), exact)`` for ``n >= 0``."""
    root, exact = bigint.iroot(n, k)
    return int(root), bool(exact)


def legendre(a: int, p: int) -> int:
    """The Legendre symbol (a/p) for an odd prime ``p``: 1, -1 or 0."""
    return int(bigint.legendre(a, p))

"""The int backend: gmpy2's operations written on Python's built-in ``int``.

Each function returns what its gmpy2 namesake returns (as an ``int``) and raises the same
exception type on the same inputs, so callers written against gmpy2 need no second path.
``pow`` with a modulus, ``math.gcd``, ``math.lcm`` and ``math.isqrt`` do the work; CPython's
``pow`` is a sliding-window exponentiation, several times slower than GMP's at RSA sizes.
"""

from __future__ import annotations

import math

mpz = int
"""gmpy2's integer type; here the built-in one."""

gcd = math.gcd
lcm = math.lcm
isqrt = math.isqrt


def powmod(base: int, exponent: int, modulus: int) -> int:
    """``base**exponent mod modulus``; a negative exponent uses the inverse (``ValueError`` if none)."""
    return pow(base, exponent, modulus)


def invert(a: int, m: int) -> int:
    """``a**-1 mod |m|`` in [0, |m|); ``ZeroDivisionError`` when m == 0 or gcd(a, m) != 1, as gmpy2."""
    if m == 0:
        raise ZeroDivisionError("invert() division by 0")
    try:
        return pow(a, -1, abs(m))
    except ValueError:
        raise ZeroDivisionError("invert() no inverse exists") from None


def iroot(x: int, n: int) -> tuple[int, bool]:
    """``(floor(x ** (1/n)), exact)`` for x >= 0 and n >= 1 (``ValueError`` otherwise).

    Newton's iteration on integers, y <- ((n - 1) y + x // y**(n-1)) // n, started above the
    root: it decreases to the floor of the root and stops there (Cohen, A Course in
    Computational Algebraic Number Theory, Alg. 1.7.1 for n = 2).
    """
    if x < 0:
        raise ValueError("iroot() of negative number")
    if n <= 0:
        raise ValueError("n must be > 0")
    if x < 2 or n == 1:
        return x, True
    if n >= x.bit_length():
        return 1, False  # 1 < x < 2**n
    y = 1 << -(-x.bit_length() // n)
    while True:
        z = ((n - 1) * y + x // y ** (n - 1)) // n
        if z >= y:
            return y, y**n == x
        y = z


def legendre(a: int, p: int) -> int:
    """The Legendre symbol (a/p), computed as the Jacobi symbol as GMP does, so any odd p > 0
    is accepted (``ValueError`` otherwise); quadratic reciprocity (Cohen, Alg. 1.4.10)."""
    if p <= 0 or p % 2 == 0:
        raise ValueError("y must be odd, prime, and >0")
    a %= p
    symbol = 1
    while a:
        while a % 2 == 0:
            a //= 2
            if p % 8 in (3, 5):
                symbol = -symbol
        a, p = p, a
        if a % 4 == 3 and p % 4 == 3:
            symbol = -symbol
        a %= p
    return symbol if p == 1 else 0


def bit_scan1(x: int) -> int | None:
    """The index of the lowest set bit of ``x`` (two's complement when x < 0); ``None`` for 0."""
    return (x & -x).bit_length() - 1 if x else None

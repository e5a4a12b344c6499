"""Number theory: egcd, inverses, CRT and friends against the standard library and sympy."""

from __future__ import annotations

import math

import pytest
import sympy
from hypothesis import assume, given
from hypothesis import strategies as st
from sympy.ntheory.modular import crt as sympy_crt

from ciphers import numtheory

integers = st.integers(min_value=-(2**300), max_value=2**300)
moduli = st.integers(min_value=2, max_value=2**300)


@given(integers, integers)
def test_egcd_is_a_bezout_identity(a: int, b: int) -> None:
    g, x, y = numtheory.egcd(a, b)
    assert g == math.gcd(a, b)
    assert a * x + b * y == g


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(240, 46, 2), (46, 240, 2), (0, 0, 0), (0, 7, 7), (-12, 18, 6), (17, 5, 1)],
    ids=["textbook", "swapped", "zeros", "zero-left", "negative", "coprime"],
)
def test_egcd_small_cases(a: int, b: int, expected: int) -> None:
    g, x, y = numtheory.egcd(a, b)
    assert g == expected
    assert a * x + b * y == g


@given(integers, moduli)
def test_invert_matches_pow_and_sympy(a: int, m: int) -> None:
    if math.gcd(a, m) != 1:
        with pytest.raises(ValueError):
            numtheory.invert(a, m)
        return
    inverse = numtheory.invert(a, m)
    assert 0 <= inverse < m
    assert inverse == pow(a, -1, m) == sympy.mod_inverse(a, m) % m


def test_invert_rejects_a_non_positive_modulus() -> None:
    with pytest.raises(ValueError):
        numtheory.invert(3, 0)


@given(st.lists(st.integers(min_value=2, max_value=2**64), min_size=1, max_size=5), st.data())
def test_crt_matches_sympy(moduli_list: list[int], data: st.DataObject) -> None:
    assume(all(math.gcd(a, b) == 1 for i, a in enumerate(moduli_list) for b in moduli_list[i + 1 :]))
    residues = [data.draw(st.integers(min_value=-(2**70), max_value=2**70)) for _ in moduli_list]
    x = numtheory.crt(residues, moduli_list)
    product = math.prod(moduli_list)
    assert 0 <= x < product
    assert all((x - r) % m == 0 for r, m in zip(residues, moduli_list, strict=True))
    expected = sympy_crt(moduli_list, residues)
    assert expected is not None
    assert x == int(expected[0])


@pytest.mark.parametrize(
    ("residues", "moduli_list"),
    [([1, 2], [4, 6]), ([1], []), ([1, 2], [5])],
    ids=["not-coprime", "no-moduli", "length-mismatch"],
)
def test_crt_rejects_bad_input(residues: list[int], moduli_list: list[int]) -> None:
    with pytest.raises(ValueError):
        numtheory.crt(residues, moduli_list)


def test_crt_sunzi_example() -> None:
    # Sunzi Suanjing (3rd-5th c.): x ≡ 2 (mod 3), 3 (mod 5), 2 (mod 7) gives 23.
    assert numtheory.crt([2, 3, 2], [3, 5, 7]) == 23


@given(integers, integers)
def test_gcd_and_lcm_match_math(a: int, b: int) -> None:
    assert numtheory.gcd(a, b) == math.gcd(a, b)
    assert numtheory.lcm(a, b) == math.lcm(a, b)


@given(st.integers(min_value=0, max_value=2**400), st.integers(min_value=-50, max_value=2**80), moduli)
def test_powmod_matches_pow(base: int, exponent: int, modulus: int) -> None:
    if exponent < 0 and math.gcd(base, modulus) != 1:
        return
    assert numtheory.powmod(base, exponent, modulus) == pow(base, exponent, modulus)


@given(st.integers(min_value=0, max_value=2**600), st.integers(min_value=1, max_value=9))
def test_roots_match_math_and_sympy(n: int, k: int) -> None:
    assert numtheory.isqrt(n) == math.isqrt(n)
    root, exact = numtheory.iroot(n, k)
    expected_root, expected_exact = sympy.integer_nthroot(n, k)
    assert (root, exact) == (expected_root, expected_exact)


@given(st.integers(min_value=-(2**200), max_value=2**200), st.sampled_from([3, 5, 7, 65537, 2**127 - 1]))
def test_legendre_matches_sympy(a: int, p: int) -> None:
    expected = 0 if a % p == 0 else sympy.legendre_symbol(a % p, p)
    assert numtheory.legendre(a, p) == expected

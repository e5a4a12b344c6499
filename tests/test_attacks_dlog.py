"""Baby-step giant-step and Pohlig-Hellman recover planted exponents, checked against sympy.discrete_log.

The toy groups are built here (``smooth_prime``, ``primitive_root``); sympy factors p - 1, finds
primitive roots and solves each discrete log independently.
"""

from __future__ import annotations

import math

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from ciphers.attacks import dlog
from ciphers.elgamal.groups import named_group
from ciphers.primes import random_prime
from ciphers.rng import DeterministicRNG, randrange

BSGS_P = random_prime(36, DeterministicRNG("bsgs"))
BSGS_FACTORS = sympy.factorint(BSGS_P - 1)
BSGS_G = dlog.primitive_root(BSGS_P, BSGS_FACTORS)

SMOOTH_P, SMOOTH_FACTORS = dlog.smooth_prime(64, 16, DeterministicRNG("pohlig-hellman"))
SMOOTH_G = dlog.primitive_root(SMOOTH_P, SMOOTH_FACTORS)


def test_toy_groups_are_what_they_claim() -> None:
    assert BSGS_G == sympy.primitive_root(BSGS_P)
    assert sympy.isprime(SMOOTH_P) and 56 < SMOOTH_P.bit_length() <= 64
    assert SMOOTH_FACTORS == sympy.factorint(SMOOTH_P - 1)
    assert max(SMOOTH_FACTORS) < 2**16
    assert SMOOTH_G == sympy.primitive_root(SMOOTH_P)


@settings(max_examples=5)
@given(st.integers(0, BSGS_P - 2))
def test_baby_step_giant_step_in_about_2_sqrt_n_operations(x: int) -> None:
    h = pow(BSGS_G, x, BSGS_P)
    result = dlog.baby_step_giant_step(BSGS_G, h, BSGS_P, BSGS_P - 1)
    assert result.x == x == sympy.discrete_log(BSGS_P, h, BSGS_G)
    assert result.operations <= 2 * (math.isqrt(BSGS_P - 2) + 1) + 1


def test_baby_step_giant_step_rejects_an_element_outside_the_subgroup() -> None:
    g = pow(BSGS_G, 2, BSGS_P)  # the squares: h = BSGS_G is not one
    with pytest.raises(ValueError, match="not in the subgroup"):
        dlog.baby_step_giant_step(g, BSGS_G, BSGS_P, (BSGS_P - 1) // 2)


@settings(max_examples=25)
@given(st.integers(0, SMOOTH_P - 2))
def test_pohlig_hellman_on_a_smooth_64_bit_group(x: int) -> None:
    h = pow(SMOOTH_G, x, SMOOTH_P)
    result = dlog.pohlig_hellman(SMOOTH_G, h, SMOOTH_P, SMOOTH_FACTORS)
    assert result.x == x == sympy.discrete_log(SMOOTH_P, h, SMOOTH_G)
    # one small search per prime factor instead of one of size sqrt(p)
    bound = sum(e * (2 * math.isqrt(q) + 3) for q, e in SMOOTH_FACTORS.items())
    assert result.operations <= bound < math.isqrt(SMOOTH_P) // 100


def test_pohlig_hellman_with_prime_powers_in_the_order() -> None:
    b = next(b for b in range(1, 200) if sympy.isprime(2**20 * 3**b + 1))
    p = 2**20 * 3**b + 1
    factors = {2: 20, 3: b}
    g = dlog.primitive_root(p, factors)
    x = randrange(0, p - 1, DeterministicRNG("powers"))
    h = pow(g, x, p)
    assert dlog.pohlig_hellman(g, h, p, factors).x == x == sympy.discrete_log(p, h, g)


def test_trial_factor_agrees_with_sympy_and_refuses_a_safe_prime_group() -> None:
    assert dlog.trial_factor(SMOOTH_P - 1, 2**16) == sympy.factorint(SMOOTH_P - 1)
    group = named_group("ffdhe2048")  # p - 1 = 2q with q prime: Pohlig-Hellman gains nothing
    with pytest.raises(ValueError, match="not 65536-smooth"):
        dlog.trial_factor(group.p - 1, 2**16)

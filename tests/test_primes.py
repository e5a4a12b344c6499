"""Primality and prime generation: published vectors, gmpy2 and sympy as independent oracles."""

from __future__ import annotations

import math
from typing import Any

import gmpy2
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from ciphers import primes
from ciphers.rng import DeterministicRNG
from ciphers.vectors.loader import load_json, load_lines
from tests import kat

KAT = load_json(kat.vector_path("primality", "primality_kat.json"))
BOTAN = load_lines(kat.vector_path("primality", "botan_isprime.vec"))
A014233 = KAT["strong_pseudoprimes_first_k_prime_bases"]["vectors"]
PRIME_BASES_50 = tuple(sympy.primerange(2, 230))  # the first 50 primes
FAMILIES = [("primes", "botan"), ("primes", "well_known"), ("not_prime", "botan"), ("not_prime", "classic")]


def _botan_value(text: str) -> int:
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def _entries(group: dict[str, Any], *names: str) -> list[Any]:
    return [pytest.param(int(e["n"]), id=f"{name}:{e['n'][:24]}") for name in names for e in group[name]]


@pytest.mark.parametrize(
    ("n", "expected"),
    [pytest.param(_botan_value(r["X"]), r.section == "Prime", id=r.label) for r in BOTAN],
)
def test_botan_isprime_vectors(n: int, expected: bool) -> None:
    assert primes.is_probable_prime(n) is expected


def test_botan_vector_count() -> None:
    """Both sections have entries, and primality_kat.json's Botan parts are exactly those entries."""
    for section, converted in (("Prime", KAT["primes"]["botan"]), ("NonPrime", KAT["not_prime"]["botan"])):
        values = sorted(_botan_value(r["X"]) for r in BOTAN if r.section == section)
        assert values, section
        assert sorted(int(e["n"]) for e in converted) == values, section


@pytest.mark.parametrize("n", _entries(KAT["primes"], "botan", "well_known"))
def test_primes_pass_every_base(n: int) -> None:
    assert primes.miller_rabin(n, PRIME_BASES_50)
    assert primes.is_probable_prime(n)


@pytest.mark.parametrize("n", _entries(KAT["not_prime"], "botan", "classic"))
def test_not_primes_are_rejected(n: int) -> None:
    assert not primes.is_probable_prime(n)


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(e, id=f"A014233:k={e['k']}")
        for e in KAT["strong_pseudoprimes_first_k_prime_bases"]["vectors"]
    ],
)
def test_a014233_pseudoprimes_fool_k_bases_and_no_more(entry: dict[str, Any]) -> None:
    """a(k) passes the first k prime bases; when a(k+1) > a(k), minimality says base k+1 catches it."""
    k, n = entry["k"], int(entry["n"])
    assert entry["bases"] == list(PRIME_BASES_50[:k])
    assert primes.miller_rabin(n, PRIME_BASES_50[:k])
    following = [int(e["n"]) for e in A014233 if e["k"] == k + 1]
    if following and following[0] > n:
        assert not primes.miller_rabin(n, PRIME_BASES_50[: k + 1])
    elif following:
        assert primes.miller_rabin(n, PRIME_BASES_50[: k + 1])
    assert not primes.is_probable_prime(n)


def test_deterministic_limit_is_the_last_a014233_entry() -> None:
    last = A014233[-1]
    assert last["k"] == len(primes.FIRST_PRIME_BASES) == 13
    assert int(last["n"]) == primes.DETERMINISTIC_LIMIT
    assert list(primes.FIRST_PRIME_BASES) == last["bases"]


@pytest.mark.parametrize(
    "n", [pytest.param(int(c), id=f"carmichael:{c}") for c in KAT["carmichael_numbers_below_1e6"]["values"]]
)
def test_carmichael_numbers_fool_fermat_but_not_miller_rabin(n: int) -> None:
    coprime_bases = [a for a in range(2, 100) if math.gcd(a, n) == 1]
    assert primes.fermat(n, coprime_bases)
    # Below A014233(2) = 1373653 no odd composite is a strong pseudoprime to both 2 and 3.
    assert not primes.miller_rabin(n, (2, 3))
    assert not primes.is_probable_prime(n)


def test_kat_counts() -> None:
    """Every family has entries; below 10^6 there are 43 Carmichael numbers (OEIS A055553, n = 6)."""
    assert all(KAT[family][part] for family, part in FAMILIES)
    assert len(KAT["carmichael_numbers_below_1e6"]["values"]) == 43


@given(st.integers(min_value=-10, max_value=primes.DETERMINISTIC_LIMIT - 1))
def test_miller_rabin_with_13_bases_is_exact_below_the_limit(n: int) -> None:
    expected = sympy.isprime(n)
    assert primes.miller_rabin(n, primes.FIRST_PRIME_BASES) is expected
    if n >= 0:
        assert bool(gmpy2.is_prime(n)) is expected


@given(st.integers(min_value=0, max_value=2**1200))
def test_is_probable_prime_matches_sympy(n: int) -> None:
    assert primes.is_probable_prime(n, 10) is sympy.isprime(n)


@given(st.integers(min_value=2**60, max_value=2**700))
def test_next_prime_is_prime_and_products_are_not(x: int) -> None:
    p = int(gmpy2.next_prime(x))
    q = int(gmpy2.next_prime(p))
    assert primes.is_probable_prime(p, 10)
    assert primes.miller_rabin(p, (2, 3, 5, 7))
    assert not primes.is_probable_prime(p * q, 10)
    assert not primes.is_probable_prime(p * p, 10)


@given(st.integers(min_value=2**65, max_value=2**400), st.integers(min_value=2, max_value=2**64))
def test_miller_rabin_agrees_with_gmpy2_strong_prp(n: int, base: int) -> None:
    n |= 1
    base = base % (n - 3) + 2
    if math.gcd(n, base) != 1:  # gmpy2 refuses; a base sharing a factor always exposes n
        assert not primes.miller_rabin(n, (base,))
        return
    assert primes.miller_rabin(n, (base,)) is bool(gmpy2.is_strong_prp(n, base))


def test_miller_rabin_small_and_even_inputs() -> None:
    assert [n for n in range(-3, 30) if primes.miller_rabin(n, (2, 3))] == [
        2,
        3,
        5,
        7,
        11,
        13,
        17,
        19,
        23,
        29,
    ]


def test_odd_primes_below_matches_sympy() -> None:
    assert list(primes.odd_primes_below(10_000)) == list(sympy.primerange(3, 10_000))
    assert list(primes.odd_primes_below(3)) == []


@given(
    st.integers(min_value=2**64, max_value=2**300).map(lambda n: n | 1),
    st.integers(min_value=1, max_value=400),
)
def test_sieve_window_strikes_exactly_the_multiples(start: int, count: int) -> None:
    small = list(sympy.primerange(3, 200))
    flags = primes.sieve_window(start, count, small)
    for i in range(count):
        divisible = any((start + 2 * i) % r == 0 for r in small)
        assert flags[i] == (0 if divisible else 1)


@given(
    st.integers(min_value=2**64, max_value=2**300).map(lambda n: n | 1),
    st.integers(min_value=1, max_value=400),
)
def test_safe_sieve_strikes_q_and_2q_plus_1(q0: int, count: int) -> None:
    small = list(sympy.primerange(3, 200))
    flags = primes._sieve_safe_window(q0, count, small)
    for i in range(count):
        q = q0 + 2 * i
        divisible = any(q % r == 0 or (2 * q + 1) % r == 0 for r in small)
        assert flags[i] == (0 if divisible else 1)


@pytest.mark.parametrize("bits", [8, 9, 16, 33, 64, 128, 256, 512, 1024])
def test_random_prime_has_exact_size_and_is_prime(bits: int) -> None:
    for seed in range(3):
        p = primes.random_prime(bits, DeterministicRNG(f"prime-{bits}-{seed}"))
        assert p.bit_length() == bits
        assert p >> (bits - 2) == 0b11
        assert sympy.isprime(p)


def test_random_prime_covers_the_small_range() -> None:
    found = {primes.random_prime(8, DeterministicRNG(seed)) for seed in range(200)}
    assert found <= set(sympy.primerange(192, 256))
    assert len(found) >= 5


def test_random_prime_is_reproducible_with_an_injected_rng() -> None:
    a = primes.random_prime(256, DeterministicRNG("same"))
    b = primes.random_prime(256, DeterministicRNG("same"))
    c = primes.random_prime(256, DeterministicRNG("other"))
    assert a == b != c


def test_random_prime_reports_progress() -> None:
    seen: list[int] = []
    primes.random_prime(512, DeterministicRNG("progress"), seen.append)
    assert seen == list(range(1, len(seen) + 1))


@pytest.mark.parametrize("bits", [8, 12, 32, 64, 128, 256, 512])
def test_safe_prime_has_exact_size_and_both_halves_prime(bits: int) -> None:
    p = primes.safe_prime(bits, DeterministicRNG(f"safe-{bits}"))
    assert p.bit_length() == bits
    assert sympy.isprime(p)
    assert sympy.isprime((p - 1) // 2)


def test_safe_prime_reports_progress_and_is_reproducible() -> None:
    seen: list[int] = []
    p = primes.safe_prime(256, DeterministicRNG("safe"), seen.append)
    assert seen and seen == list(range(1, len(seen) + 1))
    assert primes.safe_prime(256, DeterministicRNG("safe")) == p


@pytest.mark.parametrize("generator", [primes.random_prime, primes.safe_prime])
def test_generators_reject_tiny_sizes(generator: Any) -> None:
    with pytest.raises(ValueError):
        generator(7)


@pytest.mark.parametrize(
    ("bits", "rounds"), [(1024, 5), (1536, 4), (2048, 4), (512, 40)], ids=["1024", "1536", "2048", "below"]
)
def test_generation_rounds_follow_fips_186_5_table_b1(bits: int, rounds: int) -> None:
    assert primes.generation_rounds(bits) == rounds

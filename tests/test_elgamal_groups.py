"""ElGamal groups: the built-in RFC groups equal the independently generated vector file, pass
the group check, and use a generator of the order-q subgroup; bad groups are refused."""

from __future__ import annotations

import warnings
from typing import Any

import gmpy2
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from ciphers import primes
from ciphers.elgamal import groups
from ciphers.elgamal.groups import GROUP_NAMES, Group, find_named, generate_group, named_group
from ciphers.errors import InsecureWarning, InvalidKeyError
from ciphers.rng import DeterministicRNG
from ciphers.vectors.loader import load_json
from tests import kat

GROUP_VECTORS: list[dict[str, Any]] = load_json(kat.vector_path("groups", "dh_groups_modp_ffdhe.json"))[
    "groups"
]
GROUP_IDS = [f"{v['name']} ({v['reference']})" for v in GROUP_VECTORS]

pytestmark = pytest.mark.filterwarnings("ignore:modp:ciphers.errors.InsecureWarning")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", InsecureWarning)
    SMALL = generate_group(256, DeterministicRNG("test_elgamal_groups"))


def test_the_built_in_names_are_the_vector_file_names() -> None:
    assert set(GROUP_NAMES) == {v["name"] for v in GROUP_VECTORS}
    assert len(GROUP_NAMES) == len(set(GROUP_NAMES)) == len(GROUP_VECTORS)  # no name twice on either side


@pytest.mark.parametrize("vector", GROUP_VECTORS, ids=GROUP_IDS)
def test_built_in_group_equals_the_rfc_formula(vector: dict[str, Any]) -> None:
    group = named_group(vector["name"])
    assert group.p == int(vector["p"], 16)
    assert group.q == int(vector["q"], 16)
    assert group.g == vector["g"] == 2
    assert group.bits == vector["bits"]
    assert group.name == vector["name"]


@pytest.mark.parametrize("vector", GROUP_VECTORS, ids=GROUP_IDS)
def test_built_in_group_passes_the_check_and_2_generates_the_residues(vector: dict[str, Any]) -> None:
    group = named_group(vector["name"])  # constructing it ran check_group (once per process)
    assert (group.p, group.q, group.g) in groups._CHECKED
    # Independently: p ≡ 7 (mod 8), so 2 is a quadratic residue and has order q (Euler's criterion).
    p, q = int(vector["p"], 16), int(vector["q"], 16)
    assert p % 8 == 7
    assert gmpy2.powmod(2, q, p) == 1
    assert p % 4 == 3  # what the encoding's bijection needs


def test_named_group_is_built_once() -> None:
    assert named_group("ffdhe2048") is named_group("ffdhe2048")


@pytest.mark.filterwarnings("error")
def test_small_rfc_groups_warn_on_every_use() -> None:
    for name in ("modp768", "modp1024", "modp1536"):
        for _ in range(2):
            with pytest.warns(InsecureWarning, match=f"{name} is a .*-bit group, too small"):
                named_group(name)
    for name in ("modp2048", "ffdhe2048"):
        named_group(name)  # no warning: any would be an error under this test's mark


def test_unknown_group_name() -> None:
    with pytest.raises(KeyError, match="unknown group"):
        named_group("ffdhe1024")


def test_the_check_runs_once_per_group(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = primes.is_probable_prime

    def counting(n: int, rounds: int = 40) -> bool:
        calls.append(n)
        return real(n, rounds)

    monkeypatch.setattr(primes, "is_probable_prime", counting)
    g = pow(SMALL.g, 3, SMALL.p)  # another generator of the same subgroup: a triple not yet checked
    first = Group(SMALL.p, SMALL.q, g)
    second = Group(SMALL.p, SMALL.q, g)
    assert first == second
    assert calls == [SMALL.q]


def _safe_prime_pair() -> tuple[int, int]:
    return SMALL.p, SMALL.q


def test_check_rejects_p_not_2q_plus_1() -> None:
    p, q = _safe_prime_pair()
    with pytest.raises(InvalidKeyError, match="p = 2q"):
        Group(p + 2, q, 4)


def test_check_rejects_composite_q() -> None:
    q = sympy.nextprime(2**130) * sympy.nextprime(2**131)
    with pytest.raises(InvalidKeyError, match="q is not prime"):
        Group(2 * q + 1, q, 4)


def test_check_rejects_composite_p_with_prime_q() -> None:
    q = sympy.nextprime(2**200)
    while sympy.isprime(2 * q + 1):
        q = sympy.nextprime(q)
    with pytest.raises(InvalidKeyError, match="p is not prime"):
        Group(2 * q + 1, q, 4)


def test_check_rejects_generators_not_of_order_q() -> None:
    p, q = _safe_prime_pair()
    non_residue = next(a for a in range(2, 100) if pow(a, q, p) == p - 1)
    for g in (0, 1, p - 1, p, non_residue):
        with pytest.raises(InvalidKeyError, match="order q"):
            Group(p, q, g)


def test_check_rejects_tiny_groups() -> None:
    with pytest.raises(InvalidKeyError, match="at least"):
        Group(23, 11, 4)


def test_generated_group_is_a_safe_prime_group() -> None:
    p, q, g = SMALL.p, SMALL.q, SMALL.g
    assert p.bit_length() == 256
    assert sympy.isprime(p) and sympy.isprime(q) and p == 2 * q + 1
    assert pow(g, q, p) == 1 and g != 1
    assert g == (2 if p % 8 == 7 else 4)


def test_generated_group_warns_below_2048_bits() -> None:
    with pytest.warns(InsecureWarning, match="too small"):
        generate_group(64, DeterministicRNG("warn"))


def test_generate_group_refuses_absurd_sizes() -> None:
    with pytest.raises(ValueError, match="at least"):
        generate_group(16, DeterministicRNG(0))


def test_find_named() -> None:
    group = named_group("modp2048")
    assert find_named(Group(group.p, group.q, group.g)) == "modp2048"
    assert find_named(Group(group.p, group.q, 4)) is None
    assert find_named(SMALL) is None


@given(st.integers(min_value=-2, max_value=SMALL.p + 2))
def test_contains_is_membership_of_the_order_q_subgroup(element: int) -> None:
    expected = 0 < element < SMALL.p and pow(element, SMALL.q, SMALL.p) == 1
    assert SMALL.contains(element) == expected

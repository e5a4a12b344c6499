"""The textbook-RSA and bad-key attacks recover the secrets the tests planted, at toy sizes.

Every key and message is generated here (DeterministicRNG), so each assertion compares what an
attack recovered from public values with the secret the test chose. sympy gives independent roots
and gcds; keys made by ``ciphers.rsa.keys.generate`` (FIPS 186-5) show that Wiener and Fermat fail
on properly generated keys, and OAEP that the unpadded attacks fail on padded messages.
"""

from __future__ import annotations

import math
import warnings

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from ciphers.attacks import rsa as attacks
from ciphers.errors import InsecureWarning
from ciphers.numtheory import powmod
from ciphers.rng import DeterministicRNG, randbelow
from ciphers.rsa import keys, oaep
from ciphers.rsa.core import os2ip, rsadp, rsaep
from ciphers.rsa.keys import RSAPrivateKey, RSAPublicKey


def small_key(label: str, bits: int = 512, e: int = keys.DEFAULT_E) -> RSAPrivateKey:
    """A reproducible teaching-size key (generation warns below 2048 bits, as it should)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return keys.generate(bits, e, rng=DeterministicRNG(label))


KEY = small_key("textbook")
E3_KEYS = [small_key(f"hastad-{i}", 512, 3) for i in range(3)]


# --- malleability -------------------------------------------------------------------------------


@settings(max_examples=25)
@given(st.integers(0, KEY.n - 1), st.integers(1, KEY.n - 1))
def test_scaling_a_ciphertext_scales_the_plaintext(m: int, factor: int) -> None:
    c = rsaep(KEY, m)
    assert rsadp(KEY, attacks.scale_ciphertext(KEY.n, KEY.e, c, factor)) == m * factor % KEY.n


def test_chosen_ciphertext_decrypts_through_a_service_that_refuses_the_target() -> None:
    m = randbelow(KEY.n, DeterministicRNG("cca"))
    target = rsaep(KEY, m)
    asked: list[int] = []

    def decrypt_anything_but_the_target(c: int) -> int:
        assert c != target
        asked.append(c)
        return rsadp(KEY, c)

    got = attacks.chosen_ciphertext_decrypt(
        KEY.n, KEY.e, target, decrypt_anything_but_the_target, rng=DeterministicRNG(1)
    )
    assert got == m
    assert len(asked) == 1


# --- small e ------------------------------------------------------------------------------------


def test_short_message_with_e_3_is_an_integer_cube_root() -> None:
    key = small_key("e3-2048", 2048, 3)
    m = os2ip(b"the password is swordfish")
    c = rsaep(key, m)
    assert c == m**3  # no reduction happened: this is the whole weakness
    assert attacks.small_e_root(c, 3, key.n) == m == sympy.integer_nthroot(c, 3)[0]


def test_a_message_that_wraps_a_few_times_needs_a_few_more_roots() -> None:
    key = E3_KEYS[0]
    m = sympy.integer_nthroot(5 * key.n, 3)[0] - 7  # 4n < m^3 < 5n
    c = rsaep(key, m)
    with pytest.raises(ValueError, match="no exact"):
        attacks.small_e_root(c, 3, key.n)
    assert attacks.small_e_root(c, 3, key.n, max_wraps=5) == m


def test_oaep_defeats_the_root() -> None:
    key = small_key("e3-oaep", 1024, 3)
    c = os2ip(oaep.encrypt(key.public_key(), b"swordfish", rng=DeterministicRNG(2)))
    with pytest.raises(ValueError, match="no exact"):
        attacks.small_e_root(c, 3, key.n, max_wraps=1000)


@settings(max_examples=25)
@given(st.integers(0, min(k.n for k in E3_KEYS) - 1))
def test_hastad_broadcast_recovers_the_message_sent_to_three_recipients(m: int) -> None:
    ciphertexts = [rsaep(key, m) for key in E3_KEYS]
    assert attacks.hastad_broadcast(ciphertexts, [key.n for key in E3_KEYS], 3) == m


def test_hastad_needs_e_ciphertexts_and_fails_on_oaep() -> None:
    moduli = [key.n for key in E3_KEYS]
    with pytest.raises(ValueError, match="at least e = 3"):
        attacks.hastad_broadcast([1, 2], moduli[:2], 3)
    rng = DeterministicRNG("broadcast")
    recipients = [small_key(f"hastad-oaep-{i}", 1024, 3) for i in range(3)]
    padded = [os2ip(oaep.encrypt(key.public_key(), b"hi", rng=rng)) for key in recipients]
    with pytest.raises(ValueError, match="not an e-th power"):
        attacks.hastad_broadcast(padded, [key.n for key in recipients], 3)


# --- common modulus -----------------------------------------------------------------------------


@settings(max_examples=20)
@given(st.integers(0, KEY.n - 1))
def test_common_modulus_recovers_the_message_without_a_key(m: int) -> None:
    e1, e2 = KEY.e, 3
    c1, c2 = rsaep(KEY, m), rsaep(RSAPublicKey(KEY.n, e2), m)
    assert attacks.common_modulus(KEY.n, e1, c1, e2, c2) == m


def test_common_modulus_with_a_common_factor_of_the_exponents_takes_a_root() -> None:
    m = os2ip(b"short")
    e1, e2 = 3 * 5, 3 * 7  # gcd 3: Bezout gives m^3, and m^3 < n
    c1, c2 = powmod(m, e1, KEY.n), powmod(m, e2, KEY.n)
    assert attacks.common_modulus(KEY.n, e1, c1, e2, c2) == m


# --- shared primes ------------------------------------------------------------------------------


def _moduli_with_shared_primes() -> tuple[list[int], dict[int, tuple[int, int]]]:
    """Twelve 256-bit moduli; 3 and 7 share a prime, 10 shares one prime with 0 and the other with 5."""
    rng = DeterministicRNG("ps and qs")
    primes = [sympy.nextprime(randbelow(2**128, rng) | 2**127) for _ in range(24)]
    pairs = [(primes[2 * i], primes[2 * i + 1]) for i in range(12)]
    pairs[7] = (pairs[3][0], pairs[7][1])
    pairs[10] = (pairs[0][1], pairs[5][0])
    expected = {i: (max(pairs[i]), min(pairs[i])) for i in (0, 3, 5, 7, 10)}
    return [p * q for p, q in pairs], expected


def test_shared_prime_factors_both_moduli() -> None:
    moduli, expected = _moduli_with_shared_primes()
    p = attacks.shared_prime(moduli[3], moduli[7])
    assert p is not None and p in expected[3] and p in expected[7]
    assert attacks.shared_prime(moduli[1], moduli[2]) is None


def test_batch_gcd_agrees_with_pairwise_gcds_and_factors_the_weak_moduli() -> None:
    moduli, expected = _moduli_with_shared_primes()
    pairwise = [math.gcd(n, math.prod(moduli[:i] + moduli[i + 1 :])) for i, n in enumerate(moduli)]
    assert attacks.batch_gcd(moduli) == pairwise
    assert attacks.factor_shared_primes(moduli) == expected


# --- Fermat -------------------------------------------------------------------------------------


def test_fermat_factors_close_primes_in_the_predicted_number_of_steps() -> None:
    key = attacks.fermat_vulnerable_key(512, 136, rng=DeterministicRNG("fermat"))
    result = attacks.fermat_factor(key.n)
    assert (result.p, result.q) == (key.p, key.q)
    # a = (p + q)/2 is reached after about (p - q)^2 / (8 sqrt(n)) steps
    predicted = (key.p - key.q) ** 2 // (8 * math.isqrt(key.n))
    assert predicted // 2 <= result.steps <= predicted + 2
    assert 100 < result.steps < 100_000


def test_fermat_gets_nowhere_on_a_fips_186_5_key() -> None:
    with pytest.raises(ValueError, match="no factor in 2000 steps"):
        attacks.fermat_factor(KEY.n, max_steps=2000)


# --- Wiener -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [512, 1024, 2048])
def test_wiener_recovers_a_small_private_exponent(bits: int) -> None:
    key = attacks.wiener_vulnerable_key(bits, rng=DeterministicRNG(f"wiener-{bits}"))
    assert 81 * key.d**4 < key.n  # d < n^(1/4) / 3
    assert key.e * key.d % ((key.p - 1) * (key.q - 1)) == 1
    result = attacks.wiener(key.n, key.e)
    assert result is not None
    assert (result.d, result.p, result.q) == (key.d, key.p, key.q)
    assert result.convergents <= 2 * bits  # a continued fraction of e/n has O(log n) terms


def test_wiener_finds_nothing_on_a_fips_186_5_key() -> None:
    assert attacks.wiener(KEY.n, KEY.e) is None


def test_convergents_match_sympy() -> None:
    quotients = attacks.continued_fraction(KEY.e, KEY.n)
    assert quotients == sympy.continued_fraction(sympy.Rational(KEY.e, KEY.n))
    ours = [sympy.Rational(h, k) for h, k in attacks.convergents(quotients)]
    assert ours == list(sympy.continued_fraction_convergents(quotients))


# --- the parity oracle --------------------------------------------------------------------------


@settings(max_examples=10)
@given(st.one_of(st.sampled_from([0, 1, 2, KEY.n - 1]), st.integers(0, KEY.n - 1)))
def test_parity_oracle_decrypts_in_exactly_bits_n_queries(m: int) -> None:
    calls = 0
    victim = attacks.parity_oracle(KEY)

    def counted(c: int) -> bool:
        nonlocal calls
        calls += 1
        return victim(c)

    result = attacks.parity_oracle_attack(KEY.n, KEY.e, rsaep(KEY, m), counted)
    assert result.plaintext == m
    assert result.queries == calls == KEY.n.bit_length()

"""RSA keys: generation meets FIPS 186-5 §A.1, consistency checks catch every broken number."""

from __future__ import annotations

import dataclasses
import math
import warnings

import pytest
import sympy
from cryptography.hazmat.primitives.asymmetric import rsa as crypto_rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from ciphers.errors import InsecureWarning, InvalidKeyError
from ciphers.rng import DeterministicRNG
from ciphers.rsa import keys
from ciphers.rsa.keys import RSAPrivateKey, RSAPublicKey
from ciphers.vectors.loader import LabsKey, load_rsa_labs
from tests import kat
from tests.rsa_vectors import labs_key

LABS_KEYS = load_rsa_labs(kat.vector_path("rsa", "pkcs1_rsa_labs", "oaep-vect.txt"))


def _small_key(label: str, bits: int = 512, e: int = keys.DEFAULT_E) -> RSAPrivateKey:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return keys.generate(bits, e, rng=DeterministicRNG(label))


def _assert_fips_shape(key: RSAPrivateKey, bits: int) -> None:
    half = bits // 2
    assert key.n.bit_length() == bits
    assert key.p.bit_length() == key.q.bit_length() == half
    assert key.p >> (half - 2) == key.q >> (half - 2) == 0b11
    assert sympy.isprime(key.p) and sympy.isprime(key.q)
    assert key.p != key.q and key.n == key.p * key.q
    assert abs(key.p - key.q) > 2 ** (half - 100)
    lam = math.lcm(key.p - 1, key.q - 1)
    assert key.e * key.d % lam == 1
    assert 2**half < key.d < lam
    assert key.dp == key.d % (key.p - 1)
    assert key.dq == key.d % (key.q - 1)
    assert key.q * key.qinv % key.p == 1


@settings(max_examples=10)
@given(st.sampled_from([256, 512, 768, 1024]), st.integers(min_value=0, max_value=2**32))
def test_generated_keys_meet_fips_186_5(bits: int, seed: int) -> None:
    key = _small_key(f"fips-{seed}", bits)
    _assert_fips_shape(key, bits)
    keys.check_private_key(key)


def test_default_key_is_2048_bits_e_65537_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        key = keys.generate()
    assert key.e == 65537
    _assert_fips_shape(key, 2048)


def test_small_keys_warn_insecure() -> None:
    with pytest.warns(InsecureWarning, match="1024-bit RSA is too small"):
        keys.generate(1024, rng=DeterministicRNG("warn"))


@pytest.mark.parametrize(
    ("bits", "e", "message"),
    [(254, 65537, "at least 256"), (513, 65537, "even"), (512, 65536, "odd"), (512, 1, "odd")],
    ids=["too-small", "odd-size", "even-e", "e=1"],
)
def test_generate_rejects_bad_parameters(bits: int, e: int, message: str) -> None:
    with pytest.raises(InvalidKeyError, match=message):
        keys.generate(bits, e)


def test_small_public_exponent_for_teaching() -> None:
    key = _small_key("e3", 512, e=3)
    assert key.e == 3
    assert (key.p - 1) % 3 and (key.q - 1) % 3
    _assert_fips_shape(key, 512)


def test_generation_is_reproducible_with_an_injected_rng() -> None:
    assert _small_key("same") == _small_key("same") != _small_key("other")


def test_progress_counts_up_across_both_primes() -> None:
    seen: list[int] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        keys.generate(512, rng=DeterministicRNG("progress"), progress=seen.append)
    assert seen == list(range(1, len(seen) + 1))
    assert len(seen) >= 2


def test_openssl_accepts_our_generated_key() -> None:
    key = _small_key("openssl", 1024)
    numbers = crypto_rsa.RSAPrivateNumbers(
        p=key.p,
        q=key.q,
        d=key.d,
        dmp1=key.dp,
        dmq1=key.dq,
        iqmp=key.qinv,
        public_numbers=crypto_rsa.RSAPublicNumbers(key.e, key.n),
    )
    numbers.private_key()  # cryptography runs OpenSSL's RSA key check here


def test_keys_generated_by_openssl_pass_our_check() -> None:
    for _ in range(3):
        numbers = crypto_rsa.generate_private_key(65537, 1024).private_numbers()
        key = RSAPrivateKey(
            n=numbers.public_numbers.n,
            e=numbers.public_numbers.e,
            d=numbers.d,
            p=numbers.p,
            q=numbers.q,
            dp=numbers.dmp1,
            dq=numbers.dmq1,
            qinv=numbers.iqmp,
        )
        keys.check_private_key(key)


@pytest.mark.parametrize("labs", LABS_KEYS, ids=[k.name for k in LABS_KEYS])
def test_rsa_labs_keys_rebuild_from_primes_and_from_components(labs: LabsKey) -> None:
    fields = labs.fields
    expected = labs_key(labs)
    keys.check_private_key(expected)
    rebuilt = RSAPrivateKey.from_primes(fields["p"], fields["q"], fields["e"], fields["d"])
    assert rebuilt == expected
    recovered = RSAPrivateKey.from_components(fields["n"], fields["e"], fields["d"])
    assert {recovered.p, recovered.q} == {fields["p"], fields["q"]}
    assert recovered.n == fields["n"] and recovered.d == fields["d"]


def test_from_components_agrees_with_cryptography() -> None:
    key = _small_key("components")
    p, q = crypto_rsa.rsa_recover_prime_factors(key.n, key.e, key.d)
    assert {p, q} == {key.p, key.q}
    assert RSAPrivateKey.from_components(key.n, key.e, key.d) == key


def test_from_components_rejects_inconsistent_numbers() -> None:
    key = _small_key("bad-components")
    with pytest.raises(InvalidKeyError):
        RSAPrivateKey.from_components(key.n, key.e, key.d + 2)


def test_from_primes_rejects_equal_primes_and_non_invertible_e() -> None:
    with pytest.raises(InvalidKeyError, match="distinct"):
        RSAPrivateKey.from_primes(101, 101)
    with pytest.raises(InvalidKeyError, match="not invertible"):
        RSAPrivateKey.from_primes(103, 107, e=3)  # 3 divides 102


def _broken(key: RSAPrivateKey, name: str) -> RSAPrivateKey:
    if name == "composite-p":
        p = key.p * 3  # not prime; rebuild so that every other relation still holds
        q = key.q
        lam = math.lcm(p - 1, q - 1)
        assert math.gcd(key.e, lam) == 1
        d = pow(key.e, -1, lam)
        return RSAPrivateKey(p * q, key.e, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p))
    changes = {
        "n": {"n": key.n + 2},
        "d": {"d": key.d + 2},
        "dp": {"dp": key.dp ^ 2},
        "dq": {"dq": key.dq ^ 2},
        "qinv": {"qinv": key.qinv ^ 2},
        "qinv-not-reduced": {"qinv": key.qinv + key.p},
        "p=q": {"q": key.p, "n": key.p * key.p},
        "even-e": {"e": key.e + 1},
    }[name]
    return dataclasses.replace(key, **changes)


@pytest.mark.parametrize(
    "name", ["n", "d", "dp", "dq", "qinv", "qinv-not-reduced", "p=q", "even-e", "composite-p"]
)
def test_check_private_key_catches_each_inconsistency(name: str) -> None:
    key = _small_key("check", 512, e=65537)
    keys.check_private_key(key)
    with pytest.raises(InvalidKeyError):
        keys.check_private_key(_broken(key, name))


@pytest.mark.parametrize(
    ("n", "e"),
    [(3233 * 2, 17), (3233, 2), (3233, 1), (3233, 3233), (3233, 4000), (9, 3), (0, 3)],
    ids=["even-n", "even-e", "e=1", "e=n", "e>n", "tiny-n", "zero-n"],
)
def test_check_public_key_rejects(n: int, e: int) -> None:
    with pytest.raises(InvalidKeyError):
        keys.check_public_key(RSAPublicKey(n, e))


def test_check_public_key_accepts_the_textbook_key() -> None:
    keys.check_public_key(RSAPublicKey(3233, 17))  # n = 61 * 53, Wikipedia's worked example


def test_repr_does_not_show_private_numbers() -> None:
    key = _small_key("repr")
    text = repr(key)
    assert str(key.n) in text
    for secret in (key.d, key.p, key.q, key.dp, key.dq, key.qinv):
        assert str(secret) not in text


def test_sizes() -> None:
    key = _small_key("sizes", 520)
    assert key.bits == key.public_key().bits == 520
    assert key.size_bytes == key.public_key().size_bytes == 65

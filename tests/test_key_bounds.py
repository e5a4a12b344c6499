"""Bounded costs: every key loader refuses an oversized key before any prime or consistency check,
``from_components`` refuses what is not a two-prime key, and the identity-key checks the chat will
run on every key it receives stay within fixed bounds.

The oversized keys are structurally valid DER or JSON around numbers that are not primes at all:
were any primality test run on them, the error would name primes, not the size bound.
"""

from __future__ import annotations

import json
import warnings

import pytest

from ciphers import der, pem
from ciphers.elgamal import formats as elgamal_formats
from ciphers.elgamal.core import PublicKey, check_identity_key, generate_private_key
from ciphers.elgamal.groups import MAX_GROUP_BITS, Group, check_identity_group, generate_group, named_group
from ciphers.elgamal.rfc_groups import rfc_prime
from ciphers.errors import FormatError, InsecureWarning, InvalidKeyError
from ciphers.numtheory import invert, lcm
from ciphers.primes import random_prime
from ciphers.rng import DeterministicRNG, randbits
from ciphers.rsa import formats
from ciphers.rsa.keys import (
    MAX_BITS,
    RSAPrivateKey,
    RSAPublicKey,
    check_identity_public_key,
    generate,
)


def _odd(bits: int, label: str) -> int:
    """An odd number of exactly ``bits`` bits (almost surely composite): no prime search needed."""
    return randbits(bits, DeterministicRNG(label)) | 1 << (bits - 1) | 1


def _pkcs1_private_der(bits: int) -> bytes:
    """A well-formed PKCS#1 RSAPrivateKey (version 0, nine INTEGERs) with a ``bits``-bit modulus."""
    half = bits // 2
    numbers = (0, _odd(bits, "n"), 65537, _odd(bits - 1, "d"), _odd(half, "p"), _odd(half, "q"))
    crt = (_odd(half - 1, "dp"), _odd(half - 1, "dq"), _odd(half - 1, "qinv"))
    return der.encode_sequence(*(der.encode_integer(x) for x in numbers + crt))


BIG = 31_150  # the key: 19 s in load_key before the bound, nearly all in its prime checks


@pytest.mark.parametrize("encoding", ["der", "pem"])
def test_a_31150_bit_pkcs1_private_key_is_refused_by_its_size(encoding: str) -> None:
    data = _pkcs1_private_der(BIG)
    if encoding == "pem":
        data = pem.encode(data, formats.PRIVATE_PKCS1_LABEL).encode("ascii")
    with pytest.raises(InvalidKeyError, match=f"{BIG} bits, above the maximum {MAX_BITS}"):
        formats.load_key(data)
    with pytest.raises(InvalidKeyError, match="above the maximum"):
        formats.load_private_key(data)


def test_oversized_keys_are_refused_in_every_rsa_format() -> None:
    inner = _pkcs1_private_der(BIG)
    algorithm = der.encode_sequence(der.encode_oid(formats.RSA_ENCRYPTION_OID), der.encode_null())
    pkcs8 = der.encode_sequence(der.encode_integer(0), algorithm, der.encode_octet_string(inner))
    public = der.encode_sequence(der.encode_integer(_odd(BIG, "n")), der.encode_integer(65537))
    spki = der.encode_sequence(algorithm, der.encode_bit_string(public))
    for data in (pkcs8, public, spki):
        with pytest.raises(InvalidKeyError, match="above the maximum"):
            formats.load_key(data)
    with pytest.raises(InvalidKeyError, match="above the maximum"):
        formats.load_public_key(spki)


def test_the_bound_itself_is_allowed() -> None:
    """A 16384-bit public key loads: the bound refuses only what is above it."""
    n = _odd(MAX_BITS, "n")
    key = formats.load_public_key(der.encode_sequence(der.encode_integer(n), der.encode_integer(65537)))
    assert key.bits == MAX_BITS
    with pytest.raises(InvalidKeyError, match="above the maximum"):
        formats.load_public_key(der.encode_sequence(der.encode_integer(2 * n + 1), der.encode_integer(65537)))


def test_generate_and_from_components_refuse_oversized_moduli_first() -> None:
    with pytest.raises(InvalidKeyError, match=f"at most {MAX_BITS} bits"):
        generate(MAX_BITS + 2)
    n = _odd(BIG, "n")
    with pytest.raises(InvalidKeyError, match="above the maximum"):
        RSAPrivateKey.from_components(n, 65537, n - 2)


def _three_prime_key(bits: int = 256) -> tuple[int, int, int]:
    rng = DeterministicRNG("three primes")
    primes = [random_prime(bits, rng) for _ in range(3)]
    n = primes[0] * primes[1] * primes[2]
    e = 65537
    d = invert(e, lcm(lcm(primes[0] - 1, primes[1] - 1), primes[2] - 1))
    return n, e, d


def test_from_components_refuses_a_three_prime_modulus() -> None:
    n, e, d = _three_prime_key()
    assert pow(pow(12345, e, n), d, n) == 12345  # a working three-prime RSA key ...
    with pytest.raises(InvalidKeyError, match="not prime"):  # ... that is not the two-prime key it claims
        RSAPrivateKey.from_components(n, e, d)


def test_from_components_refuses_out_of_range_numbers() -> None:
    key = RSAPrivateKey.from_components(*_small())
    for n, e, d in ((key.n, key.e, 0), (key.n, key.e, key.n), (key.n, 1, key.d), (key.n + 1, key.e, key.d)):
        with pytest.raises(InvalidKeyError):
            RSAPrivateKey.from_components(n, e, d)


def _small() -> tuple[int, int, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        key = generate(512, rng=DeterministicRNG("bounds"))
    return key.n, key.e, key.d


# --- identity keys: RSA -------------------------------------------------------------------------


def test_a_38000_bit_modulus_with_e_n_minus_2_is_no_identity() -> None:
    n = _odd(38_000, "n")
    with pytest.raises(InvalidKeyError, match="2048 to 4096 bits, not 38000"):
        check_identity_public_key(RSAPublicKey(n, n - 2))


@pytest.mark.parametrize(
    ("bits", "e", "problem"),
    [
        (2048, 65537, None),
        (3072, 65537, None),
        (4096, 65537, None),
        (2047, 65537, "2048 to 4096 bits"),
        (4097, 65537, "2048 to 4096 bits"),
        (1024, 65537, "2048 to 4096 bits"),
        (2048, 3, "exponent must be 65537"),
        (2048, 2**521 + 1, "exponent must be 65537"),
    ],
)
def test_identity_rsa_bounds(bits: int, e: int, problem: str | None) -> None:
    key = RSAPublicKey(_odd(bits, f"identity {bits}"), e)
    if problem is None:
        check_identity_public_key(key)
    else:
        with pytest.raises(InvalidKeyError, match=problem):
            check_identity_public_key(key)


def test_an_even_identity_modulus_is_refused() -> None:
    with pytest.raises(InvalidKeyError, match="odd"):
        check_identity_public_key(RSAPublicKey(_odd(2048, "even") - 1, 65537))


# --- identity keys and loaders: ElGamal ---------------------------------------------------------


def test_named_groups_of_2048_bits_and_more_carry_identities() -> None:
    for name in ("ffdhe2048", "modp2048", "ffdhe3072"):
        key = generate_private_key(named_group(name), DeterministicRNG(name)).public_key
        check_identity_key(key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        small = generate_private_key(named_group("modp1536"), DeterministicRNG("small")).public_key
    with pytest.raises(InvalidKeyError, match="modp1536 is a 1536-bit group, below the 2048 bits"):
        check_identity_key(small)


def test_custom_identity_groups_must_be_2048_to_4096_bits() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        custom = generate_group(256, DeterministicRNG("custom identity"))
    with pytest.raises(InvalidKeyError, match="custom identity group must have 2048 to 4096 bits, not 256"):
        check_identity_group(custom)
    # An RFC prime with g = 4 instead of 2 is a custom group (checked once when built), named by no RFC.
    for name, allowed in (("ffdhe2048", True), ("ffdhe6144", False)):
        p = rfc_prime(name)
        group = Group(p, (p - 1) // 2, 4)
        key = PublicKey(group, 16)
        if allowed:
            check_identity_key(key)
        else:
            with pytest.raises(InvalidKeyError, match="not 6144"):
                check_identity_key(key)


def _custom_group_document(bits: int) -> str:
    p = _odd(bits, "group p")
    return json.dumps(
        {
            "kind": elgamal_formats.KIND_PUBLIC,
            "version": 1,
            "group": {"p": f"{p:x}", "q": f"{(p - 1) // 2:x}", "g": "4"},
            "y": "4",
        }
    )


def test_an_oversized_custom_group_is_refused_before_any_primality_test() -> None:
    with pytest.raises(FormatError, match=f"31150 bits, above the maximum {MAX_GROUP_BITS}"):
        elgamal_formats.load_public_key(_custom_group_document(BIG))
    with pytest.raises(ValueError, match=f"at most {MAX_GROUP_BITS} bits"):
        generate_group(MAX_GROUP_BITS + 1)


def test_a_custom_group_within_the_bound_gets_its_primality_checked() -> None:
    with pytest.raises(FormatError, match="not prime"):
        elgamal_formats.load_public_key(_custom_group_document(2048))


def test_a_huge_y_in_a_named_group_is_refused_by_its_range_first() -> None:
    """y is compared with p before any Legendre symbol: a million hex digits cost one comparison."""
    document = {"kind": elgamal_formats.KIND_PUBLIC, "version": 1, "group": "ffdhe2048", "y": "f" * 1_000_000}
    with pytest.raises(FormatError, match="element of the subgroup"):
        elgamal_formats.load_public_key(json.dumps(document))

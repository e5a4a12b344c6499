"""DSA-form signatures under ElGamal keys: round trips, determinism and hedging, the range and
subgroup checks, the parameter check and its size bound, the byte encoding, and agreement with two
independent implementations (PyCryptodome's deterministic DSS, byte for byte; pyca/cryptography's
DSA, each verifying the other's signatures)."""

from __future__ import annotations

import hashlib
import warnings

import pytest
import sympy
from Crypto.Hash import SHA256
from Crypto.PublicKey import DSA as PyCryptodomeDSA
from Crypto.Signature import DSS
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa as pyca_dsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ciphers.elgamal import dsa, signatures
from ciphers.elgamal.core import PrivateKey, generate_private_key
from ciphers.elgamal.groups import MAX_GROUP_BITS, generate_group, named_group
from ciphers.errors import InsecureWarning, InvalidKeyError, VerificationError
from ciphers.rng import DeterministicRNG, FixedRNG
from ciphers.vectors.loader import load_json
from tests.kat import vector_path

with warnings.catch_warnings():
    warnings.simplefilter("ignore", InsecureWarning)
    GROUP = generate_group(256, DeterministicRNG("test_elgamal_dsa"))
    MODP768 = named_group("modp768")
KEY = generate_private_key(GROUP, DeterministicRNG("signer"))
PUBLIC = KEY.public_key
P, Q, G = GROUP.p, GROUP.q, GROUP.g

seeds = st.integers(min_value=0, max_value=2**32)
messages = st.binary(max_size=200)


def _z(message: bytes, q: int = Q) -> int:
    """FIPS 186-4 §4.6 z, computed here: the leftmost min(N, 256) bits of SHA-256."""
    digest = int.from_bytes(hashlib.sha256(message).digest(), "big")
    return digest >> max(0, 256 - q.bit_length())


@given(messages, seeds)
def test_round_trip_and_the_verification_equation(message: bytes, seed: int) -> None:
    signature = dsa.sign(KEY, message, DeterministicRNG(seed))
    assert 0 < signature.r < Q and 0 < signature.s < Q
    w = pow(signature.s, -1, Q)
    v = pow(G, _z(message) * w % Q, P) * pow(KEY.y, signature.r * w % Q, P) % P % Q
    assert v == signature.r
    dsa.verify(PUBLIC, message, signature)


def test_round_trip_in_an_rfc_group() -> None:
    key = generate_private_key(named_group("ffdhe2048"), DeterministicRNG("ffdhe"))
    signature = dsa.sign(key, b"hello")
    dsa.verify(key.public_key, b"hello", signature)
    assert len(signature.to_bytes(key.group)) == dsa.signature_length(key.group) == 512
    with pytest.raises(VerificationError):
        dsa.verify(key.public_key, b"hellO", signature)


def test_without_an_rng_the_signature_is_deterministic() -> None:
    assert dsa.sign(KEY, b"m", None) == dsa.sign(KEY, b"m", None)
    assert dsa.sign(KEY, b"m", None).r != dsa.sign(KEY, b"n", None).r  # a new k for a new message


def test_hedged_signatures_differ_and_all_verify() -> None:
    first, second = dsa.sign(KEY, b"m", DeterministicRNG(1)), dsa.sign(KEY, b"m", DeterministicRNG(2))
    assert first != second != dsa.sign(KEY, b"m", None)
    for signature in (first, second):
        dsa.verify(PUBLIC, b"m", signature)


def test_the_hedge_is_rfc_6979_extra_data_drawn_from_the_rng() -> None:
    extra = bytes(range(dsa.HEDGE_BYTES))
    digest = hashlib.sha256(b"m").digest()
    expected = dsa.sign_digest(P, Q, G, KEY.x, digest, "sha256", extra)
    assert dsa.sign(KEY, b"m", FixedRNG(extra)) == dsa.Signature(*expected)


@given(messages, messages)
def test_any_changed_message_fails(message: bytes, other: bytes) -> None:
    assume(message != other)
    signature = dsa.sign(KEY, message, None)
    with pytest.raises(VerificationError, match="invalid signature"):
        dsa.verify(PUBLIC, other, signature)


@given(messages, st.integers(min_value=1, max_value=2**64))
def test_any_changed_signature_fails(message: bytes, delta: int) -> None:
    signature = dsa.sign(KEY, message, None)
    for bad in (
        dsa.Signature((signature.r + delta) % Q, signature.s),
        dsa.Signature(signature.r, (signature.s + delta) % Q),
    ):
        assume(bad != signature)
        with pytest.raises(VerificationError):
            dsa.verify(PUBLIC, message, bad)


def test_r_and_s_must_be_in_1_to_q_minus_1_even_when_the_equation_holds() -> None:
    signature = dsa.sign(KEY, b"m", None)
    z = _z(b"m")
    assert dsa.verify_int(P, Q, G, KEY.y, z, signature.r, signature.s)
    # r + q and s + q give the same residues, so the equation alone would accept them
    for r, s in (
        (signature.r + Q, signature.s),
        (signature.r, signature.s + Q),
        (0, signature.s),
        (signature.r, 0),
    ):
        assert not dsa.verify_int(P, Q, G, KEY.y, z, r, s)
    for r, s in ((Q, 1), (1, Q), (0, 0), (Q - 1, Q - 1)):
        assert not dsa.verify_int(P, Q, G, KEY.y, z, r, s)


@pytest.mark.filterwarnings("ignore::ciphers.errors.InsecureWarning")
def test_a_classic_signature_is_not_a_dsa_signature() -> None:
    classic = signatures.sign(KEY, b"m", DeterministicRNG(3))
    with pytest.raises(VerificationError):
        dsa.verify(PUBLIC, b"m", dsa.Signature(classic.r, classic.s))


def test_signature_bytes() -> None:
    signature = dsa.sign(KEY, b"x", None)
    data = signature.to_bytes(GROUP)
    assert len(data) == dsa.signature_length(GROUP) == 2 * 32
    assert dsa.Signature.from_bytes(GROUP, data) == signature
    for bad in (data + b"\x00", data[:-1], b""):
        with pytest.raises(ValueError, match="64 bytes"):
            dsa.Signature.from_bytes(GROUP, bad)


# --- parameters and public values ---------------------------------------------------------------


def test_public_value_problem() -> None:
    assert dsa.public_value_problem(P, Q, KEY.y) is None
    for y in (0, 1, P - 1, P, P + KEY.y):
        assert dsa.public_value_problem(P, Q, y) == "public value y must satisfy 1 < y < p - 1"
    non_residue = next(a for a in range(2, 100) if pow(a, Q, P) != 1)
    assert dsa.public_value_problem(P, Q, non_residue) == "public value y is not in the subgroup of order q"


def _prime_with_composite_half() -> tuple[int, int]:
    """(p, q) with p = 2q + 1 prime but q composite: 4 has order dividing q, so only primality fails."""
    q = 2**255 + 1
    while sympy.isprime(q) or not sympy.isprime(2 * q + 1):
        q += 2
    return 2 * q + 1, q


def test_check_parameters_accepts_the_toolkit_groups() -> None:
    for group in (GROUP, MODP768, named_group("ffdhe2048")):
        dsa.check_parameters(group.p, group.q, group.g)


@pytest.mark.parametrize(
    ("p", "q", "g", "problem"),
    [
        (2 ** (MAX_GROUP_BITS + 7) + 1, 2**200 + 1, 2, "above the maximum 8192"),
        (P, 2**100 + 1, G, "at least 160 bits"),
        (P, P, G, "fewer than p"),
        (P, Q + 2, G, "does not divide p - 1"),
        (P, Q, P - 1, "does not have order q"),
        (P, Q, 1, "does not have order q"),
        (*_prime_with_composite_half(), 4, "must be prime"),
    ],
    ids=[
        "p too big",
        "q too small",
        "q as big as p",
        "q does not divide p - 1",
        "g = p - 1",
        "g = 1",
        "q composite",
    ],
)
def test_check_parameters_refuses(p: int, q: int, g: int, problem: str) -> None:
    with pytest.raises(InvalidKeyError, match=problem):
        dsa.check_parameters(p, q, g)


# --- differential: PyCryptodome and pyca/cryptography -------------------------------------------


def _pycryptodome(key: PrivateKey) -> PyCryptodomeDSA.DsaKey:
    group = key.group
    return PyCryptodomeDSA.construct((key.y, group.g, group.p, group.q, key.x))


@settings(max_examples=30, deadline=None)
@given(messages, seeds)
def test_deterministic_signatures_match_pycryptodome_byte_for_byte(message: bytes, seed: int) -> None:
    """PyCryptodome's ``deterministic-rfc6979`` DSS (its 'binary' encoding is r || s, |q| bytes each).

    In groups with |q| >= 256 bits, where both take the whole SHA-256 as z (PyCryptodome truncates
    z to whole bytes, FIPS 186-4 to bits: they agree only when no truncation happens).
    """
    key = generate_private_key(MODP768, DeterministicRNG(seed))
    ours = dsa.sign(key, message, None).to_bytes(MODP768)
    signer = DSS.new(_pycryptodome(key), "deterministic-rfc6979")
    assert ours == signer.sign(SHA256.new(message))
    signer.verify(SHA256.new(message), ours)  # raises if PyCryptodome disagrees


def test_pycryptodome_agrees_in_ffdhe2048() -> None:
    key = generate_private_key(named_group("ffdhe2048"), DeterministicRNG("ffdhe differential"))
    signer = DSS.new(_pycryptodome(key), "deterministic-rfc6979")
    for message in (b"", b"sample", bytes(range(256))):
        assert dsa.sign(key, message, None).to_bytes(key.group) == signer.sign(SHA256.new(message))


RFC6979_2048 = load_json(vector_path("dsa", "rfc6979_dsa.json"))["keys"][1]
P2, Q2, G2 = (int(RFC6979_2048[name], 16) for name in "pqg")


@settings(max_examples=20, deadline=None)
@given(messages, st.integers(min_value=1, max_value=Q2 - 1))
def test_pyca_cryptography_and_we_verify_each_other(message: bytes, x: int) -> None:
    """In the RFC 6979 2048/256 group (pyca/cryptography accepts only FIPS sizes), random x."""
    y = pow(G2, x, P2)
    numbers = pyca_dsa.DSAPrivateNumbers(
        x, pyca_dsa.DSAPublicNumbers(y, pyca_dsa.DSAParameterNumbers(P2, Q2, G2))
    )
    theirs = numbers.private_key()
    digest = hashlib.sha256(message).digest()
    r, s = decode_dss_signature(theirs.sign(message, hashes.SHA256()))  # their k is random
    assert dsa.verify_digest(P2, Q2, G2, y, digest, r, s)
    assert not dsa.verify_digest(P2, Q2, G2, y, hashlib.sha256(message + b"!").digest(), r, s)
    r, s = dsa.sign_digest(P2, Q2, G2, x, digest)
    theirs.public_key().verify(encode_dss_signature(r, s), message, hashes.SHA256())

"""ElGamal signatures: hashed round trips, rejection of any changed message or signature, the
verifier's range checks (against forgeries that satisfy the equation), the textbook forgery,
k injected through the rng, and agreement with PyCryptodome."""

from __future__ import annotations

import hashlib
import math
import warnings

import pytest
from Crypto.PublicKey import ElGamal as PyCryptodomeElGamal
from hypothesis import assume, given
from hypothesis import strategies as st

from ciphers.elgamal import signatures
from ciphers.elgamal.core import generate_private_key
from ciphers.elgamal.groups import generate_group, named_group
from ciphers.elgamal.signatures import Signature, sign_int, verify_int
from ciphers.errors import InsecureWarning, VerificationError
from ciphers.rng import DeterministicRNG, FixedRNG

pytestmark = pytest.mark.filterwarnings("ignore::ciphers.errors.InsecureWarning")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", InsecureWarning)
    GROUP = generate_group(256, DeterministicRNG("test_elgamal_signatures"))
KEY = generate_private_key(GROUP, DeterministicRNG("signer"))
PUBLIC = KEY.public_key
P, Q, G = GROUP.p, GROUP.q, GROUP.g

seeds = st.integers(min_value=0, max_value=2**32)
messages = st.binary(max_size=200)


def _h(message: bytes) -> int:
    return int.from_bytes(hashlib.sha256(message).digest(), "big") % (P - 1)


@given(messages, seeds)
def test_round_trip(message: bytes, seed: int) -> None:
    signature = signatures.sign(KEY, message, DeterministicRNG(seed))
    assert 0 < signature.r < P and 0 < signature.s < P - 1
    # the verification equation, computed here without our code
    assert pow(G, _h(message), P) == pow(KEY.y, signature.r, P) * pow(signature.r, signature.s, P) % P
    signatures.verify(PUBLIC, message, signature)


def test_round_trip_in_an_rfc_group() -> None:
    key = generate_private_key(named_group("ffdhe2048"), DeterministicRNG("ffdhe"))
    signature = signatures.sign(key, b"hello", DeterministicRNG(1))
    signatures.verify(key.public_key, b"hello", signature)
    with pytest.raises(VerificationError):
        signatures.verify(key.public_key, b"hellO", signature)


@given(messages, messages, seeds)
def test_any_changed_message_fails(message: bytes, other: bytes, seed: int) -> None:
    assume(message != other)
    signature = signatures.sign(KEY, message, DeterministicRNG(seed))
    with pytest.raises(VerificationError, match="invalid signature"):
        signatures.verify(PUBLIC, other, signature)


@given(messages, seeds, st.integers(min_value=1, max_value=2**64))
def test_any_changed_signature_fails(message: bytes, seed: int, delta: int) -> None:
    signature = signatures.sign(KEY, message, DeterministicRNG(seed))
    for bad in (
        Signature((signature.r + delta) % P, signature.s),
        Signature(signature.r, (signature.s + delta) % (P - 1)),
    ):
        assume(bad != signature)
        with pytest.raises(VerificationError):
            signatures.verify(PUBLIC, message, bad)


def test_k_is_drawn_through_the_rng() -> None:
    k = 0xC0FFEE1  # odd and far below q: coprime to p - 1 = 2q
    bits = (P - 3).bit_length()  # randrange(1, p - 1) draws below p - 2
    nbytes = (bits + 7) // 8
    rng = FixedRNG(((k - 1) << (8 * nbytes - bits)).to_bytes(nbytes, "big"))
    signature = signatures.sign(KEY, b"message", rng)
    r = pow(G, k, P)
    assert signature == Signature(r, (_h(b"message") - KEY.x * r) * pow(k, -1, P - 1) % (P - 1))


@given(seeds)
def test_nonces_are_coprime_to_p_minus_1(seed: int) -> None:
    k = signatures.random_nonce(GROUP, DeterministicRNG(seed))
    assert 1 <= k <= P - 2 and math.gcd(k, P - 1) == 1


def test_sign_int_refuses_k_not_coprime_to_p_minus_1() -> None:
    for k in (2, Q, 2 * Q):
        with pytest.raises(ValueError, match="coprime"):
            sign_int(P, G, KEY.x, 5, k)


def test_verifier_rejects_s_out_of_range_even_when_the_equation_holds() -> None:
    signature = signatures.sign(KEY, b"m", DeterministicRNG(7))
    s_big = signature.s + (P - 1)  # same exponent mod p - 1, so g^h == y^r r^s still holds
    assert pow(KEY.y, signature.r, P) * pow(signature.r, s_big, P) % P == pow(G, _h(b"m"), P)
    assert not verify_int(P, G, KEY.y, _h(b"m"), signature.r, s_big)
    for s in (0, P - 1):
        assert not verify_int(P, G, KEY.y, _h(b"m"), signature.r, s)


def test_verifier_rejects_r_out_of_range_which_blocks_a_forgery() -> None:
    """Without 0 < r < p, one valid signature on h yields one on any h' (HAC §11.5.2)."""
    h, h_new = 3, 1234567
    signature = signatures.sign_textbook(KEY, h, DeterministicRNG(8))
    u = h_new * pow(h, -1, P - 1) % (P - 1)
    s_new = signature.s * u % (P - 1)
    # r' ≡ r u (mod p - 1) and r' ≡ r (mod p), by the Chinese remainder theorem
    n = P * (P - 1)
    r_new = (signature.r * u * P * pow(P, -1, P - 1) + signature.r * (P - 1) * pow(P - 1, -1, P)) % n
    assert pow(KEY.y, r_new, P) * pow(r_new, s_new, P) % P == pow(G, h_new, P)
    assert r_new >= P
    with pytest.raises(VerificationError):
        signatures.verify_textbook(PUBLIC, h_new, Signature(r_new, s_new))
    for r in (0, P):
        assert not verify_int(P, G, KEY.y, h, r, signature.s)


def test_textbook_signatures_warn_and_round_trip() -> None:
    with pytest.warns(InsecureWarning, match="forgeable"):
        signature = signatures.sign_textbook(KEY, 42, DeterministicRNG(9))
    signatures.verify_textbook(PUBLIC, 42, signature)
    with pytest.raises(VerificationError):
        signatures.verify_textbook(PUBLIC, 43, signature)


@given(st.integers(min_value=1, max_value=Q - 1), st.integers(min_value=1, max_value=P - 2))
def test_textbook_existential_forgery_from_the_public_key_alone(a: int, b: int) -> None:
    """Why bare-integer signatures are insecure: (h, r, s) forged without x (r = g^a y^b)."""
    assume(math.gcd(b, P - 1) == 1)
    r = pow(G, a, P) * pow(KEY.y, b, P) % P
    s = -r * pow(b, -1, P - 1) % (P - 1)
    assume(s != 0)
    signatures.verify_textbook(PUBLIC, s * a % (P - 1), Signature(r, s))


def test_signature_bytes() -> None:
    signature = signatures.sign(KEY, b"x", DeterministicRNG(10))
    data = signature.to_bytes(GROUP)
    assert len(data) == 2 * GROUP.element_bytes
    assert Signature.from_bytes(GROUP, data) == signature
    with pytest.raises(ValueError, match="bytes"):
        Signature.from_bytes(GROUP, data + b"\x00")


# --- differential: PyCryptodome's ElGamal signing equations ---

PEER = PyCryptodomeElGamal.construct((P, G, KEY.y, KEY.x))


@given(st.integers(min_value=0, max_value=P - 2), st.integers(min_value=1, max_value=P - 2))
def test_signing_matches_pycryptodome(h: int, k: int) -> None:
    assume(math.gcd(k, P - 1) == 1)
    ours = sign_int(P, G, KEY.x, h, k)
    assert list(ours) == PEER._sign(h, k)
    assume(ours[1] != 0)
    assert PEER._verify(h, list(ours))
    assert verify_int(P, G, KEY.y, h, *ours)


@pytest.mark.filterwarnings("default::ciphers.errors.InsecureWarning")
def test_classic_hashed_signatures_warn_that_they_are_forgeable() -> None:
    with pytest.warns(InsecureWarning, match="Bleichenbacher 1996"):
        signature = signatures.sign(KEY, b"m", DeterministicRNG(1))
    with pytest.warns(InsecureWarning, match="forgeable"):
        signatures.verify(PUBLIC, b"m", signature)

"""ElGamal keys and textbook encryption: round trips, the multiplicative homomorphism, strict
subgroup checks, one decryption error, and agreement with PyCryptodome's ElGamal equations."""

from __future__ import annotations

import warnings

import pytest
from Crypto.PublicKey import ElGamal as PyCryptodomeElGamal
from hypothesis import given
from hypothesis import strategies as st

from ciphers.elgamal import core, encoding
from ciphers.elgamal.core import Ciphertext, PrivateKey, PublicKey, generate_private_key
from ciphers.elgamal.groups import generate_group
from ciphers.errors import DecryptionError, InsecureWarning, InvalidKeyError
from ciphers.rng import DeterministicRNG

pytestmark = pytest.mark.filterwarnings("ignore::ciphers.errors.InsecureWarning")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", InsecureWarning)
    GROUP = generate_group(256, DeterministicRNG("test_elgamal_core"))
KEY = generate_private_key(GROUP, DeterministicRNG("key"))
P, Q, G = GROUP.p, GROUP.q, GROUP.g

exponents = st.integers(min_value=1, max_value=Q - 1)
elements = exponents.map(lambda e: pow(G, e, P))
seeds = st.integers(min_value=0, max_value=2**32)


def test_key_generation() -> None:
    assert 1 <= KEY.x < Q
    assert KEY.y == pow(G, KEY.x, P)
    assert generate_private_key(GROUP, DeterministicRNG("key")) == KEY
    assert generate_private_key(GROUP, DeterministicRNG("other")) != KEY


def test_private_key_repr_hides_x() -> None:
    assert f"{KEY.x}" not in repr(KEY)
    assert "x=" not in repr(KEY)


def test_private_key_checks() -> None:
    for x in (0, Q, Q + 1, -1):
        with pytest.raises(InvalidKeyError, match=r"\[1, q - 1\]"):
            PrivateKey(GROUP, x, KEY.y)
    with pytest.raises(InvalidKeyError, match="g\\^x"):
        PrivateKey(GROUP, KEY.x, KEY.y * G % P)


def test_public_key_must_be_a_subgroup_element_other_than_1() -> None:
    non_residue = next(a for a in range(2, 100) if pow(a, Q, P) == P - 1)
    for y in (0, 1, P - 1, P, non_residue):
        with pytest.raises(InvalidKeyError, match="subgroup"):
            PublicKey(GROUP, y)


@given(elements, seeds)
def test_element_round_trip(m: int, seed: int) -> None:
    ciphertext = core.encrypt_element(KEY.public_key, m, DeterministicRNG(seed))
    assert pow(ciphertext.c1, Q, P) == 1 and pow(ciphertext.c2, Q, P) == 1
    assert core.decrypt_element(KEY, ciphertext) == m


@given(elements, elements, seeds)
def test_multiplicative_homomorphism(m1: int, m2: int, seed: int) -> None:
    rng = DeterministicRNG(seed)
    a = core.encrypt_element(KEY.public_key, m1, rng)
    b = core.encrypt_element(KEY.public_key, m2, rng)
    product = Ciphertext(a.c1 * b.c1 % P, a.c2 * b.c2 % P)
    assert core.decrypt_element(KEY, product) == m1 * m2 % P


def test_textbook_encryption_warns() -> None:
    with pytest.warns(InsecureWarning, match="malleable"):
        core.encrypt_element(KEY.public_key, G, DeterministicRNG(1))
    with pytest.warns(InsecureWarning, match="malleable"):
        core.encrypt_bytes(KEY.public_key, b"hi", DeterministicRNG(1))


def test_encryption_refuses_messages_outside_the_subgroup() -> None:
    non_residue = next(a for a in range(2, 100) if pow(a, Q, P) == P - 1)
    for m in (0, P, non_residue):
        with pytest.raises(ValueError, match="subgroup"):
            core.encrypt_element(KEY.public_key, m, DeterministicRNG(0))


def test_decryption_refuses_components_outside_the_subgroup() -> None:
    good = core.encrypt_element(KEY.public_key, G, DeterministicRNG(0))
    non_residue = next(a for a in range(2, 100) if pow(a, Q, P) == P - 1)
    for bad in (
        Ciphertext(0, good.c2),
        Ciphertext(good.c1, 0),
        Ciphertext(P + good.c1, good.c2),
        Ciphertext(non_residue, good.c2),
        Ciphertext(good.c1, P - good.c2),
    ):
        with pytest.raises(DecryptionError, match=r"^decryption error$"):
            core.decrypt_element(KEY, bad)


MAX = encoding.max_message_length(GROUP)


@given(st.binary(max_size=3 * MAX + 5), seeds)
def test_bytes_round_trip_across_chunks(message: bytes, seed: int) -> None:
    ciphertext = core.encrypt_bytes(KEY.public_key, message, DeterministicRNG(seed))
    chunks = max(1, -(-len(message) // MAX))
    assert len(ciphertext) == chunks * 2 * GROUP.element_bytes
    assert core.decrypt_bytes(KEY, ciphertext) == message


def test_textbook_chunks_can_be_reordered_unnoticed() -> None:
    """Why the chunked textbook scheme is insecure: swapping chunks swaps the plaintext blocks."""
    a, b = b"A" * MAX, b"B" * MAX
    ciphertext = core.encrypt_bytes(KEY.public_key, a + b, DeterministicRNG(3))
    half = len(ciphertext) // 2
    assert core.decrypt_bytes(KEY, ciphertext[half:] + ciphertext[:half]) == b + a


def test_bytes_decryption_failures_all_look_the_same() -> None:
    ciphertext = core.encrypt_bytes(KEY.public_key, b"attack at dawn", DeterministicRNG(4))
    n = GROUP.element_bytes
    non_residue = next(a for a in range(2, 100) if pow(a, Q, P) == P - 1)
    not_a_byte_string = core.encrypt_element(
        KEY.public_key, encoding.int_to_element(GROUP, 2), DeterministicRNG(5)
    )
    for bad in (
        b"",
        ciphertext[:-1],
        ciphertext + b"\x00",
        ciphertext[:n] + non_residue.to_bytes(n, "big"),
        bytes(2 * n),
        not_a_byte_string.to_bytes(GROUP),
    ):
        with pytest.raises(DecryptionError, match=r"^decryption error$"):
            core.decrypt_bytes(KEY, bad)


def test_ciphertext_bytes_round_trip() -> None:
    ciphertext = core.encrypt_element(KEY.public_key, G, DeterministicRNG(6))
    data = ciphertext.to_bytes(GROUP)
    assert len(data) == 2 * GROUP.element_bytes
    assert Ciphertext.from_bytes(GROUP, data) == ciphertext
    with pytest.raises(DecryptionError):
        Ciphertext.from_bytes(GROUP, data[1:])


# --- differential: PyCryptodome's ElGamal key object computes the same equations ---

PEER = PyCryptodomeElGamal.construct((P, G, KEY.y, KEY.x))


@given(elements, exponents)
def test_encryption_matches_pycryptodome(m: int, k: int) -> None:
    ours = core.encrypt_int(P, G, KEY.y, m, k)
    assert list(ours) == PEER._encrypt(m, k)
    assert PEER._decrypt(list(ours)) == m


@given(elements, exponents)
def test_decryption_of_pycryptodome_ciphertexts(m: int, k: int) -> None:
    c1, c2 = PEER._encrypt(m, k)
    assert core.decrypt_element(KEY, Ciphertext(c1, c2)) == m
    assert core.decrypt_int(P, KEY.x, c1, c2) == m

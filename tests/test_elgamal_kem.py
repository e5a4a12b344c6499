"""The ElGamal KEM and the hybrid scheme built on it, and HKDF (RFC 5869) against pyca/cryptography.

Expected keys are derived independently here: the shared element with Python's pow and the KDF
with cryptography's HKDF, never with the code under test."""

from __future__ import annotations

import hashlib
import hmac
import warnings

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from ciphers.elgamal import hkdf, hybrid, kem
from ciphers.elgamal.core import generate_private_key
from ciphers.elgamal.groups import generate_group, named_group
from ciphers.errors import DecryptionError, InsecureWarning
from ciphers.rng import DeterministicRNG

with warnings.catch_warnings():
    warnings.simplefilter("ignore", InsecureWarning)
    GROUP = generate_group(256, DeterministicRNG("test_elgamal_kem"))
KEY = generate_private_key(GROUP, DeterministicRNG("recipient"))
OTHER = generate_private_key(GROUP, DeterministicRNG("someone else"))
P, Q, G = GROUP.p, GROUP.q, GROUP.g
N = GROUP.element_bytes

seeds = st.integers(min_value=0, max_value=2**32)


def _reference_hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt or None, info=info).derive(ikm)


# --- HKDF ---


@given(st.binary(max_size=100), st.binary(max_size=64), st.binary(max_size=100), st.integers(1, 255 * 32))
def test_hkdf_matches_cryptography(ikm: bytes, salt: bytes, info: bytes, length: int) -> None:
    assert hkdf.hkdf(ikm, salt=salt, info=info, length=length) == _reference_hkdf(ikm, salt, info, length)


def test_hkdf_output_length_limit() -> None:
    with pytest.raises(ValueError, match="length"):
        hkdf.expand(bytes(32), b"", 255 * 32 + 1)
    assert hkdf.expand(bytes(32), b"", 0) == b""


# --- KEM ---


def _expected_key(c1: int, length: int) -> bytes:
    shared = pow(c1, KEY.x, P).to_bytes(N, "big")
    info = b"cipherchat ElGamal-KEM v1" + c1.to_bytes(N, "big") + KEY.y.to_bytes(N, "big")
    return _reference_hkdf(shared, b"", info, length)


@given(seeds, st.integers(min_value=1, max_value=200))
def test_kem_round_trip_and_independent_derivation(seed: int, length: int) -> None:
    c1, key = kem.encapsulate(KEY.public_key, length=length, rng=DeterministicRNG(seed))
    assert len(key) == length
    assert pow(c1, Q, P) == 1 and c1 != 1
    assert key == _expected_key(c1, length)
    assert kem.decapsulate(KEY, c1, length) == key


def test_kem_default_length_and_fresh_keys() -> None:
    c1, key = kem.encapsulate(KEY.public_key, rng=DeterministicRNG(1))
    c1b, keyb = kem.encapsulate(KEY.public_key, rng=DeterministicRNG(2))
    assert len(key) == 32 and kem.decapsulate(KEY, c1) == key
    assert c1 != c1b and key != keyb


def test_kem_another_private_key_derives_another_key() -> None:
    c1, key = kem.encapsulate(KEY.public_key, rng=DeterministicRNG(3))
    assert kem.decapsulate(OTHER, c1) != key


def test_kem_in_ffdhe2048() -> None:
    key = generate_private_key(named_group("ffdhe2048"), DeterministicRNG("ffdhe"))
    c1, secret = kem.encapsulate(key.public_key, rng=DeterministicRNG(4))
    assert kem.decapsulate(key, c1) == secret


def test_decapsulation_checks_c1_is_in_the_subgroup() -> None:
    non_residue = next(a for a in range(2, 100) if pow(a, Q, P) == P - 1)
    for c1 in (0, 1, P - 1, P, P + 4, non_residue, -4):
        with pytest.raises(DecryptionError, match=r"^decryption error$"):
            kem.decapsulate(KEY, c1)


# --- hybrid encryption ---


@given(st.binary(max_size=300), seeds)
def test_hybrid_round_trip(message: bytes, seed: int) -> None:
    blob = hybrid.encrypt(KEY.public_key, message, DeterministicRNG(seed))
    assert len(blob) == 4 + N + len(message) + 32
    assert hybrid.decrypt(KEY, blob) == message


def test_hybrid_layout_matches_an_independent_computation() -> None:
    message = b"the layout is documented in ciphers/elgamal/hybrid.py" * 3
    blob = hybrid.encrypt(KEY.public_key, message, DeterministicRNG(5))
    assert blob[:4] == b"EGH1"
    c1 = int.from_bytes(blob[4 : 4 + N], "big")
    key = _expected_key(c1, 64)
    enc_key, mac_key = key[:32], key[32:]
    stream = b"".join(hmac.new(enc_key, i.to_bytes(8, "big"), hashlib.sha256).digest() for i in range(6))
    body = bytes(a ^ b for a, b in zip(message, stream, strict=False))
    tag = hmac.new(mac_key, blob[: 4 + N] + body, hashlib.sha256).digest()
    assert blob == blob[: 4 + N] + body + tag


@given(st.binary(min_size=1, max_size=64), st.data())
def test_hybrid_detects_any_changed_byte(message: bytes, data: st.DataObject) -> None:
    blob = bytearray(hybrid.encrypt(KEY.public_key, message, DeterministicRNG(6)))
    position = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    blob[position] ^= data.draw(st.integers(min_value=1, max_value=255))
    with pytest.raises(DecryptionError, match=r"^decryption error$"):
        hybrid.decrypt(KEY, bytes(blob))


def test_hybrid_failures_all_look_the_same() -> None:
    blob = hybrid.encrypt(KEY.public_key, b"hello", DeterministicRNG(7))
    for bad in (b"", blob[:10], blob[:-1], blob + b"\x00", b"XXXX" + blob[4:]):
        with pytest.raises(DecryptionError, match=r"^decryption error$"):
            hybrid.decrypt(KEY, bad)
    with pytest.raises(DecryptionError, match=r"^decryption error$"):
        hybrid.decrypt(OTHER, blob)

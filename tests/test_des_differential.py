"""Differential tests: our DES, FastDES and TripleDES against PyCryptodome (an independent C
implementation, test-only) on random keys and blocks, ECB, both directions."""

from __future__ import annotations

import warnings

import pytest
from Crypto.Cipher import DES as PyCryptodomeDES
from Crypto.Cipher import DES3 as PyCryptodomeDES3
from hypothesis import assume, given
from hypothesis import strategies as st

from ciphers.des import DES
from ciphers.des_fast import FastDES
from ciphers.errors import InsecureWarning
from ciphers.rng import DeterministicRNG
from ciphers.tdes import TripleDES

keys8 = st.binary(min_size=8, max_size=8)
messages = st.integers(min_value=1, max_value=6).flatmap(lambda n: st.binary(min_size=8 * n, max_size=8 * n))


def ecb(cipher: DES | FastDES | TripleDES, data: bytes, *, decrypt: bool = False) -> bytes:
    step = cipher.decrypt_block if decrypt else cipher.encrypt_block
    return b"".join(step(data[i : i + 8]) for i in range(0, len(data), 8))


def quiet_des(factory: type[DES] | type[FastDES], key: bytes) -> DES | FastDES:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return factory(key)


def distinct_as_des_keys(a: bytes, b: bytes) -> bool:
    """PyCryptodome's DES3 refuses K1 = K2 or K2 = K3 after dropping parity bits."""
    return bytes(x & 0xFE for x in a) != bytes(x & 0xFE for x in b)


@pytest.mark.parametrize("factory", [DES, FastDES], ids=["readable", "fast"])
@given(key=keys8, data=messages)
def test_des_against_pycryptodome(factory: type[DES] | type[FastDES], key: bytes, data: bytes) -> None:
    reference = PyCryptodomeDES.new(key, PyCryptodomeDES.MODE_ECB)
    ours = quiet_des(factory, key)
    assert ecb(ours, data) == reference.encrypt(data)
    assert ecb(ours, data, decrypt=True) == reference.decrypt(data)


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "readable"])
@given(k1=keys8, k2=keys8, k3=keys8, data=messages)
def test_three_key_tdes_against_pycryptodome(
    fast: bool, k1: bytes, k2: bytes, k3: bytes, data: bytes
) -> None:
    assume(distinct_as_des_keys(k1, k2) and distinct_as_des_keys(k2, k3))
    key = k1 + k2 + k3
    reference = PyCryptodomeDES3.new(key, PyCryptodomeDES3.MODE_ECB)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)  # a weak component key is possible
        ours = TripleDES(key, fast=fast)
    assert ecb(ours, data) == reference.encrypt(data)
    assert ecb(ours, data, decrypt=True) == reference.decrypt(data)


@given(k1=keys8, k2=keys8, data=messages)
def test_two_key_tdes_against_pycryptodome(k1: bytes, k2: bytes, data: bytes) -> None:
    assume(distinct_as_des_keys(k1, k2))
    reference = PyCryptodomeDES3.new(k1 + k2, PyCryptodomeDES3.MODE_ECB)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        ours = TripleDES(k1 + k2)
    assert ours.keying_option == 2
    assert ecb(ours, data) == reference.encrypt(data)
    assert ecb(ours, data, decrypt=True) == reference.decrypt(data)


def test_fast_paths_in_bulk() -> None:
    """Many keys and 256 blocks each through the fast paths' integer interface."""
    rng = DeterministicRNG("des differential bulk")
    for _ in range(20):
        key, data = rng.bytes(24), rng.bytes(8 * 256)
        blocks = [int.from_bytes(data[i : i + 8], "big") for i in range(0, len(data), 8)]
        single = quiet_des(FastDES, key[:8])
        expected = PyCryptodomeDES.new(key[:8], PyCryptodomeDES.MODE_ECB).encrypt(data)
        assert b"".join(single.encrypt_int(b).to_bytes(8, "big") for b in blocks) == expected
        if distinct_as_des_keys(key[:8], key[8:16]) and distinct_as_des_keys(key[8:16], key[16:]):
            triple = TripleDES(key)
            expected = PyCryptodomeDES3.new(key, PyCryptodomeDES3.MODE_ECB).encrypt(data)
            assert b"".join(triple.encrypt_int(b).to_bytes(8, "big") for b in blocks) == expected

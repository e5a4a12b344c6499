"""Triple DES: every published vector on every path (readable, table-driven, bit slices), keying
options, degenerate keys.

Vectors (provenance in tests/vectors/README.md): Botan's des.vec ``[TripleDES]`` (16- and 24-byte
keys), the NIST CAVP ``TECBMMT1/2/3.rsp`` multi-block files (KEY1/KEY2/KEY3), the CAVP
``TECB*.rsp`` KATs whose ``KEYs`` means K1 = K2 = K3, and the 3DES ECB entries of des_misc_kat.json
(NIST SP 800-67 example, Crypto++ self-test).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ciphers import modes
from ciphers.des import DES
from ciphers.errors import InsecureWarning, InvalidKeyError
from ciphers.tdes import TripleDES
from ciphers.vectors.loader import load_json, load_records
from tests import kat

CAVP_MMT_FILES = ["TECBMMT1.rsp", "TECBMMT2.rsp", "TECBMMT3.rsp"]

keys8 = st.binary(min_size=8, max_size=8)
blocks8 = st.binary(min_size=8, max_size=8)


#: The three paths: (fast, bitslice) arguments of TripleDES.
PATHS = {"table": (True, False), "bitslice": (True, True), "readable": (False, False)}


def make(key: bytes, fast: bool | str) -> TripleDES:
    """A cipher on a path (a PATHS name, or ``fast`` as TripleDES takes it); its degenerate-key
    warning, if any, is not what the test is about."""
    fast_path, bitslice = PATHS[fast] if isinstance(fast, str) else (fast, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return TripleDES(key, fast=fast_path, bitslice=bitslice if fast_path else None)


def split_blocks(data: bytes) -> list[bytes]:
    assert len(data) % 8 == 0 and data
    return [data[i : i + 8] for i in range(0, len(data), 8)]


def constructed_with_warnings(key: bytes, *, path: str = "table") -> tuple[TripleDES, list[str]]:
    """The cipher and the messages of every InsecureWarning its construction raised."""
    fast, bitslice = PATHS[path]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cipher = TripleDES(key, fast=fast, bitslice=bitslice if fast else None)
    assert all(issubclass(w.category, InsecureWarning) for w in caught)
    return cipher, [str(w.message) for w in caught]


def botan(path: Path) -> Iterator[Any]:
    for r in load_records(path):
        if r.section == "TripleDES":
            yield pytest.param(r["Key"], r["In"], r["Out"], id=r.label)


def cavp_mmt(path: Path) -> Iterator[Any]:
    for r in load_records(path):
        key = r["KEY1"] + r["KEY2"] + r["KEY3"]
        yield pytest.param(key, r["PLAINTEXT"], r["CIPHERTEXT"], id=r.label)


def cavp_keys(path: Path) -> Iterator[Any]:
    for r in load_records(path):
        yield pytest.param(r["KEYs"] * 3, r["PLAINTEXT"], r["CIPHERTEXT"], id=r.label)


def misc_ecb(path: Path) -> Iterator[Any]:
    for v in load_json(path)["vectors"]:
        if v["mode"] == "ECB" and len(v["key"]) == 48:
            yield pytest.param(v["key"], v["plaintext"], v["ciphertext"], id=f"misc:{v['name']}")


BOTAN = kat.from_files(botan, "des", ["botan_des.vec"])
MMT = kat.from_files(cavp_mmt, "tdes_cavp", CAVP_MMT_FILES)
KEYS = kat.from_files(cavp_keys, "tdes_cavp", kat.CAVP_TECB_KEYS)
MISC = kat.from_files(misc_ecb, "des", ["des_misc_kat.json"])

test_every_vector_file_yields_vectors = kat.every_file_yields_vectors(BOTAN, MMT, KEYS, MISC)


@pytest.fixture(params=list(PATHS))
def path(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def check(cipher: TripleDES, plaintext: str, ciphertext: str) -> None:
    for p, c in zip(
        split_blocks(bytes.fromhex(plaintext)), split_blocks(bytes.fromhex(ciphertext)), strict=True
    ):
        assert cipher.encrypt_block(p) == c
        assert cipher.decrypt_block(c) == p
        assert cipher.encrypt_int(int.from_bytes(p, "big")) == int.from_bytes(c, "big")
        assert cipher.decrypt_int(int.from_bytes(c, "big")) == int.from_bytes(p, "big")
    # all blocks at once (the bulk operations on the bitslice path)
    assert modes.ecb_encrypt(cipher, bytes.fromhex(plaintext), pad=False) == bytes.fromhex(ciphertext)
    assert modes.ecb_decrypt(cipher, bytes.fromhex(ciphertext), pad=False) == bytes.fromhex(plaintext)


@pytest.mark.parametrize(("key", "plaintext", "ciphertext"), [*BOTAN, *MMT, *MISC])
def test_ecb_vector(path: str, key: str, plaintext: str, ciphertext: str) -> None:
    check(make(bytes.fromhex(key), path), plaintext, ciphertext)


@pytest.mark.parametrize(("key", "plaintext", "ciphertext"), KEYS)
def test_cavp_single_key_vector(path: str, key: str, plaintext: str, ciphertext: str) -> None:
    """KEYs = K1 = K2 = K3: keying option 3, which is single DES, and says so."""
    cipher, messages = constructed_with_warnings(bytes.fromhex(key), path=path)
    assert any("K1 = K2 = K3" in m for m in messages)
    assert cipher.keying_option == 3
    check(cipher, plaintext, ciphertext)


def test_mmt_keying_options() -> None:
    """MMT1 has K1 = K2 = K3, MMT2 K1 = K3, MMT3 three keys (CAVP file headers)."""
    expected = {"TECBMMT1.rsp": 3, "TECBMMT2.rsp": 2, "TECBMMT3.rsp": 1}
    for name, option in expected.items():
        for r in load_records(kat.vector_path("tdes_cavp", name)):
            key = bytes.fromhex(r["KEY1"] + r["KEY2"] + r["KEY3"])
            assert make(key, fast=True).keying_option == option, r.label


K1, K2, K3 = (bytes.fromhex(h) for h in ("0123456789abcdef", "23456789abcdef01", "456789abcdef0123"))


def test_keying_options() -> None:
    assert TripleDES(K1 + K2 + K3).keying_option == 1
    assert TripleDES(K1 + K2 + K1).keying_option == 2
    assert TripleDES(K1 + K2).keying_option == 2


def test_sixteen_byte_key_means_k3_is_k1() -> None:
    block = b"8 bytes!"
    assert TripleDES(K1 + K2).encrypt_block(block) == TripleDES(K1 + K2 + K1).encrypt_block(block)


@pytest.mark.parametrize("length", [0, 7, 8, 15, 17, 23, 25, 32])
def test_wrong_key_length(length: int) -> None:
    with pytest.raises(InvalidKeyError, match="16 bytes"):
        TripleDES(bytes(range(length)))


def test_key_must_be_bytes() -> None:
    with pytest.raises(InvalidKeyError, match="bytes"):
        TripleDES((K1 + K2 + K3).hex())  # type: ignore[arg-type]


def test_sound_key_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TripleDES(K1 + K2 + K3)


def test_parity_bits_do_not_make_keys_different() -> None:
    """K2 equal to K1 but for the parity bits is still K1 = K2."""
    twin = bytes(b ^ 1 for b in K1)
    with pytest.warns(InsecureWarning, match="K1 = K2"):
        TripleDES(K1 + twin + K3)


def test_weak_component_key_warns() -> None:
    with pytest.warns(InsecureWarning, match="K2: .*weak key"):
        TripleDES(K1 + bytes.fromhex("0101010101010101") + K3)


@given(k1=keys8, k3=keys8, block=blocks8)
def test_k1_equal_k2_is_single_des_under_k3(k1: bytes, k3: bytes, block: bytes) -> None:
    cipher, messages = constructed_with_warnings(k1 + k1 + k3)
    assert any("single DES" in m for m in messages)
    assert cipher.encrypt_block(block) == make_des(k3).encrypt_block(block)


@given(k1=keys8, k2=keys8, block=blocks8)
def test_k2_equal_k3_is_single_des_under_k1(k1: bytes, k2: bytes, block: bytes) -> None:
    cipher, messages = constructed_with_warnings(k1 + k2 + k2)
    assert any("single DES" in m for m in messages)
    assert cipher.encrypt_block(block) == make_des(k1).encrypt_block(block)


@given(k=keys8, block=blocks8)
def test_k1_k2_k3_equal_is_single_des(k: bytes, block: bytes) -> None:
    cipher, messages = constructed_with_warnings(k * 3)
    assert any("K1 = K2 = K3" in m for m in messages)
    assert cipher.keying_option == 3
    assert cipher.encrypt_block(block) == make_des(k).encrypt_block(block)
    assert cipher.decrypt_block(block) == make_des(k).decrypt_block(block)


def test_weak_key_repeated_is_reported_once() -> None:
    _, messages = constructed_with_warnings(bytes.fromhex("fefefefefefefefe") * 3)
    assert sum("weak key" in m for m in messages) == 1


@given(key=st.binary(min_size=24, max_size=24), block=st.integers(0, 2**64 - 1))
def test_fast_equals_readable_and_round_trips(key: bytes, block: int) -> None:
    fast, readable = make(key, fast=True), make(key, fast=False)
    ciphertext = fast.encrypt_int(block)
    assert readable.encrypt_int(block) == ciphertext
    assert fast.decrypt_int(ciphertext) == block
    assert readable.decrypt_int(ciphertext) == block


def test_out_of_range_integer_block_is_rejected() -> None:
    for fast in (True, False):
        cipher = TripleDES(K1 + K2 + K3, fast=fast)
        with pytest.raises((ValueError, OverflowError)):
            cipher.encrypt_int(1 << 64)
        with pytest.raises((ValueError, OverflowError)):
            cipher.decrypt_int(-1)


def make_des(key: bytes) -> DES:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return DES(key)


def test_the_readable_path_has_no_bitslice_operations() -> None:
    with pytest.raises(ValueError, match="readable path"):
        TripleDES(K1 + K2 + K3, fast=False, bitslice=True)
    assert TripleDES(K1 + K2 + K3, fast=False).bulk_threshold > 2**40

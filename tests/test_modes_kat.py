"""Known-answer tests of the modes with our DES and Triple DES, on every path (readable,
table-driven, bit slices: the bitslice path serves ECB, CBC and CFB-64 decryption and CTR).

Sources: ``des_misc_kat.json`` (FIPS PUB 81 ECB/CBC/CFB-64/OFB, CFB-8, DES-CTR, the Crypto++ 3DES
ECB/CBC/CFB/OFB/CTR self-test, SP 800-67 and textbook ECB examples) and the NIST CAVP ``TCBC*.rsp``
files (CBC, ENCRYPT and DECRYPT sections), all read through ``ciphers/vectors/loader.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from ciphers import modes
from ciphers.blockcipher import BlockCipher
from ciphers.des import DES
from ciphers.des_fast import FastDES
from ciphers.tdes import TripleDES
from ciphers.vectors.loader import Record, load_json, load_records
from tests import kat

# The CAVP and textbook keys include weak keys and K1=K2=K3; their warnings are expected here.
pytestmark = pytest.mark.filterwarnings("ignore::ciphers.errors.InsecureWarning")

MISC: list[dict[str, Any]] = load_json(kat.vector_path("des", "des_misc_kat.json"))["vectors"]

CAVP_CBC_FILES = [
    "TCBCvartext.rsp",
    "TCBCinvperm.rsp",
    "TCBCvarkey.rsp",
    "TCBCpermop.rsp",
    "TCBCsubtab.rsp",
    "TCBCMMT1.rsp",
    "TCBCMMT2.rsp",
    "TCBCMMT3.rsp",
]

CAVP_CBC = kat.from_files(kat.each(load_records), "tdes_cavp", CAVP_CBC_FILES)


def _ciphers(key: bytes) -> list[BlockCipher]:
    """Every implementation of ours that takes this key: the readable path, the table-driven path,
    and the bitslice path (bulk operations wherever the mode allows them)."""
    if len(key) == 8:
        return [DES(key), FastDES(key, bitslice=False), FastDES(key, bitslice=True)]
    return [TripleDES(key, fast=False), TripleDES(key, bitslice=False), TripleDES(key, bitslice=True)]


def _mode_name(vector: dict[str, Any]) -> str:
    mode = str(vector["mode"]).lower()
    return "cfb8" if mode == "cfb" and vector.get("segment_bits") == 8 else mode


def test_misc_set_covers_every_mode_for_des_and_3des() -> None:
    covered = {(_mode_name(v), len(bytes.fromhex(v["key"]))) for v in MISC}
    assert {(m, 8) for m in modes.MODES} <= covered
    assert {(m, 24) for m in ("ecb", "cbc", "cfb", "ofb", "ctr")} <= covered


@pytest.mark.parametrize("vector", MISC, ids=[f"des_misc_kat:{v['name']}" for v in MISC])
def test_misc_vector(vector: dict[str, Any]) -> None:
    key = bytes.fromhex(vector["key"])
    plaintext = bytes.fromhex(vector["plaintext"])
    ciphertext = bytes.fromhex(vector["ciphertext"])
    iv = bytes.fromhex(vector["iv"]) if "iv" in vector else None
    mode = _mode_name(vector)
    pad = False if mode in modes.PADDED_MODES else None
    for cipher in _ciphers(key):
        assert modes.encrypt(cipher, mode, plaintext, iv=iv, pad=pad) == ciphertext, type(cipher).__name__
        assert modes.decrypt(cipher, mode, ciphertext, iv=iv, pad=pad) == plaintext, type(cipher).__name__


@pytest.mark.parametrize(
    "vector", [v for v in MISC if _mode_name(v) in ("cfb", "cfb8")], ids=lambda v: f"des_misc_kat:{v['name']}"
)
def test_misc_cfb_vectors_through_segment_bits(vector: dict[str, Any]) -> None:
    key, iv = bytes.fromhex(vector["key"]), bytes.fromhex(vector["iv"])
    plaintext, ciphertext = bytes.fromhex(vector["plaintext"]), bytes.fromhex(vector["ciphertext"])
    segment = int(vector.get("segment_bits", 64))
    for cipher in _ciphers(key)[1:]:
        assert modes.cfb_encrypt(cipher, iv, plaintext, segment_bits=segment) == ciphertext
        assert modes.cfb_decrypt(cipher, iv, ciphertext, segment_bits=segment) == plaintext


test_every_vector_file_yields_vectors = kat.every_file_yields_vectors(CAVP_CBC)


def _cavp_key(record: Record) -> bytes:
    if "KEYs" in record.fields:
        return record.hex("KEYs") * 3
    return record.hex("KEY1") + record.hex("KEY2") + record.hex("KEY3")


@pytest.mark.parametrize("bitslice", [False, True], ids=["table", "bitslice"])
@pytest.mark.parametrize("record", CAVP_CBC)
def test_cavp_tdes_cbc(record: Record, bitslice: bool) -> None:
    cipher = TripleDES(_cavp_key(record), bitslice=bitslice)
    iv, plaintext, ciphertext = record.hex("IV"), record.hex("PLAINTEXT"), record.hex("CIPHERTEXT")
    if record.section == "ENCRYPT":
        assert modes.cbc_encrypt(cipher, iv, plaintext, pad=False) == ciphertext
    else:
        assert record.section == "DECRYPT"
        assert modes.cbc_decrypt(cipher, iv, ciphertext, pad=False) == plaintext

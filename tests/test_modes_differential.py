"""Differential tests: our modes against PyCryptodome's own mode implementations (test-only referee).

For random keys, IVs and lengths, every mode, DES and Triple DES (2- and 3-key), ours must give the
same bytes as ``Crypto.Cipher.DES``/``DES3``. Three stacks are compared: our modes over our fast
ciphers (the whole path users get), the same on the bitslice path whatever the length (bulk
operations wherever the mode allows them), and our modes over PyCryptodome's raw ECB block function
(the mode logic alone, so a mismatch points at the mode rather than the cipher).
"""

from __future__ import annotations

from typing import Any

import pytest
from Crypto.Cipher import DES as RefDES
from Crypto.Cipher import DES3 as RefDES3
from Crypto.Util.Padding import pad as ref_pad
from hypothesis import assume, given
from hypothesis import strategies as st

from ciphers import modes
from ciphers.blockcipher import BlockCipher
from ciphers.des_fast import FastDES
from ciphers.tdes import TripleDES

pytestmark = pytest.mark.filterwarnings("ignore::ciphers.errors.InsecureWarning")

KEY_LENGTHS = {"DES": 8, "3DES-2key": 16, "3DES-3key": 24}
ivs = st.binary(min_size=8, max_size=8)
messages = st.binary(max_size=90)


class ReferenceBlock:
    """PyCryptodome's DES/DES3 ECB as a bare block function, to test the mode logic on its own."""

    block_size = 8

    def __init__(self, key: bytes) -> None:
        self._ecb: Any = _reference_module(key).new(key, RefDES.MODE_ECB)

    def encrypt_int(self, block: int) -> int:
        return int.from_bytes(self._ecb.encrypt(block.to_bytes(8, "big")), "big")

    def decrypt_int(self, block: int) -> int:
        return int.from_bytes(self._ecb.decrypt(block.to_bytes(8, "big")), "big")

    def encrypt_block(self, block: bytes) -> bytes:
        return bytes(self._ecb.encrypt(block))

    def decrypt_block(self, block: bytes) -> bytes:
        return bytes(self._ecb.decrypt(block))


def _reference_module(key: bytes) -> Any:
    return RefDES if len(key) == 8 else RefDES3


def _reference(key: bytes, mode: str, iv: bytes) -> Any:
    """A fresh PyCryptodome cipher object for ``mode`` (CTR: the whole 8-byte block is the counter)."""
    module = _reference_module(key)
    if mode == "ecb":
        return module.new(key, module.MODE_ECB)
    if mode == "cbc":
        return module.new(key, module.MODE_CBC, iv=iv)
    if mode in ("cfb", "cfb8"):
        return module.new(key, module.MODE_CFB, iv=iv, segment_size=8 if mode == "cfb8" else 64)
    if mode == "ofb":
        return module.new(key, module.MODE_OFB, iv=iv)
    return module.new(key, module.MODE_CTR, nonce=b"", initial_value=iv)


def _draw_key(data: st.DataObject, family: str) -> bytes:
    key = data.draw(st.binary(min_size=KEY_LENGTHS[family], max_size=KEY_LENGTHS[family]))
    if family != "DES":
        try:  # DES3 refuses keys that reduce to single DES (K1 = K2 or K2 = K3)
            RefDES3.adjust_key_parity(key)
        except ValueError:
            assume(False)
    return key


def _ours(family: str, key: bytes, stack: str) -> BlockCipher:
    if stack == "reference-block":
        return ReferenceBlock(key)
    bitslice = True if stack == "bitslice" else None
    return FastDES(key, bitslice=bitslice) if family == "DES" else TripleDES(key, bitslice=bitslice)


STACKS = ("ours", "bitslice", "reference-block")


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("family", list(KEY_LENGTHS))
@pytest.mark.parametrize("mode", modes.MODES)
@given(data=st.data(), iv=ivs, message=messages)
def test_encrypt_matches_pycryptodome(
    stack: str, family: str, mode: str, data: st.DataObject, iv: bytes, message: bytes
) -> None:
    key = _draw_key(data, family)
    cipher = _ours(family, key, stack)
    iv_arg = None if mode == "ecb" else iv
    if mode in modes.PADDED_MODES:
        expected = _reference(key, mode, iv).encrypt(ref_pad(message, 8, style="pkcs7"))
    else:
        expected = _reference(key, mode, iv).encrypt(message)
    assert modes.encrypt(cipher, mode, message, iv=iv_arg) == expected


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("family", list(KEY_LENGTHS))
@pytest.mark.parametrize("mode", modes.MODES)
@given(data=st.data(), iv=ivs)
def test_decrypt_matches_pycryptodome(
    stack: str, family: str, mode: str, data: st.DataObject, iv: bytes
) -> None:
    key = _draw_key(data, family)
    cipher = _ours(family, key, stack)
    iv_arg = None if mode == "ecb" else iv
    if mode in modes.PADDED_MODES:
        blocks = data.draw(st.integers(min_value=0, max_value=10))
        ciphertext = data.draw(st.binary(min_size=8 * blocks, max_size=8 * blocks))
        pad: bool | None = False
    else:
        ciphertext = data.draw(messages)
        pad = None
    expected = _reference(key, mode, iv).decrypt(ciphertext)
    assert modes.decrypt(cipher, mode, ciphertext, iv=iv_arg, pad=pad) == expected


@pytest.mark.parametrize("family", list(KEY_LENGTHS))
@pytest.mark.parametrize("mode", modes.PADDED_MODES)
@given(data=st.data(), iv=ivs, message=messages)
def test_we_decrypt_and_unpad_what_pycryptodome_encrypted(
    family: str, mode: str, data: st.DataObject, iv: bytes, message: bytes
) -> None:
    key = _draw_key(data, family)
    ciphertext = _reference(key, mode, iv).encrypt(ref_pad(message, 8, style="pkcs7"))
    iv_arg = None if mode == "ecb" else iv
    assert modes.decrypt(_ours(family, key, "ours"), mode, ciphertext, iv=iv_arg) == message

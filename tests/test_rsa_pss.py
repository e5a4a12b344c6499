"""RSASSA-PSS (RFC 8017 §8.1) with EMSA-PSS (§9.1) against the RSA Labs and NIST vectors.

* pss-vect.txt: 10 keys (1024..1031, 1536, 2048 bits: every emBits mod 8) x 6 messages, SHA-1,
  MGF1-SHA-1, 20-octet salt. Signed with the salt injected (byte for byte) and verified.
* pss-int.txt: the intermediate values of one signature.
* NIST CAVP FIPS 186-3 SigGenPSS_186-3.txt: 80 signatures, SHA-224..512, with the SaltVal injected.
"""

from __future__ import annotations

import pytest

from ciphers.errors import MessageTooLongError, VerificationError
from ciphers.rng import DeterministicRNG, FixedRNG
from ciphers.rsa import pss
from ciphers.rsa.core import os2ip, rsasp1
from ciphers.rsa.keys import RSAPrivateKey
from ciphers.rsa.mgf import mgf1
from ciphers.vectors.loader import (
    LabsExample,
    LabsKey,
    Record,
    load_hex_blocks,
    load_records_sticky,
    load_rsa_labs,
)
from tests import kat
from tests.rsa_vectors import labs_key, nist_key

LABS = load_rsa_labs(kat.vector_path("rsa", "pkcs1_rsa_labs", "pss-vect.txt"))
CASES = [(key, example) for key in LABS for example in key.examples]
IDS = [example.label for _, example in CASES]

NIST = kat.from_files(kat.each(load_records_sticky), "rsa/nist_cavp", ["SigGenPSS_186-3.txt"])


class SaltThenStream:
    """The vector's salt for EMSA-PSS, then a reproducible stream for the blinding of RSASP1.

    ``pss.sign`` reads the salt first; the blinding factor does not change the signature.
    """

    def __init__(self, salt: bytes, label: str) -> None:
        self._salt = FixedRNG(salt)
        self._left = len(salt)
        self._rest = DeterministicRNG(label)

    def bytes(self, n: int) -> bytes:
        if self._left:
            self._left -= n
            return self._salt.bytes(n)
        return self._rest.bytes(n)


test_every_vector_file_yields_vectors = kat.every_file_yields_vectors(NIST)


def test_vector_coverage() -> None:
    """pss-vect.txt has every emBits mod 8, each key with examples; NIST covers SHA-224 to SHA-512."""
    assert CASES and all(key.examples for key in LABS)
    assert {labs_key(key).bits % 8 for key in LABS} == set(range(8))
    assert {param.values[0]["SHAAlg"] for param in NIST} == {"SHA224", "SHA256", "SHA384", "SHA512"}


@pytest.mark.parametrize(("key", "example"), CASES, ids=IDS)
def test_pss_vect_sign_reproduces_signature(key: LabsKey, example: LabsExample) -> None:
    rng = SaltThenStream(example["Salt"], example.label)
    signature = pss.sign(labs_key(key), example["Message to be signed"], hash_name="sha1", rng=rng)
    assert signature == example["Signature"]


@pytest.mark.parametrize(("key", "example"), CASES, ids=IDS)
def test_pss_vect_verify(key: LabsKey, example: LabsExample) -> None:
    public = labs_key(key).public_key()
    message, signature = example["Message to be signed"], example["Signature"]
    pss.verify(public, message, signature, hash_name="sha1", salt_length=20)
    assert pss.is_valid(public, message, signature, hash_name="sha1")  # default sLen = hLen = 20
    assert not pss.is_valid(public, message, signature, hash_name="sha1", salt_length=19)
    assert not pss.is_valid(public, message[:-1], signature, hash_name="sha1")


@pytest.mark.parametrize("record", NIST)
def test_nist_siggenpss_reproduces_and_verifies(record: Record) -> None:
    key = nist_key(record)
    message, salt, expected = record.hex("Msg"), record.hex("SaltVal"), record.hex("S")
    hash_name = record["SHAAlg"]
    rng = SaltThenStream(salt, record.label)
    signature = pss.sign(key, message, hash_name=hash_name, salt_length=len(salt), rng=rng)
    assert signature == expected
    pss.verify(key.public_key(), message, expected, hash_name=hash_name, salt_length=len(salt))


# --- pss-int.txt: one signature step by step ---

INT = {
    block.label: block.value
    for block in load_hex_blocks(kat.vector_path("rsa", "pkcs1_rsa_labs", "pss-int.txt"))
}


def int_key() -> RSAPrivateKey:
    names = ("Modulus", "Public exponent", "Exponent", "Prime 1", "Prime 2")
    names += ("Prime exponent 1", "Prime exponent 2", "Coefficient")
    return RSAPrivateKey(*(os2ip(INT[name]) for name in names))


def test_pss_int_encoding_steps() -> None:
    key = int_key()
    message, salt = INT["Message to be signed"], INT["salt"]
    h = INT["hash = Hash(inBlock)"]
    assert mgf1(h, 107, "sha1") == INT["dbMask = MGF(hash, outputLen - digestLen - 1)"]
    em = pss.emsa_pss_encode(message, key.bits - 1, hash_name="sha1", rng=FixedRNG(salt))
    assert em == INT["EM = maskedDB || hash || bc"]
    assert em[:107] == INT["maskedDB = dbMask  xor DB"]
    assert em[107:127] == h
    assert pss.emsa_pss_verify(message, em, key.bits - 1, hash_name="sha1")


def test_pss_int_signature() -> None:
    key = int_key()
    em = INT["EM = maskedDB || hash || bc"]
    assert rsasp1(key, os2ip(em)).to_bytes(128, "big") == INT["Signature, the RSA decryption of EM"]
    rng = SaltThenStream(INT["salt"], "pss-int")
    assert (
        pss.sign(key, INT["Message to be signed"], hash_name="sha1", rng=rng)
        == (INT["Signature, the RSA decryption of EM"])
    )


# --- EMSA-PSS-VERIFY's individual checks (§9.1.2), on the pss-int encoding ---


def _tampered(change: str) -> bytes:
    em = bytearray(INT["EM = maskedDB || hash || bc"])
    if change == "trailer":
        em[-1] ^= 0x01
    elif change == "top-bit":
        em[0] |= 0x80  # emBits = 1023: the leftmost bit must be zero
    elif change == "hash":
        em[110] ^= 0x40
    elif change == "padding":
        em[3] ^= 0x01  # a PS octet of DB becomes non-zero
    elif change == "separator":
        em[107 - 21] ^= 0x01  # the 0x01 before the salt
    elif change == "salt":
        em[100] ^= 0x01
    return bytes(em)


@pytest.mark.parametrize("change", ["trailer", "top-bit", "hash", "padding", "separator", "salt"])
def test_emsa_pss_verify_rejects_each_kind_of_damage(change: str) -> None:
    message = INT["Message to be signed"]
    assert pss.emsa_pss_verify(message, INT["EM = maskedDB || hash || bc"], 1023, hash_name="sha1")
    assert not pss.emsa_pss_verify(message, _tampered(change), 1023, hash_name="sha1")


def test_emsa_pss_verify_rejects_wrong_length() -> None:
    em = INT["EM = maskedDB || hash || bc"]
    assert not pss.emsa_pss_verify(INT["Message to be signed"], b"\x00" + em, 1023, hash_name="sha1")


def test_verify_rejects_wrong_length_and_out_of_range() -> None:
    key = labs_key(LABS[0])
    example = LABS[0].examples[0]
    message, signature = example["Message to be signed"], example["Signature"]
    for bad in (signature[1:], b"\x00" + signature, key.n.to_bytes(key.size_bytes, "big")):
        with pytest.raises(VerificationError, match="invalid signature"):
            pss.verify(key.public_key(), message, bad, hash_name="sha1")


def test_salt_too_long_for_the_key_is_an_encoding_error() -> None:
    # §9.1.1 step 3: emLen < hLen + sLen + 2. 1024-bit key, emLen = 128, SHA-256: sLen <= 94.
    key = labs_key(LABS[0])
    signature = pss.sign(key, b"m", salt_length=94)
    pss.verify(key.public_key(), b"m", signature, salt_length=94)
    with pytest.raises(MessageTooLongError, match="encoding error"):
        pss.sign(key, b"m", salt_length=95)


def test_zero_length_salt_is_deterministic() -> None:
    key = labs_key(LABS[-1])
    first = pss.sign(key, b"same", salt_length=0)
    assert first == pss.sign(key, b"same", salt_length=0)
    pss.verify(key.public_key(), b"same", first, salt_length=0)
    assert not pss.is_valid(key.public_key(), b"same", first)  # sLen 32 expected by default

"""RSAES-OAEP (RFC 8017 §7.1) and MGF1 (§B.2.1) against the RSA Laboratories PKCS #1 v2.1 vectors.

oaep-vect.txt: 10 keys (1024..1031, 1536, 2048 bits) x 6 messages, SHA-1 / MGF1-SHA-1, empty label,
20-octet seed. Each example is encrypted with its seed injected (byte-for-byte ciphertext) and
decrypted back. oaep-int.txt checks the intermediate values of one encryption and the CRT decryption.
"""

from __future__ import annotations

import pytest

from ciphers.errors import DecryptionError, MessageTooLongError
from ciphers.rng import DeterministicRNG, FixedRNG
from ciphers.rsa import oaep
from ciphers.rsa.core import os2ip, rsadp_crt
from ciphers.rsa.keys import RSAPrivateKey
from ciphers.rsa.mgf import mgf1
from ciphers.vectors import vector_file
from ciphers.vectors.loader import LabsExample, LabsKey, load_hex_blocks, load_rsa_labs
from tests import kat
from tests.rsa_vectors import labs_key

LABS = load_rsa_labs(kat.vector_path("rsa", "pkcs1_rsa_labs", "oaep-vect.txt"))
CASES = [(key, example) for key in LABS for example in key.examples]
IDS = [example.label for _, example in CASES]


def test_oaep_vect_keys_cover_every_size_mod_8() -> None:
    """Ten keys from 1024 bits: every emBits mod 8, so every top-octet case of I2OSP and the mask."""
    assert all(key.examples for key in LABS)
    assert {labs_key(key).bits % 8 for key in LABS} == set(range(8))


@pytest.mark.parametrize(("key", "example"), CASES, ids=IDS)
def test_oaep_vect_encrypt_reproduces_ciphertext(key: LabsKey, example: LabsExample) -> None:
    public = labs_key(key).public_key()
    ciphertext = oaep.encrypt(public, example["Message"], hash_name="sha1", rng=FixedRNG(example["Seed"]))
    assert ciphertext == example["Encryption"]


@pytest.mark.parametrize(("key", "example"), CASES, ids=IDS)
def test_oaep_vect_decrypt_recovers_message(key: LabsKey, example: LabsExample) -> None:
    rng = DeterministicRNG(example.label)
    assert oaep.decrypt(labs_key(key), example["Encryption"], hash_name="sha1", rng=rng) == example["Message"]


# --- oaep-int.txt: one encryption step by step (PKCS #1 v2.0 wrote EM without the leading 0x00) ---

INT = {}
for _block in load_hex_blocks(vector_file("oaep-int.txt")):
    INT.setdefault(_block.label, _block.value)  # the first occurrence; the BER dump repeats names


def int_key() -> RSAPrivateKey:
    n, e, d = (os2ip(INT[name]) for name in ("Modulus", "Public exponent", "Private exponent"))
    p, q, dp, dq, qinv = (
        os2ip(INT[name])
        for name in ("Prime 1", "Prime 2", "Prime exponent 1", "Prime exponent 2", "Coefficient")
    )
    return RSAPrivateKey(n, e, d, p, q, dp, dq, qinv)


def test_oaep_int_mgf1_masks() -> None:
    seed, masked_db = INT["seed"], INT["maskedDB = DB xor dbMask"]
    assert mgf1(seed, len(masked_db), "sha1") == INT["dbMask = MGF(seed, length(DB))"]
    assert mgf1(masked_db, len(seed), "sha1") == INT["seedMask = MGF(maskedDB, length(seed))"]


def test_oaep_int_encoded_message_and_ciphertext() -> None:
    key = int_key()
    message, seed = INT["Message to be encrypted"], INT["seed"]
    em = oaep.oaep_encode(message, key.size_bytes, hash_name="sha1", rng=FixedRNG(seed))
    assert em == b"\x00" + INT["EM = maskedSeed || maskedDB"]
    # The data block our encoding masked is the one the file prints.
    db = bytes(a ^ b for a, b in zip(em[21:], INT["dbMask = MGF(seed, length(DB))"], strict=True))
    assert db == INT["DB = pHash || Padding || M"]
    assert db[:20] == INT["pHash = Hash(encoding parameters)"]
    ciphertext = oaep.encrypt(key.public_key(), message, hash_name="sha1", rng=FixedRNG(seed))
    assert ciphertext == INT["Ciphertext, the RSA encryption of EM"]


def test_oaep_int_crt_decryption() -> None:
    key = int_key()
    c = os2ip(INT["c, the ciphertext"])
    assert rsadp_crt(key, c) == os2ip(INT["m = m2 + q*h (= EM)"])
    assert (
        oaep.oaep_decode(b"\x00" + INT["m = m2 + q*h (= EM)"], hash_name="sha1")
        == INT["Message to be encrypted"]
    )
    assert oaep.decrypt(key, INT["c, the ciphertext"], hash_name="sha1") == INT["Message to be encrypted"]


# --- length limits and the single decryption error ---


def test_max_message_length_is_k_minus_2hlen_minus_2() -> None:
    key = labs_key(LABS[-1])  # 2048 bits, k = 256
    assert oaep.max_message_length(key, "sha1") == 256 - 2 * 20 - 2
    assert oaep.max_message_length(key, "sha256") == 256 - 2 * 32 - 2


@pytest.mark.parametrize("hash_name", ["sha1", "sha256"])
def test_longest_message_fits_and_one_more_is_message_too_long(hash_name: str) -> None:
    key = labs_key(LABS[0])
    longest = bytes(range(oaep.max_message_length(key, hash_name)))
    ciphertext = oaep.encrypt(key.public_key(), longest, hash_name=hash_name)
    assert oaep.decrypt(key, ciphertext, hash_name=hash_name) == longest
    with pytest.raises(MessageTooLongError, match="message too long"):
        oaep.encrypt(key.public_key(), longest + b"x", hash_name=hash_name)


def test_key_too_small_for_sha512_refuses_every_message() -> None:
    key = labs_key(LABS[0])  # k = 128 < 2 * 64 + 2
    with pytest.raises(MessageTooLongError):
        oaep.encrypt(key.public_key(), b"", hash_name="sha512")
    with pytest.raises(DecryptionError, match=r"^decryption error$"):
        oaep.decrypt(key, bytes(128), hash_name="sha512")


def test_malformed_ciphertexts_raise_the_one_decryption_error() -> None:
    key, example = labs_key(LABS[0]), LABS[0].examples[0]
    good = example["Encryption"]
    bad = {
        "too short": good[1:],
        "too long": b"\x00" + good,
        "c = n": key.n.to_bytes(key.size_bytes, "big"),
        "c > n": b"\xff" * key.size_bytes,
        "wrong label": good,
        "bit flipped": bytes([good[0] ^ 0x01]) + good[1:],
    }
    messages = set()
    for name, ciphertext in bad.items():
        label = b"label" if name == "wrong label" else b""
        with pytest.raises(DecryptionError) as caught:
            oaep.decrypt(key, ciphertext, label=label, hash_name="sha1")
        messages.add(str(caught.value))
    assert messages == {"decryption error"}


def test_mgf_hash_is_a_separate_parameter() -> None:
    # OAEP with SHA-256 for the label hash but MGF1-SHA-1 (allowed by RFC 8017 §A.2.1) is a different scheme.
    key = labs_key(LABS[-1])
    ciphertext = oaep.encrypt(key.public_key(), b"hi", hash_name="sha256", mgf_hash="sha1")
    assert oaep.decrypt(key, ciphertext, hash_name="sha256", mgf_hash="sha1") == b"hi"
    with pytest.raises(DecryptionError):
        oaep.decrypt(key, ciphertext, hash_name="sha256")

"""PKCS #1 v1.5 encryption (RFC 8017 §7.2) and signatures (§8.2, EMSA §9.2) against published vectors.

* RSA Labs pkcs1v15crypt-vectors.txt: 15 keys x 20 messages; the file's "Seed" is the non-zero
  padding string PS, injected so that the ciphertext reproduces byte for byte; decrypted back.
* RSA Labs pkcs1v15sign-vectors.txt: 15 keys x 20 messages, SHA-1; signed (deterministic) and verified.
* NIST CAVP FIPS 186-3 SigGen15_186-3.txt: 80 signatures, 2048/3072 bits, SHA-224..512.
* The DigestInfo prefixes compared with python-rsa's table (an independent copy of RFC 8017 §9.2 note 1).
"""

from __future__ import annotations

import pytest
import rsa.pkcs1

from ciphers.errors import DecryptionError, InvalidKeyError, MessageTooLongError, VerificationError
from ciphers.rng import DeterministicRNG, FixedRNG
from ciphers.rsa import pkcs1_v15
from ciphers.rsa.hashes import HASHES, hash_algorithm
from ciphers.vectors.loader import LabsExample, LabsKey, Record, load_records_sticky, load_rsa_labs
from tests import kat
from tests.rsa_vectors import labs_key, nist_key

CRYPT = load_rsa_labs(kat.vector_path("rsa", "pkcs1_rsa_labs", "pkcs1v15crypt-vectors.txt"))
CRYPT_CASES = [(key, example) for key in CRYPT for example in key.examples]
CRYPT_IDS = [example.label for _, example in CRYPT_CASES]

SIGN = load_rsa_labs(kat.vector_path("rsa", "pkcs1_rsa_labs", "pkcs1v15sign-vectors.txt"))
SIGN_CASES = [(key, example) for key in SIGN for example in key.examples]
SIGN_IDS = [example.label for _, example in SIGN_CASES]

NIST = kat.from_files(kat.each(load_records_sticky), "rsa/nist_cavp", ["SigGen15_186-3.txt"])


test_every_vector_file_yields_vectors = kat.every_file_yields_vectors(NIST)


def test_vector_coverage() -> None:
    """Both RSA Labs files give examples for every key; the NIST file covers SHA-224 to SHA-512."""
    assert CRYPT_CASES and all(key.examples for key in CRYPT)
    assert SIGN_CASES and all(key.examples for key in SIGN)
    assert {param.values[0]["SHAAlg"] for param in NIST} == {"SHA224", "SHA256", "SHA384", "SHA512"}


# --- RSAES-PKCS1-v1_5 (legacy) ---


@pytest.mark.parametrize(("key", "example"), CRYPT_CASES, ids=CRYPT_IDS)
def test_crypt_vectors_encrypt_with_seed_as_padding_string(key: LabsKey, example: LabsExample) -> None:
    public = labs_key(key).public_key()
    ps = example["Seed"]
    assert len(ps) == public.size_bytes - len(example["Message"]) - 3
    ciphertext = pkcs1_v15.encrypt(public, example["Message"], rng=FixedRNG(ps))
    assert ciphertext == example["Encryption"]


@pytest.mark.parametrize(("key", "example"), CRYPT_CASES, ids=CRYPT_IDS)
def test_crypt_vectors_decrypt(key: LabsKey, example: LabsExample) -> None:
    private = labs_key(key)
    assert (
        pkcs1_v15.decrypt(private, example["Encryption"], rng=DeterministicRNG(example.label))
        == (example["Message"])
    )


def test_zero_octets_from_the_rng_are_redrawn() -> None:
    # PS must be non-zero (§7.2.1 step 2b): zeros in the random stream are skipped, not copied.
    key = labs_key(CRYPT[0])
    message = b"m" * (key.size_bytes - 11)  # PS of exactly 8 octets
    stream = b"\x00\x11\x00\x22\x33\x44\x55\x66\x77\x88" + b"\x00\x99"
    em = pkcs1_v15.eme_pkcs1_v15_encode(message, key.size_bytes, rng=FixedRNG(stream))
    assert em == b"\x00\x02" + bytes.fromhex("1122334455667788") + b"\x00" + message
    em = pkcs1_v15.eme_pkcs1_v15_encode(message, key.size_bytes, rng=FixedRNG(b"\x01" * 7 + b"\x00\x00\x09"))
    assert em[2:11] == b"\x01" * 7 + b"\x09\x00"


def test_message_too_long_is_k_minus_11() -> None:
    key = labs_key(CRYPT[0])
    assert pkcs1_v15.max_message_length(key) == key.size_bytes - 11
    longest = b"\xab" * (key.size_bytes - 11)
    assert pkcs1_v15.decrypt(key, pkcs1_v15.encrypt(key.public_key(), longest)) == longest
    with pytest.raises(MessageTooLongError, match="message too long"):
        pkcs1_v15.encrypt(key.public_key(), longest + b"!")


def _em(k: int, head: bytes, ps: bytes, rest: bytes) -> bytes:
    em = head + ps + rest
    return em + bytes(k - len(em)) if len(em) < k else em


@pytest.mark.parametrize(
    ("em", "expected"),
    [
        (b"\x00\x02" + b"\x01" * 8 + b"\x00" + b"msg", b"msg"),
        (b"\x00\x02" + b"\xff" * 13 + b"\x00", b""),
        (b"\x00\x02" + b"\x01" * 8 + b"\x00\x00\x00", b"\x00\x00"),
    ],
    ids=["shortest-ps", "empty-message", "message-of-zeros"],
)
def test_eme_decode_accepts_conforming_blocks(em: bytes, expected: bytes) -> None:
    assert pkcs1_v15.eme_pkcs1_v15_decode(em) == expected


@pytest.mark.parametrize(
    "em",
    [
        b"\x01\x02" + b"\x01" * 8 + b"\x00msg",
        b"\x00\x01" + b"\x01" * 8 + b"\x00msg",
        b"\x00\x02" + b"\x01" * 7 + b"\x00msgs",
        b"\x00\x02" + b"\x00" + b"\x01" * 8 + b"msg",
        b"\x00\x02" + b"\x01" * 12,
        b"\x00\x02" + b"\x01" * 8,
    ],
    ids=["first-octet", "block-type-1", "ps-7-octets", "ps-empty", "no-separator", "too-short"],
)
def test_eme_decode_rejects_with_one_message(em: bytes) -> None:
    with pytest.raises(DecryptionError) as caught:
        pkcs1_v15.eme_pkcs1_v15_decode(em)
    assert str(caught.value) == "decryption error"


def test_decrypt_rejects_bad_lengths_and_out_of_range_alike() -> None:
    key = labs_key(CRYPT[0])
    good = CRYPT[0].examples[0]["Encryption"]
    for bad in (good[1:], b"\x00" + good, key.n.to_bytes(key.size_bytes, "big"), b"\xff" * key.size_bytes):
        with pytest.raises(DecryptionError) as caught:
            pkcs1_v15.decrypt(key, bad)
        assert str(caught.value) == "decryption error"


# --- RSASSA-PKCS1-v1_5 ---


@pytest.mark.parametrize(("key", "example"), SIGN_CASES, ids=SIGN_IDS)
def test_sign_vectors_reproduce_signature(key: LabsKey, example: LabsExample) -> None:
    signature = pkcs1_v15.sign(labs_key(key), example["Message to be signed"], hash_name="sha1")
    assert signature == example["Signature"]


@pytest.mark.parametrize(("key", "example"), SIGN_CASES, ids=SIGN_IDS)
def test_sign_vectors_verify(key: LabsKey, example: LabsExample) -> None:
    public = labs_key(key).public_key()
    message, signature = example["Message to be signed"], example["Signature"]
    pkcs1_v15.verify(public, message, signature, hash_name="sha1")
    assert not pkcs1_v15.is_valid(public, message + b"\x00", signature, hash_name="sha1")
    assert not pkcs1_v15.is_valid(public, message, signature, hash_name="sha256")


@pytest.mark.parametrize("record", NIST)
def test_nist_siggen15_reproduces_and_verifies(record: Record) -> None:
    key = nist_key(record)
    message, expected = record.hex("Msg"), record.hex("S")
    assert pkcs1_v15.sign(key, message, hash_name=record["SHAAlg"]) == expected
    pkcs1_v15.verify(key.public_key(), message, expected, hash_name=record["SHAAlg"])


def test_verify_rejects_wrong_length_and_out_of_range() -> None:
    key = labs_key(SIGN[0])
    example = SIGN[0].examples[0]
    message, signature = example["Message to be signed"], example["Signature"]
    public = key.public_key()
    for bad in (signature[1:], b"\x00" + signature, key.n.to_bytes(key.size_bytes, "big")):
        with pytest.raises(VerificationError, match="invalid signature"):
            pkcs1_v15.verify(public, message, bad, hash_name="sha1")


def test_modulus_too_short_for_the_hash() -> None:
    # §9.2 step 3: emLen < tLen + 11 is an error. SHA-512's T is 19 + 64 octets, so emLen >= 94.
    with pytest.raises(MessageTooLongError):
        pkcs1_v15.emsa_pkcs1_v15_encode(b"", 93, "sha512")
    assert len(pkcs1_v15.emsa_pkcs1_v15_encode(b"", 94, "sha512")) == 94


def test_emsa_encoding_layout() -> None:
    # §9.2 steps 5-6: 0x00 0x01, then 0xff octets, 0x00, then T = DigestInfo(prefix || H(M)).
    em = pkcs1_v15.emsa_pkcs1_v15_encode(b"abc", 128, "sha256")
    h = bytes.fromhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")  # FIPS 180-2 B.1
    t = rsa.pkcs1.HASH_ASN1["SHA-256"] + h
    assert em == b"\x00\x01" + b"\xff" * (128 - len(t) - 3) + b"\x00" + t


# --- the hash registry ---


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("sha1", "SHA-1"),
        ("sha224", "SHA-224"),
        ("sha256", "SHA-256"),
        ("sha384", "SHA-384"),
        ("sha512", "SHA-512"),
    ],
)
def test_digest_info_prefixes_match_python_rsa(ours: str, theirs: str) -> None:
    assert HASHES[ours].digest_info_prefix == rsa.pkcs1.HASH_ASN1[theirs]
    # The DER length octets agree with the hash length: 0x30 L ... 0x04 hLen.
    prefix = HASHES[ours].digest_info_prefix
    assert prefix[1] == len(prefix) - 2 + HASHES[ours].digest_size
    assert prefix[-2:] == bytes([0x04, HASHES[ours].digest_size])


@pytest.mark.parametrize("spelling", ["sha256", "SHA-256", "SHA256", "Sha_256"])
def test_hash_names_are_forgiving(spelling: str) -> None:
    assert hash_algorithm(spelling).name == "sha256"


def test_unknown_hash_is_a_clear_error() -> None:
    with pytest.raises(InvalidKeyError, match="unknown hash 'md5'"):
        hash_algorithm("md5")

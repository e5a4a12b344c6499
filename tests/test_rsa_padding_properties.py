"""Properties of every RSA padding: round trips, tamper detection, and one indistinguishable error.

Two keys: a 2048-bit key we generate once per module, and the 1025-bit key of RSA Labs oaep-vect
Example 2, whose modBits = 1 (mod 8) makes PSS's EM one octet shorter than the modulus.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ciphers.errors import DecryptionError, VerificationError
from ciphers.rng import DeterministicRNG
from ciphers.rsa import oaep, pkcs1_v15, pss
from ciphers.rsa.keys import RSAPrivateKey, generate
from ciphers.vectors.loader import load_rsa_labs
from tests import kat
from tests.rsa_vectors import labs_key

HASH_NAMES = ["sha1", "sha224", "sha256", "sha384", "sha512"]


@pytest.fixture(scope="module", params=["generated-2048", "rsa-labs-1025"])
def key(request: pytest.FixtureRequest) -> RSAPrivateKey:
    if request.param == "generated-2048":
        return generate(2048, rng=DeterministicRNG("padding properties"))
    labs = labs_key(load_rsa_labs(kat.vector_path("rsa", "pkcs1_rsa_labs", "oaep-vect.txt"))[1])
    assert labs.bits == 1025
    return labs


def flip_bit(data: bytes, bit: int) -> bytes:
    """``data`` with bit number ``bit`` (mod its length in bits) inverted."""
    bit %= 8 * len(data)
    out = bytearray(data)
    out[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(out)


oaep_hashes = st.sampled_from(["sha1", "sha256"])
labels = st.binary(max_size=32)
bits = st.integers(min_value=0, max_value=1 << 20)


# --- RSAES-OAEP ---


@given(data=st.data(), hash_name=oaep_hashes, label=labels)
def test_oaep_round_trip(key: RSAPrivateKey, data: st.DataObject, hash_name: str, label: bytes) -> None:
    message = data.draw(st.binary(max_size=oaep.max_message_length(key, hash_name)))
    ciphertext = oaep.encrypt(key.public_key(), message, label=label, hash_name=hash_name)
    assert len(ciphertext) == key.size_bytes
    assert oaep.decrypt(key, ciphertext, label=label, hash_name=hash_name) == message


@given(message=st.binary(max_size=60), hash_name=oaep_hashes)
def test_oaep_is_randomised(key: RSAPrivateKey, message: bytes, hash_name: str) -> None:
    public = key.public_key()
    assert oaep.encrypt(public, message, hash_name=hash_name) != oaep.encrypt(
        public, message, hash_name=hash_name
    )


@given(message=st.binary(max_size=60), label=labels, wrong=labels, bit=bits)
def test_oaep_wrong_label_fails_exactly_like_a_corrupted_ciphertext(
    key: RSAPrivateKey, message: bytes, label: bytes, wrong: bytes, bit: int
) -> None:
    if wrong == label:
        wrong = label + b"!"
    ciphertext = oaep.encrypt(key.public_key(), message, label=label)
    with pytest.raises(DecryptionError) as wrong_label:
        oaep.decrypt(key, ciphertext, label=wrong)
    with pytest.raises(DecryptionError) as corrupted:
        oaep.decrypt(key, flip_bit(ciphertext, bit), label=label)
    assert type(wrong_label.value) is type(corrupted.value)
    assert str(wrong_label.value) == str(corrupted.value) == "decryption error"


@given(data=st.data(), hash_name=oaep_hashes, label=labels)
def test_oaep_encoding_round_trip_for_any_block_size(
    data: st.DataObject, hash_name: str, label: bytes
) -> None:
    h_len = 20 if hash_name == "sha1" else 32
    k = data.draw(st.integers(min_value=2 * h_len + 2, max_value=600), label="k")
    message = data.draw(st.binary(max_size=k - 2 * h_len - 2), label="message")
    em = oaep.oaep_encode(message, k, label=label, hash_name=hash_name, rng=DeterministicRNG(k))
    assert len(em) == k and em[0] == 0
    assert oaep.oaep_decode(em, label=label, hash_name=hash_name) == message


@given(em=st.binary(min_size=42, max_size=256))
def test_oaep_decode_of_random_blocks_raises_the_one_error(em: bytes) -> None:
    # A random block passes every check with probability about 2**-160 (the lHash comparison).
    with pytest.raises(DecryptionError) as caught:
        oaep.oaep_decode(em, hash_name="sha1")
    assert str(caught.value) == "decryption error"


# --- RSAES-PKCS1-v1_5 (legacy) ---


@given(data=st.data())
def test_pkcs1_v15_encryption_round_trip(key: RSAPrivateKey, data: st.DataObject) -> None:
    message = data.draw(st.binary(max_size=pkcs1_v15.max_message_length(key)))
    assert pkcs1_v15.decrypt(key, pkcs1_v15.encrypt(key.public_key(), message)) == message


@given(message=st.binary(max_size=60), bit=bits)
def test_pkcs1_v15_corrupted_ciphertext_never_yields_the_message(
    key: RSAPrivateKey, message: bytes, bit: int
) -> None:
    # v1.5 has no integrity check: about 2**-16 of random blocks are conforming. They must still
    # never decrypt to the original message, since RSA is a permutation of the blocks.
    ciphertext = flip_bit(pkcs1_v15.encrypt(key.public_key(), message), bit)
    try:
        recovered = pkcs1_v15.decrypt(key, ciphertext)
    except DecryptionError as error:
        assert str(error) == "decryption error"
    else:
        assert recovered != message


# --- RSASSA-PSS ---


@given(message=st.binary(max_size=200), hash_name=st.sampled_from(HASH_NAMES), salt_length=st.integers(0, 40))
def test_pss_round_trip(key: RSAPrivateKey, message: bytes, hash_name: str, salt_length: int) -> None:
    signature = pss.sign(key, message, hash_name=hash_name, salt_length=salt_length)
    assert len(signature) == key.size_bytes
    pss.verify(key.public_key(), message, signature, hash_name=hash_name, salt_length=salt_length)


@given(message=st.binary(min_size=1, max_size=200), bit=bits)
def test_pss_fails_on_any_changed_message(key: RSAPrivateKey, message: bytes, bit: int) -> None:
    signature = pss.sign(key, message)
    with pytest.raises(VerificationError):
        pss.verify(key.public_key(), flip_bit(message, bit), signature)


@given(message=st.binary(max_size=200), bit=bits)
def test_pss_fails_on_any_changed_signature(key: RSAPrivateKey, message: bytes, bit: int) -> None:
    signature = pss.sign(key, message)
    with pytest.raises(VerificationError):
        pss.verify(key.public_key(), message, flip_bit(signature, bit))


@given(data=st.data(), hash_name=st.sampled_from(HASH_NAMES))
def test_emsa_pss_round_trip_for_any_em_bits(data: st.DataObject, hash_name: str) -> None:
    h_len = {"sha1": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64}[hash_name]
    em_bits = data.draw(st.integers(min_value=8 * (2 * h_len + 2), max_value=4096), label="em_bits")
    message = data.draw(st.binary(max_size=100), label="message")
    em = pss.emsa_pss_encode(message, em_bits, hash_name=hash_name, rng=DeterministicRNG(em_bits))
    assert len(em) == (em_bits + 7) // 8
    assert em[0] >> (em_bits % 8 or 8) == 0  # the bits above emBits are clear
    assert pss.emsa_pss_verify(message, em, em_bits, hash_name=hash_name)
    assert not pss.emsa_pss_verify(message + b"?", em, em_bits, hash_name=hash_name)


# --- RSASSA-PKCS1-v1_5 ---


@given(message=st.binary(max_size=200), hash_name=st.sampled_from(HASH_NAMES))
def test_pkcs1_v15_signature_round_trip_and_determinism(
    key: RSAPrivateKey, message: bytes, hash_name: str
) -> None:
    signature = pkcs1_v15.sign(key, message, hash_name=hash_name)
    assert signature == pkcs1_v15.sign(key, message, hash_name=hash_name)  # blinding changes nothing
    pkcs1_v15.verify(key.public_key(), message, signature, hash_name=hash_name)


@given(message=st.binary(min_size=1, max_size=200), bit=bits)
def test_pkcs1_v15_signature_fails_on_any_changed_message(
    key: RSAPrivateKey, message: bytes, bit: int
) -> None:
    signature = pkcs1_v15.sign(key, message)
    with pytest.raises(VerificationError):
        pkcs1_v15.verify(key.public_key(), flip_bit(message, bit), signature)


@given(message=st.binary(max_size=200), bit=bits)
def test_pkcs1_v15_signature_fails_on_any_changed_signature(
    key: RSAPrivateKey, message: bytes, bit: int
) -> None:
    signature = pkcs1_v15.sign(key, message)
    with pytest.raises(VerificationError):
        pkcs1_v15.verify(key.public_key(), message, flip_bit(signature, bit))


@given(message=st.binary(max_size=100))
def test_schemes_do_not_accept_each_others_signatures(key: RSAPrivateKey, message: bytes) -> None:
    public = key.public_key()
    assert not pss.is_valid(public, message, pkcs1_v15.sign(key, message))
    assert not pkcs1_v15.is_valid(public, message, pss.sign(key, message))

"""ciphers.envelope: a mode (CBC by default) + HMAC-SHA256 encrypt-then-MAC, against PyCryptodome and hmac."""

from __future__ import annotations

import hashlib
import hmac
import struct

import pytest
from Crypto.Cipher import DES3
from Crypto.Util.Padding import pad
from hypothesis import given
from hypothesis import strategies as st

from ciphers import envelope
from ciphers.errors import DecryptionError, InvalidKeyError
from ciphers.modes import ctr_decrypt, ctr_encrypt
from ciphers.rng import DeterministicRNG, FixedRNG
from ciphers.tdes import TripleDES

KEY = bytes.fromhex("0123456789abcdef23456789abcdef01456789abcdef0123")
MAC_KEY = bytes(range(32))
IV = bytes.fromhex("1a2b3c4d5e6f7081")


def lp(*fields: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


CTR = envelope.Mode("CTR", ctr_encrypt, ctr_decrypt, stream=True)


class CountingCipher:
    """Triple DES that counts its calls: the MAC must be checked before any decryption (or keystream)."""

    block_size = 8

    def __init__(self) -> None:
        self.inner = TripleDES(KEY)
        self.decryptions = 0
        self.encryptions = 0

    def encrypt_int(self, block: int) -> int:
        self.encryptions += 1
        return self.inner.encrypt_int(block)

    def decrypt_int(self, block: int) -> int:
        self.decryptions += 1
        return self.inner.decrypt_int(block)

    def encrypt_block(self, block: bytes) -> bytes:
        self.encryptions += 1
        return self.inner.encrypt_block(block)

    def decrypt_block(self, block: bytes) -> bytes:
        self.decryptions += 1
        return self.inner.decrypt_block(block)


def test_seal_matches_pycryptodome_and_hmac() -> None:
    plaintext = b"The quick brown fox jumps over the lazy dog"
    box = envelope.seal(TripleDES(KEY), MAC_KEY, b"header", plaintext, rng=FixedRNG(IV))
    expected_ct = DES3.new(KEY, DES3.MODE_CBC, iv=IV).encrypt(pad(plaintext, 8))
    expected_tag = hmac.new(MAC_KEY, lp(b"header", IV, expected_ct), hashlib.sha256).digest()
    assert (box.iv, box.ciphertext, box.tag) == (IV, expected_ct, expected_tag)
    assert envelope.unseal(TripleDES(KEY), MAC_KEY, b"header", box) == plaintext


def test_length_prefixed_matches_struct() -> None:
    assert envelope.length_prefixed() == b""
    assert envelope.length_prefixed(b"", b"ab") == b"\x00\x00\x00\x00\x00\x00\x00\x02ab"
    assert envelope.length_prefixed(b"x" * 300) == struct.pack(">I", 300) + b"x" * 300


@given(st.lists(st.binary(max_size=8), max_size=4), st.lists(st.binary(max_size=8), max_size=4))
def test_length_prefixed_is_injective(a: list[bytes], b: list[bytes]) -> None:
    assert (envelope.length_prefixed(*a) == envelope.length_prefixed(*b)) == (a == b)


@given(st.binary(max_size=64), st.binary(max_size=40), st.integers(0, 2**31))
def test_round_trip(plaintext: bytes, header: bytes, seed: int) -> None:
    box = envelope.seal(TripleDES(KEY), MAC_KEY, header, plaintext, rng=DeterministicRNG(seed))
    assert envelope.unseal(TripleDES(KEY), MAC_KEY, header, box) == plaintext


@given(st.sampled_from(["iv", "ciphertext", "tag"]), st.integers(0, 8 * 48 - 1))
def test_any_bit_flip_fails_before_decryption(field: str, bit: int) -> None:
    box = envelope.seal(TripleDES(KEY), MAC_KEY, b"h", b"sixteen bytes!!!", rng=FixedRNG(IV))
    value = bytearray(getattr(box, field))
    value[bit // 8 % len(value)] ^= 1 << (bit % 8)
    forged = envelope.Sealed(**{**box.__dict__, field: bytes(value)})
    cipher = CountingCipher()
    with pytest.raises(DecryptionError, match=r"^decryption error$"):
        envelope.unseal(cipher, MAC_KEY, b"h", forged)
    assert cipher.decryptions == 0


def test_header_and_keys_are_bound() -> None:
    box = envelope.seal(TripleDES(KEY), MAC_KEY, b"room a", b"data", rng=FixedRNG(IV))
    with pytest.raises(DecryptionError):
        envelope.unseal(TripleDES(KEY), MAC_KEY, b"room b", box)
    with pytest.raises(DecryptionError):
        envelope.unseal(TripleDES(KEY), bytes(32), b"room a", box)
    # Moving bytes between header and IV changes the length-prefixed input: refused.
    moved = envelope.Sealed(box.iv[1:], box.ciphertext, box.tag)
    with pytest.raises(DecryptionError):
        envelope.unseal(TripleDES(KEY), MAC_KEY, b"room a" + box.iv[:1], moved)


def test_bad_padding_under_a_valid_mac_is_the_same_error() -> None:
    """A member holding the MAC key could send bad padding: the answer says nothing more."""
    ct = DES3.new(KEY, DES3.MODE_CBC, iv=IV).encrypt(b"no valid padding here!!!")
    tag = hmac.new(MAC_KEY, lp(b"h", IV, ct), hashlib.sha256).digest()
    with pytest.raises(DecryptionError, match=r"^decryption error$"):
        envelope.unseal(TripleDES(KEY), MAC_KEY, b"h", envelope.Sealed(IV, ct, tag))
    empty_tag = hmac.new(MAC_KEY, lp(b"h", IV, b""), hashlib.sha256).digest()
    with pytest.raises(DecryptionError):
        envelope.unseal(TripleDES(KEY), MAC_KEY, b"h", envelope.Sealed(IV, b"", empty_tag))


def test_mac_key_length_is_checked() -> None:
    with pytest.raises(InvalidKeyError, match="32 bytes"):
        envelope.seal(TripleDES(KEY), bytes(16), b"", b"x")


# --- the mode is a parameter ----------------------------------------------------------------------


def test_a_stream_mode_plugs_in_and_matches_pycryptodome() -> None:
    plaintext = b"The quick brown fox jumps over the lazy dog"
    box = envelope.seal(TripleDES(KEY), MAC_KEY, b"header", plaintext, mode=CTR, rng=FixedRNG(IV))
    expected_ct = DES3.new(KEY, DES3.MODE_CTR, nonce=b"", initial_value=IV).encrypt(plaintext)
    expected_tag = hmac.new(MAC_KEY, lp(b"header", IV, expected_ct), hashlib.sha256).digest()
    assert (box.iv, box.ciphertext, box.tag) == (IV, expected_ct, expected_tag)
    assert envelope.unseal(TripleDES(KEY), MAC_KEY, b"header", box, mode=CTR) == plaintext
    empty = envelope.seal(TripleDES(KEY), MAC_KEY, b"h", b"", mode=CTR, rng=FixedRNG(IV))
    assert empty.ciphertext == b"" and envelope.unseal(TripleDES(KEY), MAC_KEY, b"h", empty, mode=CTR) == b""


@given(st.sampled_from(["iv", "ciphertext", "tag"]), st.integers(0, 8 * 48 - 1))
def test_a_stream_mode_also_checks_the_tag_before_any_block_is_computed(field: str, bit: int) -> None:
    box = envelope.seal(TripleDES(KEY), MAC_KEY, b"h", b"sixteen bytes!!!", mode=CTR, rng=FixedRNG(IV))
    value = bytearray(getattr(box, field))
    value[bit // 8 % len(value)] ^= 1 << (bit % 8)
    forged = envelope.Sealed(**{**box.__dict__, field: bytes(value)})
    cipher = CountingCipher()
    with pytest.raises(DecryptionError, match=r"^decryption error$"):
        envelope.unseal(cipher, MAC_KEY, b"h", forged, mode=CTR)
    assert (cipher.decryptions, cipher.encryptions) == (0, 0)


def test_each_mode_says_which_shapes_it_produces() -> None:
    assert envelope.CBC.shape_ok(IV, bytes(16)) and CTR.shape_ok(IV, bytes(5)) and CTR.shape_ok(IV, b"")
    assert not envelope.CBC.shape_ok(IV, bytes(5)) and not envelope.CBC.shape_ok(IV, b"")
    assert not envelope.CBC.shape_ok(IV[:7], bytes(8)) and not CTR.shape_ok(IV + b"x", b"")


def test_the_first_block_the_cipher_sees() -> None:
    """CBC encrypts P1 xor IV and decrypts C1; a stream mode encrypts the IV (counter block 1) both ways."""
    box = envelope.seal(TripleDES(KEY), MAC_KEY, b"h", b"eight by", rng=FixedRNG(IV))
    sealing = envelope.CBC.first_block(IV, b"eight by", box.ciphertext, opening=False)
    assert TripleDES(KEY).encrypt_block(sealing) == box.ciphertext[:8]
    opening = envelope.CBC.first_block(IV, b"eight by", box.ciphertext, opening=True)
    assert bytes(a ^ b for a, b in zip(TripleDES(KEY).decrypt_block(opening), IV, strict=True)) == b"eight by"
    assert envelope.CBC.inverse_on_open and not CTR.inverse_on_open
    assert (
        CTR.first_block(IV, b"x", b"y", opening=True) == CTR.first_block(IV, b"x", b"y", opening=False) == IV
    )

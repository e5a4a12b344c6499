"""Properties of the modes with our fast DES and Triple DES, and the modes' error contract.

The properties are the ones SP 800-38A's definitions imply (and the ones students are told about):
round trips for any length, ECB's equal-block leak, CTR/OFB keystream reuse, CBC's error
propagation, CFB-8 self-synchronisation, and the CTR counter wrapping modulo 2^64.
"""

from __future__ import annotations

import pytest
from Crypto.Cipher import DES as RefDES
from hypothesis import assume, given
from hypothesis import strategies as st

from ciphers import modes
from ciphers.blockcipher import BlockCipher
from ciphers.des_fast import FastDES
from ciphers.errors import BlockLengthError, InvalidKeyError, PaddingError
from ciphers.rng import FixedRNG
from ciphers.tdes import TripleDES

pytestmark = pytest.mark.filterwarnings("ignore::ciphers.errors.InsecureWarning")

des_keys = st.binary(min_size=8, max_size=8)
tdes_keys = st.one_of(st.binary(min_size=16, max_size=16), st.binary(min_size=24, max_size=24))
ivs = st.binary(min_size=8, max_size=8)
messages = st.binary(max_size=100)
STREAM_MODES = ("cfb", "cfb8", "ofb", "ctr")


def _cipher(family: str, key: bytes, *, bitslice: bool | None = None) -> BlockCipher:
    return FastDES(key, bitslice=bitslice) if family == "DES" else TripleDES(key, bitslice=bitslice)


def _key_strategy(family: str) -> st.SearchStrategy[bytes]:
    return des_keys if family == "DES" else tdes_keys


def _iv_for(mode: str, iv: bytes) -> bytes | None:
    return None if mode == "ecb" else iv


@pytest.mark.parametrize("bitslice", [None, True], ids=["auto", "bitslice"])
@pytest.mark.parametrize("family", ["DES", "3DES"])
@pytest.mark.parametrize("mode", modes.MODES)
@given(data=st.data(), iv=ivs, message=messages)
def test_decrypt_inverts_encrypt_for_any_length(
    family: str, mode: str, bitslice: bool | None, data: st.DataObject, iv: bytes, message: bytes
) -> None:
    cipher = _cipher(family, data.draw(_key_strategy(family)), bitslice=bitslice)
    ciphertext = modes.encrypt(cipher, mode, message, iv=_iv_for(mode, iv))
    if mode in modes.PADDED_MODES:
        assert len(ciphertext) == (len(message) // 8 + 1) * 8
    else:
        assert len(ciphertext) == len(message)
    assert modes.decrypt(cipher, mode, ciphertext, iv=_iv_for(mode, iv)) == message


@pytest.mark.parametrize("mode", modes.PADDED_MODES)
@given(key=des_keys, iv=ivs, blocks=st.integers(min_value=0, max_value=8), data=st.data())
def test_unpadded_ecb_cbc_round_trip_whole_blocks(
    mode: str, key: bytes, iv: bytes, blocks: int, data: st.DataObject
) -> None:
    message = data.draw(st.binary(min_size=8 * blocks, max_size=8 * blocks))
    cipher = FastDES(key)
    ciphertext = modes.encrypt(cipher, mode, message, iv=_iv_for(mode, iv), pad=False)
    assert len(ciphertext) == len(message)
    assert modes.decrypt(cipher, mode, ciphertext, iv=_iv_for(mode, iv), pad=False) == message


@given(key=des_keys, block=st.binary(min_size=8, max_size=8), iv=ivs)
def test_ecb_leaks_equal_blocks_and_cbc_hides_them(key: bytes, block: bytes, iv: bytes) -> None:
    cipher = FastDES(key)
    ecb = modes.ecb_encrypt(cipher, block * 3, pad=False)
    assert ecb[:8] == ecb[8:16] == ecb[16:24]
    cbc = modes.cbc_encrypt(cipher, iv, block * 3, pad=False)
    # C_2 = C_1 only if C_1 = IV. (C_3 = C_1 can happen: for a weak key E(E(x)) = x.)
    assert cbc[:8] != cbc[8:16]


@pytest.mark.parametrize("mode", ["ofb", "ctr"])
@given(key=des_keys, iv=ivs, data=st.data())
def test_reusing_a_stream_iv_gives_c1_xor_c2_equal_p1_xor_p2(
    mode: str, key: bytes, iv: bytes, data: st.DataObject
) -> None:
    p1 = data.draw(st.binary(min_size=1, max_size=60))
    p2 = data.draw(st.binary(min_size=len(p1), max_size=len(p1)))
    cipher = FastDES(key)
    c1 = modes.encrypt(cipher, mode, p1, iv=iv)
    c2 = modes.encrypt(cipher, mode, p2, iv=iv)
    assert bytes(a ^ b for a, b in zip(c1, c2, strict=True)) == bytes(
        a ^ b for a, b in zip(p1, p2, strict=True)
    )


@pytest.mark.parametrize("mode", ["ofb", "ctr"])
@given(key=des_keys, iv=ivs, data=st.data())
def test_stream_modes_are_malleable_bit_for_bit(
    mode: str, key: bytes, iv: bytes, data: st.DataObject
) -> None:
    message = data.draw(st.binary(min_size=1, max_size=60))
    position = data.draw(st.integers(min_value=0, max_value=len(message) - 1))
    flip = data.draw(st.integers(min_value=1, max_value=255))
    cipher = FastDES(key)
    tampered = bytearray(modes.encrypt(cipher, mode, message, iv=iv))
    tampered[position] ^= flip
    expected = bytearray(message)
    expected[position] ^= flip
    assert modes.decrypt(cipher, mode, bytes(tampered), iv=iv) == bytes(expected)


@given(key=des_keys, iv=ivs, data=st.data())
def test_cbc_bit_flip_garbles_one_block_and_flips_the_next(
    key: bytes, iv: bytes, data: st.DataObject
) -> None:
    blocks = data.draw(st.integers(min_value=2, max_value=6))
    message = data.draw(st.binary(min_size=8 * blocks, max_size=8 * blocks))
    j = data.draw(st.integers(min_value=0, max_value=blocks - 2))
    bit = data.draw(st.integers(min_value=0, max_value=63))
    cipher = FastDES(key)
    ciphertext = modes.cbc_encrypt(cipher, iv, message, pad=False)
    tampered = int.from_bytes(ciphertext, "big") ^ (1 << (64 * (blocks - 1 - j) + bit))
    plain = modes.cbc_decrypt(cipher, iv, tampered.to_bytes(len(ciphertext), "big"), pad=False)
    expected_next = int.from_bytes(message[8 * (j + 1) : 8 * (j + 2)], "big") ^ (1 << bit)
    assert plain[: 8 * j] == message[: 8 * j]
    assert plain[8 * j : 8 * (j + 1)] != message[8 * j : 8 * (j + 1)]
    assert int.from_bytes(plain[8 * (j + 1) : 8 * (j + 2)], "big") == expected_next
    assert plain[8 * (j + 2) :] == message[8 * (j + 2) :]


@given(key=des_keys, iv=ivs, data=st.data())
def test_cfb8_resynchronises_nine_bytes_after_an_error(key: bytes, iv: bytes, data: st.DataObject) -> None:
    message = data.draw(st.binary(min_size=12, max_size=40))
    position = data.draw(st.integers(min_value=0, max_value=len(message) - 1))
    cipher = FastDES(key)
    tampered = bytearray(modes.cfb_encrypt(cipher, iv, message, segment_bits=8))
    tampered[position] ^= 0x01
    plain = modes.cfb_decrypt(cipher, iv, bytes(tampered), segment_bits=8)
    assert plain[:position] == message[:position]
    assert plain[position] == message[position] ^ 0x01
    assert plain[position + 9 :] == message[position + 9 :]


def _reference_ctr_keystream(key: bytes, start: int, blocks: int) -> bytes:
    """E(T_1) || E(T_2) || ... with T_j = start + j - 1 mod 2^64, from PyCryptodome's DES in ECB."""
    counters = b"".join(((start + j) % 2**64).to_bytes(8, "big") for j in range(blocks))
    return bytes(RefDES.new(key, RefDES.MODE_ECB).encrypt(counters))


def test_ctr_counter_wraps_from_all_ones_to_zero() -> None:
    key = bytes.fromhex("0123456789abcdef")
    keystream = modes.ctr_encrypt(FastDES(key), b"\xff" * 8, bytes(24))
    reference = RefDES.new(key, RefDES.MODE_ECB)
    expected = reference.encrypt(b"\xff" * 8 + bytes(8) + (1).to_bytes(8, "big"))
    assert keystream == expected


@given(
    key=des_keys,
    below_top=st.integers(min_value=1, max_value=6),
    message=st.binary(min_size=1, max_size=70),
)
def test_ctr_counter_wraps_modulo_2_64(key: bytes, below_top: int, message: bytes) -> None:
    start = 2**64 - below_top
    blocks = -(-len(message) // 8)
    keystream = _reference_ctr_keystream(key, start, blocks)[: len(message)]
    expected = bytes(a ^ b for a, b in zip(message, keystream, strict=True))
    assert modes.ctr_encrypt(FastDES(key), start.to_bytes(8, "big"), message) == expected


@given(key=des_keys, start=st.integers(min_value=0, max_value=2**64 - 1), data=st.data())
def test_ctr_splits_at_any_block_boundary(key: bytes, start: int, data: st.DataObject) -> None:
    message = data.draw(st.binary(min_size=8, max_size=64))
    k = data.draw(st.integers(min_value=1, max_value=len(message) // 8))
    cipher = FastDES(key)
    whole = modes.ctr_encrypt(cipher, start.to_bytes(8, "big"), message)
    head = modes.ctr_encrypt(cipher, start.to_bytes(8, "big"), message[: 8 * k])
    tail = modes.ctr_encrypt(cipher, ((start + k) % 2**64).to_bytes(8, "big"), message[8 * k :])
    assert whole == head + tail


@given(seed=st.binary(min_size=8, max_size=8))
def test_new_iv_draws_eight_bytes_from_the_rng(seed: bytes) -> None:
    assert modes.new_iv(FixedRNG(seed)) == seed


def test_new_iv_default_is_random() -> None:
    ivs_drawn = {modes.new_iv() for _ in range(8)}
    assert len(ivs_drawn) == 8
    assert all(len(iv) == 8 for iv in ivs_drawn)


# --- the error contract -------------------------------------------------------------------------

KEY = bytes.fromhex("133457799bbcdff1")


@pytest.mark.parametrize("mode", [m for m in modes.MODES if m != "ecb"])
@pytest.mark.parametrize("iv_length", [0, 7, 9, 16])
def test_iv_must_be_eight_bytes(mode: str, iv_length: int) -> None:
    cipher = FastDES(KEY)
    for operation in (modes.encrypt, modes.decrypt):
        with pytest.raises(InvalidKeyError, match=f"IV must be 8 bytes, got {iv_length}"):
            operation(cipher, mode, bytes(16), iv=bytes(iv_length))


@pytest.mark.parametrize("mode", modes.PADDED_MODES)
@pytest.mark.parametrize("length", [1, 7, 9, 15, 17])
def test_ecb_cbc_ciphertext_must_be_whole_blocks(mode: str, length: int) -> None:
    cipher = FastDES(KEY)
    iv = _iv_for(mode, bytes(8))
    for pad in (True, False):
        with pytest.raises(BlockLengthError, match=f"ciphertext length {length} is not a multiple"):
            modes.decrypt(cipher, mode, bytes(length), iv=iv, pad=pad)
    with pytest.raises(BlockLengthError, match=f"plaintext length {length} is not a multiple"):
        modes.encrypt(cipher, mode, bytes(length), iv=iv, pad=False)


@pytest.mark.parametrize("mode", modes.PADDED_MODES)
def test_empty_padded_ciphertext_is_bad_padding(mode: str) -> None:
    with pytest.raises(PaddingError):
        modes.decrypt(FastDES(KEY), mode, b"", iv=_iv_for(mode, bytes(8)))


@pytest.mark.parametrize("mode", modes.PADDED_MODES)
def test_wrong_key_never_returns_the_message(mode: str) -> None:
    # Usually the padding check fails; if it happens to pass, the bytes are still not the message.
    message = b"attack at dawn"
    iv = _iv_for(mode, bytes(8))
    ciphertext = modes.encrypt(FastDES(KEY), mode, message, iv=iv)
    other = FastDES(bytes.fromhex("0e329232ea6d0d73"))
    try:
        result = modes.decrypt(other, mode, ciphertext, iv=iv)
    except PaddingError:
        return
    assert result != message


def test_generic_api_misuse_is_a_value_error() -> None:
    cipher = FastDES(KEY)
    with pytest.raises(ValueError, match="unknown mode 'gcm'"):
        modes.encrypt(cipher, "gcm", b"x", iv=bytes(8))
    with pytest.raises(ValueError, match="ECB takes no IV"):
        modes.encrypt(cipher, "ecb", b"x", iv=bytes(8))
    with pytest.raises(ValueError, match="needs an 8-byte IV"):
        modes.decrypt(cipher, "cbc", bytes(8))
    with pytest.raises(ValueError, match="does not pad"):
        modes.encrypt(cipher, "ctr", b"x", iv=bytes(8), pad=True)
    with pytest.raises(ValueError, match="segment size"):
        modes.cfb_encrypt(cipher, bytes(8), b"x", segment_bits=16)


@given(message=messages, iv=ivs)
def test_mode_names_are_case_insensitive_and_stream_pad_false_is_allowed(message: bytes, iv: bytes) -> None:
    cipher = FastDES(KEY)
    assume(message)
    assert modes.encrypt(cipher, "CTR", message, iv=iv, pad=False) == modes.ctr_encrypt(cipher, iv, message)
    assert modes.encrypt(cipher, "Cbc", message, iv=iv) == modes.cbc_encrypt(cipher, iv, message)

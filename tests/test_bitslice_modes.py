"""The bitslice path as users get it: through FastDES, TripleDES and ciphers.modes, it gives the
table-driven path's bytes for every mode it serves, any length, and many CBC streams side by side
give each stream's own CBC; the modes choose it only from the cipher's measured threshold."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ciphers import modes
from ciphers.bitslice import bulk
from ciphers.blockcipher import BlockCipher
from ciphers.des_fast import BITSLICE_THRESHOLD, TDES_BITSLICE_THRESHOLD, FastDES
from ciphers.errors import BlockLengthError, InvalidKeyError
from ciphers.rng import DeterministicRNG
from ciphers.tdes import TripleDES

pytestmark = pytest.mark.filterwarnings("ignore::ciphers.errors.InsecureWarning")

ivs = st.binary(min_size=8, max_size=8)
# lengths around the 8-block lanes of a slice, empty and one block included
lengths = st.one_of(st.sampled_from([0, 1, 7, 8, 9, 63, 64, 65, 71, 72]), st.integers(0, 400))
BULK_MODES = ("ecb", "cbc", "cfb", "ctr")


def pair(family: str, key: bytes) -> tuple[BlockCipher, BlockCipher]:
    """(table-driven, bitslice) ciphers under one key."""
    if family == "DES":
        return FastDES(key[:8], bitslice=False), FastDES(key[:8], bitslice=True)
    return TripleDES(key, bitslice=False), TripleDES(key, bitslice=True)


@settings(max_examples=20)
@pytest.mark.parametrize("family", ["DES", "3DES"])
@pytest.mark.parametrize("mode", BULK_MODES)
@given(key=st.binary(min_size=24, max_size=24), iv=ivs, length=lengths, data=st.data())
def test_bitslice_path_gives_the_table_paths_bytes(
    family: str, mode: str, key: bytes, iv: bytes, length: int, data: st.DataObject
) -> None:
    table, sliced = pair(family, key)
    message = data.draw(st.binary(min_size=length, max_size=length))
    iv_arg = None if mode == "ecb" else iv
    pad = mode in modes.PADDED_MODES or None
    ciphertext = modes.encrypt(table, mode, message, iv=iv_arg, pad=pad)
    assert modes.encrypt(sliced, mode, message, iv=iv_arg, pad=pad) == ciphertext
    assert modes.decrypt(sliced, mode, ciphertext, iv=iv_arg, pad=pad) == message
    if mode in modes.PADDED_MODES:  # whole blocks that are not valid padding decrypt alike too
        raw = message[: len(message) // 8 * 8]
        assert modes.decrypt(sliced, mode, raw, iv=iv_arg, pad=False) == modes.decrypt(
            table, mode, raw, iv=iv_arg, pad=False
        )


def test_several_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs longer than a pass (here 16 blocks) give the same bytes, in every bulk mode."""
    monkeypatch.setattr(bulk, "CHUNK_BLOCKS", 16)
    rng = DeterministicRNG("several passes")
    key, iv, message = rng.bytes(24), rng.bytes(8), rng.bytes(8 * 70 + 5)
    for family in ("DES", "3DES"):
        table, sliced = pair(family, key)
        for mode in BULK_MODES:
            iv_arg = None if mode == "ecb" else iv
            ciphertext = modes.encrypt(table, mode, message, iv=iv_arg)
            assert modes.encrypt(sliced, mode, message, iv=iv_arg) == ciphertext
            assert modes.decrypt(sliced, mode, ciphertext, iv=iv_arg) == message


@settings(max_examples=20)
@pytest.mark.parametrize("family", ["DES", "3DES"])
@given(
    key=st.binary(min_size=24, max_size=24),
    streams=st.lists(st.tuples(ivs, st.binary(max_size=90)), max_size=12),
    pad=st.booleans(),
)
def test_many_cbc_streams_equal_one_at_a_time(
    family: str, key: bytes, streams: list[tuple[bytes, bytes]], pad: bool
) -> None:
    table, sliced = pair(family, key)
    if not pad:
        streams = [(iv, data[: len(data) // 8 * 8]) for iv, data in streams]
    expected = [modes.cbc_encrypt(table, iv, data, pad=pad) for iv, data in streams]
    assert modes.cbc_encrypt_many(sliced, streams, pad=pad) == expected
    assert modes.cbc_encrypt_many(table, streams, pad=pad) == expected


def test_many_cbc_streams_check_their_inputs() -> None:
    cipher = FastDES(bytes(8), bitslice=True)
    with pytest.raises(BlockLengthError):
        modes.cbc_encrypt_many(cipher, [(bytes(8), bytes(16)), (bytes(8), bytes(9))], pad=False)
    with pytest.raises(InvalidKeyError, match="IV must be 8 bytes"):
        modes.cbc_encrypt_many(cipher, [(bytes(7), bytes(16))])
    assert modes.cbc_encrypt_many(cipher, []) == []


def test_bulk_operations_take_whole_blocks() -> None:
    cipher = FastDES(bytes(8))
    with pytest.raises(ValueError, match="whole 8-byte blocks"):
        cipher.encrypt_blocks(bytes(9))
    assert cipher.encrypt_blocks(b"") == b"" == cipher.encrypt_counter_blocks(5, 0)


class Spy(FastDES):
    """FastDES that records which of its bulk operations the modes called."""

    __slots__ = ("calls",)

    def __init__(self, key: bytes) -> None:
        super().__init__(key)
        self.calls: list[str] = []

    def encrypt_blocks(self, data: bytes) -> bytes:
        self.calls.append("encrypt_blocks")
        return super().encrypt_blocks(data)

    def decrypt_blocks(self, data: bytes) -> bytes:
        self.calls.append("decrypt_blocks")
        return super().decrypt_blocks(data)

    def encrypt_counter_blocks(self, start: int, count: int) -> bytes:
        self.calls.append("encrypt_counter_blocks")
        return super().encrypt_counter_blocks(start, count)


@pytest.mark.parametrize(
    ("mode", "decrypt", "operation"),
    [
        ("ecb", False, "encrypt_blocks"),
        ("ecb", True, "decrypt_blocks"),
        ("cbc", True, "decrypt_blocks"),
        ("cfb", True, "encrypt_blocks"),
        ("ctr", False, "encrypt_counter_blocks"),
        ("ctr", True, "encrypt_counter_blocks"),
        ("cbc", False, None),
        ("cfb", False, None),
        ("ofb", False, None),
    ],
)
def test_modes_switch_paths_at_the_threshold(mode: str, decrypt: bool, operation: str | None) -> None:
    cipher = Spy(bytes.fromhex("133457799bbcdff1"))
    crypt = modes.decrypt if decrypt else modes.encrypt
    iv = None if mode == "ecb" else bytes(8)
    pad = False if mode in modes.PADDED_MODES else None
    below = BITSLICE_THRESHOLD - 8
    crypt(cipher, mode, bytes(below), iv=iv, pad=pad)
    assert cipher.calls == []
    crypt(cipher, mode, bytes(below + 8), iv=iv, pad=pad)
    assert cipher.calls == ([operation] if operation else [])


def test_thresholds_are_whole_blocks_and_the_paths_can_be_forced() -> None:
    assert BITSLICE_THRESHOLD % 8 == 0 and TDES_BITSLICE_THRESHOLD % 8 == 0
    key = bytes(range(24))
    assert FastDES(key[:8]).bulk_threshold == BITSLICE_THRESHOLD
    assert TripleDES(key).bulk_threshold == TDES_BITSLICE_THRESHOLD
    assert FastDES(key[:8], bitslice=True).bulk_threshold == 0 == TripleDES(key, bitslice=True).bulk_threshold
    assert FastDES(key[:8], bitslice=False).bulk_threshold > 2**40

"""CBC streams side by side, each under its own key (key bits as slices): every stream's ciphertext
is its own CBC, as the table-driven path and PyCryptodome (C) compute it; ciphers.modes takes this
path only for ciphers of one kind from the measured threshold; the byte-table key schedule is the
readable one."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from Crypto.Cipher import DES as PyCryptodomeDES
from Crypto.Cipher import DES3 as PyCryptodomeDES3
from hypothesis import given, settings
from hypothesis import strategies as st

from ciphers import modes
from ciphers.bitslice import bulk
from ciphers.bitslice.des import KeyWords, LaneKeys
from ciphers.blockcipher import BlockCipher
from ciphers.des import key_schedule
from ciphers.des_fast import BITSLICE_THRESHOLD, TDES_BITSLICE_THRESHOLD, FastDES, des_schedule
from ciphers.jobs import Job
from ciphers.padding import pkcs7_pad
from ciphers.rng import DeterministicRNG
from ciphers.tdes import TripleDES, keying_option, split_key

pytestmark = pytest.mark.filterwarnings("ignore::ciphers.errors.InsecureWarning")

# (key, IV, message) per stream; lane counts around the 8-lane words, lengths around whole blocks
streams_of = st.lists(
    st.tuples(
        st.binary(min_size=24, max_size=24),
        st.binary(min_size=8, max_size=8),
        st.one_of(st.sampled_from([0, 7, 8, 9, 16]), st.integers(0, 70)).flatmap(
            lambda n: st.binary(min_size=n, max_size=n)
        ),
    ),
    min_size=1,
    max_size=19,
)


def new(family: str, key: bytes, *, bitslice: bool | None = None) -> BlockCipher:
    return FastDES(key[:8], bitslice=bitslice) if family == "DES" else TripleDES(key, bitslice=bitslice)


def pycryptodome_cbc(family: str, key: bytes, iv: bytes, message: bytes) -> bytes | None:
    """PyCryptodome's CBC of the padded message (None for 3DES keys it refuses: K1 = K2 or K2 = K3)."""
    padded = pkcs7_pad(message, 8)
    if family == "DES":
        return PyCryptodomeDES.new(key[:8], PyCryptodomeDES.MODE_CBC, iv=iv).encrypt(padded)
    if keying_option(*split_key(key)) != 1:
        return None
    return PyCryptodomeDES3.new(key, PyCryptodomeDES3.MODE_CBC, iv=iv).encrypt(padded)


@settings(max_examples=25, deadline=None)
@pytest.mark.parametrize("family", ["DES", "3DES"])
@given(streams=streams_of)
def test_lane_keys_give_each_streams_own_cbc(family: str, streams: list[tuple[bytes, bytes, bytes]]) -> None:
    """The bitslice pass itself, at any lane count: against the table-driven path and PyCryptodome."""
    ciphers = [new(family, key, bitslice=True) for key, _, _ in streams]
    tables = [new(family, key, bitslice=False) for key, _, _ in streams]
    keys = LaneKeys.of([cipher._encrypt for cipher in ciphers])  # type: ignore[attr-defined]
    padded = [(iv, pkcs7_pad(message, 8)) for _, iv, message in streams]
    got = bulk.cbc_encrypt_streams(keys, padded)
    for (key, iv, message), table, ciphertext in zip(streams, tables, got, strict=True):
        assert ciphertext == modes.cbc_encrypt(table, iv, message)
        reference = pycryptodome_cbc(family, key, iv, message)
        assert reference is None or ciphertext == reference


@settings(max_examples=8, deadline=None)
@pytest.mark.parametrize("family", ["DES", "3DES"])
@given(seed=st.integers(0, 2**32), lanes=st.integers(BITSLICE_THRESHOLD // 8, BITSLICE_THRESHOLD // 8 + 16))
def test_modes_cbc_encrypt_each_goes_side_by_side_from_the_threshold(
    family: str, seed: int, lanes: int
) -> None:
    """Enough streams for one step to reach the threshold take the bitslice path, with the bytes of
    one stream at a time; ciphers that must not use it (``bitslice=False``), or of two kinds, never do."""
    rng = DeterministicRNG(seed)
    streams = [(rng.bytes(24), rng.bytes(8), rng.bytes(rng.bytes(1)[0] % 40)) for _ in range(lanes)]
    passes = []
    real = bulk.cbc_encrypt_streams_job

    def counted(keys: KeyWords, items: Sequence[tuple[bytes, bytes]]) -> Job[list[bytes]]:
        passes.append(len(items))
        return real(keys, items)

    expected = [modes.cbc_encrypt(new(family, key, bitslice=False), iv, m) for key, iv, m in streams]
    for (key, iv, message), ciphertext in list(zip(streams, expected, strict=True))[:3]:
        reference = pycryptodome_cbc(family, key, iv, message)
        assert reference is None or reference == ciphertext
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bulk, "cbc_encrypt_streams_job", counted)
        assert modes.cbc_encrypt_each([(new(family, key), iv, m) for key, iv, m in streams]) == expected
        assert passes == [lanes]
        table_only = [(new(family, key, bitslice=False), iv, m) for key, iv, m in streams]
        assert modes.cbc_encrypt_each(table_only) == expected
        mixed = [(new("DES", key), iv, m) for key, iv, m in streams[:1]]
        mixed += [(new("3DES", key), iv, m) for key, iv, m in streams[1:]]
        assert modes.cbc_encrypt_each(mixed)[1:] == [
            modes.cbc_encrypt(new("3DES", key, bitslice=False), iv, m) for key, iv, m in streams[1:]
        ]
        assert passes == [lanes]  # neither the table-only nor the mixed ciphers went side by side


def test_below_the_threshold_streams_go_one_after_another(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "cbc_encrypt_streams_job", None)  # would fail if called
    lanes = TDES_BITSLICE_THRESHOLD // 8 - 1
    rng = DeterministicRNG("few streams")
    streams = [(TripleDES(rng.bytes(24)), rng.bytes(8), rng.bytes(20)) for _ in range(lanes)]
    assert modes.cbc_encrypt_each(streams) == [modes.cbc_encrypt(c, iv, m) for c, iv, m in streams]
    assert modes.cbc_encrypt_each([]) == []


def test_lane_keys_need_one_kind_and_one_width() -> None:
    one, three = FastDES(bytes(range(8))), TripleDES(bytes(range(24)))
    with pytest.raises(ValueError, match="same number of passes"):
        LaneKeys.of([one._encrypt, three._encrypt])
    keys = LaneKeys.of([one._encrypt] * 3)
    with pytest.raises(ValueError, match="one width"):
        keys.words((1 << 16) - 1)


@given(key=st.binary(min_size=8, max_size=8))
def test_the_byte_table_key_schedule_is_the_readable_one(key: bytes) -> None:
    assert list(des_schedule(key)) == key_schedule(key)
    assert list(des_schedule(key, decrypt=True)) == key_schedule(key)[::-1]

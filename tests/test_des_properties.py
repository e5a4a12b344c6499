"""Properties DES must have, checked with hypothesis on the readable DES and FastDES, plus its key
handling: weak and semi-weak keys, parity, errors."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ciphers.blockcipher import BlockCipher
from ciphers.des import (
    DES,
    SEMI_WEAK_PAIRS,
    WEAK_KEYS,
    has_odd_parity,
    is_semi_weak_key,
    is_weak_key,
    key_schedule,
    key_warnings,
    set_odd_parity,
)
from ciphers.des_fast import FastDES
from ciphers.errors import InsecureWarning, InvalidKeyError

# The weak and semi-weak keys as listed in NIST SP 800-67 Rev. 2 §3.3.2 (and Menezes et al.,
# Handbook of Applied Cryptography, Table 7.5), with odd parity.
PUBLISHED_WEAK = ["0101010101010101", "fefefefefefefefe", "e0e0e0e0f1f1f1f1", "1f1f1f1f0e0e0e0e"]
PUBLISHED_SEMI_WEAK = [
    ("01fe01fe01fe01fe", "fe01fe01fe01fe01"),
    ("1fe01fe00ef10ef1", "e01fe01ff10ef10e"),
    ("01e001e001f101f1", "e001e001f101f101"),
    ("1ffe1ffe0efe0efe", "fe1ffe1ffe0efe0e"),
    ("011f011f010e010e", "1f011f010e010e01"),
    ("e0fee0fef1fef1fe", "fee0fee0fef1fef1"),
]
SPECIAL = {bytes.fromhex(h) for h in PUBLISHED_WEAK} | {
    bytes.fromhex(h) for p in PUBLISHED_SEMI_WEAK for h in p
}

Factory = Callable[[bytes], BlockCipher]
FACTORIES = [pytest.param(DES, id="readable"), pytest.param(FastDES, id="fast")]

keys = st.binary(min_size=8, max_size=8)
blocks = st.integers(min_value=0, max_value=2**64 - 1)
parity_masks = st.integers(min_value=0, max_value=255)
ALL_ONES = 2**64 - 1


def quiet(factory: Factory, key: bytes) -> BlockCipher:
    """A cipher under ``key``; a weak-key warning is not what these tests are about."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return factory(key)


def without_parity(key: bytes) -> bytes:
    return bytes(b & 0xFE for b in key)


# --- algebraic properties -------------------------------------------------------------------------


@pytest.mark.parametrize("factory", FACTORIES)
@given(key=keys, block=blocks)
def test_round_trip(factory: Factory, key: bytes, block: int) -> None:
    cipher = quiet(factory, key)
    assert cipher.decrypt_int(cipher.encrypt_int(block)) == block
    assert cipher.encrypt_int(cipher.decrypt_int(block)) == block


@pytest.mark.parametrize("factory", FACTORIES)
@given(key=keys, block=blocks)
def test_complementation(factory: Factory, key: bytes, block: int) -> None:
    """E_{~k}(~p) = ~E_k(p)."""
    complement_key = bytes(b ^ 0xFF for b in key)
    ciphertext = quiet(factory, key).encrypt_int(block)
    assert quiet(factory, complement_key).encrypt_int(block ^ ALL_ONES) == ciphertext ^ ALL_ONES


@given(key=keys, block=blocks)
def test_fast_equals_readable(key: bytes, block: int) -> None:
    readable, fast = quiet(DES, key), quiet(FastDES, key)
    assert fast.encrypt_int(block) == readable.encrypt_int(block)
    assert fast.decrypt_int(block) == readable.decrypt_int(block)
    raw = block.to_bytes(8, "big")
    assert fast.encrypt_block(raw) == readable.encrypt_block(raw)


@pytest.mark.parametrize("factory", FACTORIES)
@given(key=keys, mask=parity_masks, block=blocks)
def test_parity_bits_do_not_matter(factory: Factory, key: bytes, mask: int, block: int) -> None:
    other = bytes(b ^ ((mask >> i) & 1) for i, b in enumerate(key))
    assert quiet(factory, other).encrypt_int(block) == quiet(factory, key).encrypt_int(block)


# --- weak and semi-weak keys ----------------------------------------------------------------------


def test_tables_match_the_published_lists() -> None:
    assert [k.hex() for k in WEAK_KEYS] == PUBLISHED_WEAK
    assert [(a.hex(), b.hex()) for a, b in SEMI_WEAK_PAIRS] == PUBLISHED_SEMI_WEAK


@pytest.mark.parametrize("factory", FACTORIES)
@pytest.mark.parametrize("weak", PUBLISHED_WEAK)
@given(block=blocks)
def test_weak_key_encryption_is_an_involution(factory: Factory, weak: str, block: int) -> None:
    cipher = quiet(factory, bytes.fromhex(weak))
    assert cipher.encrypt_int(cipher.encrypt_int(block)) == block


@pytest.mark.parametrize("weak", PUBLISHED_WEAK)
def test_weak_key_has_sixteen_equal_subkeys(weak: str) -> None:
    assert len(set(key_schedule(bytes.fromhex(weak)))) == 1


@pytest.mark.parametrize("factory", FACTORIES)
@pytest.mark.parametrize(("first", "second"), PUBLISHED_SEMI_WEAK)
@given(block=blocks)
def test_semi_weak_pairs_invert_each_other(factory: Factory, first: str, second: str, block: int) -> None:
    a, b = quiet(factory, bytes.fromhex(first)), quiet(factory, bytes.fromhex(second))
    assert a.encrypt_int(b.encrypt_int(block)) == block
    assert b.encrypt_int(a.encrypt_int(block)) == block


@given(key=keys)
def test_weak_and_semi_weak_detection_ignores_parity(key: bytes) -> None:
    stripped = without_parity(key)
    assert is_weak_key(key) == any(stripped == without_parity(bytes.fromhex(h)) for h in PUBLISHED_WEAK)
    semi = [bytes.fromhex(h) for pair in PUBLISHED_SEMI_WEAK for h in pair]
    assert is_semi_weak_key(key) == any(stripped == without_parity(k) for k in semi)


@pytest.mark.parametrize("special", sorted(SPECIAL))
@given(mask=parity_masks)
def test_special_keys_detected_whatever_their_parity(special: bytes, mask: int) -> None:
    key = bytes(b ^ ((mask >> i) & 1) for i, b in enumerate(special))
    assert is_weak_key(key) or is_semi_weak_key(key)
    assert len(key_warnings(key)) == 1


@pytest.mark.parametrize("factory", FACTORIES)
@pytest.mark.parametrize("weak", PUBLISHED_WEAK)
def test_weak_key_warns_but_works(factory: Factory, weak: str) -> None:
    with pytest.warns(InsecureWarning, match="weak key"):
        cipher = factory(bytes.fromhex(weak))
    assert cipher.encrypt_block(bytes(8)) != bytes(8)


@pytest.mark.parametrize("factory", FACTORIES)
@pytest.mark.parametrize(("first", "second"), PUBLISHED_SEMI_WEAK)
def test_semi_weak_key_warning_names_its_partner(factory: Factory, first: str, second: str) -> None:
    with pytest.warns(InsecureWarning, match=f"semi-weak.*{second}"):
        factory(bytes.fromhex(first))
    with pytest.warns(InsecureWarning, match=f"semi-weak.*{first}"):
        factory(bytes.fromhex(second))


@pytest.mark.parametrize("factory", FACTORIES)
def test_ordinary_key_does_not_warn(factory: Factory) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        factory(bytes.fromhex("133457799bbcdff1"))
    assert key_warnings(bytes.fromhex("133457799bbcdff1")) == []


# --- parity helpers -------------------------------------------------------------------------------


@given(key=st.sampled_from([8, 16, 24]).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
def test_set_odd_parity(key: bytes) -> None:
    fixed = set_odd_parity(key)
    assert all(bin(b).count("1") % 2 == 1 for b in fixed)
    assert without_parity(fixed) == without_parity(key)  # the 56 key bits are kept
    assert has_odd_parity(fixed)
    assert set_odd_parity(fixed) == fixed


@given(key=keys)
def test_has_odd_parity(key: bytes) -> None:
    assert has_odd_parity(key) == all(bin(b).count("1") % 2 == 1 for b in key)


@pytest.mark.parametrize("length", [0, 7, 9, 32])
def test_parity_helpers_reject_other_lengths(length: int) -> None:
    with pytest.raises(InvalidKeyError):
        set_odd_parity(bytes(length))
    with pytest.raises(InvalidKeyError):
        has_odd_parity(bytes(length))


def test_published_keys_have_odd_parity() -> None:
    assert all(has_odd_parity(k) for k in SPECIAL)
    assert not has_odd_parity(bytes(8))


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", FACTORIES)
@pytest.mark.parametrize("length", [0, 7, 9, 16, 24])
def test_wrong_key_length(factory: Factory, length: int) -> None:
    with pytest.raises(InvalidKeyError, match="8 bytes"):
        factory(bytes(length))


@pytest.mark.parametrize("factory", FACTORIES)
@pytest.mark.parametrize("key", ["0123456789abcdef", 0x0123456789ABCDEF, None])
def test_key_must_be_bytes(factory: Factory, key: object) -> None:
    with pytest.raises(InvalidKeyError, match="must be bytes"):
        factory(key)  # type: ignore[arg-type]


@pytest.mark.parametrize("factory", FACTORIES)
def test_block_must_be_eight_bytes(factory: Factory) -> None:
    cipher = factory(bytes.fromhex("133457799bbcdff1"))
    for bad in (b"", b"seven!!", b"nine bytes"):
        with pytest.raises(ValueError, match="8 bytes"):
            cipher.encrypt_block(bad)
        with pytest.raises(ValueError, match="8 bytes"):
            cipher.decrypt_block(bad)


@pytest.mark.parametrize("factory", FACTORIES)
@pytest.mark.parametrize("block", [-1, 2**64])
def test_integer_block_must_fit_64_bits(factory: Factory, block: int) -> None:
    cipher = factory(bytes.fromhex("133457799bbcdff1"))
    with pytest.raises((ValueError, OverflowError)):
        cipher.encrypt_int(block)
    with pytest.raises((ValueError, OverflowError)):
        cipher.decrypt_int(block)


@pytest.mark.parametrize("factory", FACTORIES)
@given(key=keys, block=st.binary(min_size=8, max_size=8))
def test_bytearray_key_and_block_are_accepted(factory: Factory, key: bytes, block: bytes) -> None:
    cipher = quiet(factory, key)
    assert quiet(factory, bytearray(key)).encrypt_block(bytearray(block)) == cipher.encrypt_block(block)
    assert cipher.decrypt_block(memoryview(block)) == cipher.decrypt_block(block)


def test_repr_hides_the_key() -> None:
    for factory in (DES, FastDES):
        assert "1334" not in repr(factory(bytes.fromhex("133457799bbcdff1")))

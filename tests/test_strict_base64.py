"""ciphers.strict_base64: RFC 4648 vectors, and exactly one text for each byte string (§3.5)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ciphers import strict_base64
from ciphers.errors import FormatError

# RFC 4648 §10 test vectors.
RFC4648 = [("", b""), ("Zg==", b"f"), ("Zm8=", b"fo"), ("Zm9v", b"foo"), ("Zm9vYg==", b"foob")]
RFC4648 += [("Zm9vYmE=", b"fooba"), ("Zm9vYmFy", b"foobar")]


@pytest.mark.parametrize(("text", "data"), RFC4648, ids=[f"RFC4648-10-{t or 'empty'}" for t, _ in RFC4648])
def test_base64_rfc4648_vectors(text: str, data: bytes) -> None:
    assert strict_base64.decode(text) == data
    assert strict_base64.encode(data) == text


@pytest.mark.parametrize("text", ["Zg", "Zh==", "Zm9v\n", "Zm 9v", "Zm9v-_==", "Zg===", "Zmé=", "Z==="])
def test_base64_decoding_is_strict(text: str) -> None:
    with pytest.raises(FormatError):
        strict_base64.decode(text)


# Texts the standard library's decoder accepts (validate=True) although no encoder writes them.
NON_CANONICAL = [
    ("QUJD=", "padding beyond the last group"),
    ("QUJD====", "padding beyond the last group"),
    ("QR==", "non-zero unused bits in the last group"),
    ("QUJ=", "non-zero unused bits in the last group"),
]


@pytest.mark.parametrize(("text", "why"), NON_CANONICAL, ids=[t for t, _ in NON_CANONICAL])
def test_texts_the_standard_library_accepts_but_no_encoder_writes_are_refused(text: str, why: str) -> None:
    base64.b64decode(text, validate=True)  # the laxity this module exists to close
    with pytest.raises(FormatError) as caught:
        strict_base64.decode(text)
    assert str(caught.value) == f"not canonical base64: {why}"


INVALID = [
    ("Zm9v\n", r"'\n' at position 4 is not in the alphabet"),
    ("Zmé=", r"'\xe9' at position 2 is not in the alphabet"),
    ("Zm9v-_==", "'-' at position 4 is not in the alphabet"),
    ("Zg=", "3 characters, not a multiple of 4"),
    ("Zg==Zg==", "'=' is allowed only at the end, at most twice"),
]


@pytest.mark.parametrize(("text", "why"), INVALID, ids=[t for t, _ in INVALID])
def test_invalid_texts_say_why_in_one_line(text: str, why: str) -> None:
    with pytest.raises(FormatError) as caught:
        strict_base64.decode(text)
    assert str(caught.value) == f"not valid base64: {why}"


@given(st.binary(max_size=64))
def test_every_byte_string_round_trips_through_its_one_text(data: bytes) -> None:
    text = strict_base64.encode(data)
    assert text == base64.b64encode(data).decode()
    assert strict_base64.decode(text) == data


@given(st.binary(min_size=1, max_size=32), st.integers(min_value=0, max_value=255))
def test_no_other_text_decodes_to_the_same_bytes(data: bytes, seed: int) -> None:
    """Changing one character of a canonical text gives a text that is refused or other bytes."""
    text = strict_base64.encode(data)
    position = seed % len(text)
    letters = sorted(strict_base64.ALPHABET | {"="})
    replacement = letters[seed % len(letters)]
    changed = text[:position] + replacement + text[position + 1 :]
    try:
        decoded = strict_base64.decode(changed)
    except FormatError:
        return
    assert changed == text or decoded != data

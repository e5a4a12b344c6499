"""Standard base64 (RFC 4648 §4), written with padding and read strictly: the toolkit's one decoder.

Reading accepts exactly what writing produces, the canonical encoding of RFC 4648 §3.5: only the
64-letter alphabet, a length that is a multiple of 4, at most two ``=`` and only at the end, and
zero in the unused bits of the last group. So each byte string has one text and one only: a signed
field, a key announced to a room or a PEM file cannot be rewritten into another text that decodes
to the same bytes (``QUJD``, ``QUJD=`` and ``QUJD====`` would otherwise all read as ``ABC``).
Line breaks are not base64 either: PEM (:mod:`ciphers.pem`) removes them before decoding.

Every refusal raises :class:`~ciphers.errors.FormatError` with a one-line reason (``not valid
base64: ...`` or ``not canonical base64: ...``) for the caller to put after the name of the field.
"""

from __future__ import annotations

import base64
import binascii
import string

from ciphers.errors import FormatError

ALPHABET = frozenset(string.ascii_letters + string.digits + "+/")
PAD = "="


def encode(data: bytes) -> str:
    """``data`` in standard base64 with padding (RFC 4648 §4)."""
    return base64.b64encode(data).decode("ascii")


def decode(text: str) -> bytes:
    """The bytes of canonical standard base64 ``text``; FormatError saying why otherwise."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise FormatError(f"not valid base64: {_invalid(text)}") from None
    canonical = encode(data)
    if canonical != text:
        raise FormatError(f"not canonical base64: {_non_canonical(text, canonical)}")
    return data


def _invalid(text: str) -> str:
    """Why the decoder refused ``text``: a character outside the alphabet, its length, or its padding."""
    for position, char in enumerate(text):
        if char not in ALPHABET and char != PAD:
            return f"{char!a} at position {position} is not in the alphabet"
    if len(text) % 4:
        return f"{len(text)} characters, not a multiple of 4"
    return "'=' is allowed only at the end, at most twice"


def _non_canonical(text: str, canonical: str) -> str:
    """How ``text`` differs from the one encoding of its bytes (RFC 4648 §3.5)."""
    if text.rstrip(PAD) != canonical.rstrip(PAD):
        return "non-zero unused bits in the last group"
    return "padding beyond the last group"

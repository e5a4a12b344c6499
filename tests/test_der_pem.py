"""DER and PEM: X.690 examples, PyCryptodome's and the ssl module's encoders as oracles, and a
long list of malformed inputs that must each give one FormatError."""

from __future__ import annotations

import contextlib
import json
import ssl
from typing import Any

import pytest
from Crypto.Util import asn1 as pycryptodome_asn1
from hypothesis import given
from hypothesis import strategies as st

from ciphers import der, pem
from ciphers.errors import FormatError
from tests import kat

# --- encoding: published examples ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoding"),
    [
        (0, "020100"),
        (127, "02017f"),
        (128, "02020080"),
        (256, "02020100"),
        (-1, "0201ff"),
        (-128, "020180"),
        (-129, "0202ff7f"),
        (65537, "0203010001"),
    ],
    ids=lambda v: str(v),
)
def test_integer_encodings_from_x690_rules(value: int, encoding: str) -> None:
    """Two's complement, fewest octets (X.690 §8.3; the classic examples of DER primers)."""
    assert der.encode_integer(value).hex() == encoding
    assert der.Reader(bytes.fromhex(encoding)).read_integer() == value


@pytest.mark.parametrize(
    ("length", "encoding"),
    [(0, "00"), (127, "7f"), (128, "8180"), (201, "81c9"), (256, "820100"), (65536, "83010000")],
)
def test_length_encodings(length: int, encoding: str) -> None:
    """X.690 §8.1.3.5 example: 201 is 81 C9 in the long form."""
    assert der.encode_length(length).hex() == encoding


@pytest.mark.parametrize(
    ("dotted", "encoding"),
    [
        ("2.100.3", "0603813403"),  # X.690 §8.19.5 example {2 100 3}
        ("1.2.840.113549.1.1.1", "06092a864886f70d010101"),  # rsaEncryption, as in RSA Labs oaep-int.txt
        ("2.5.4.3", "0603550403"),  # id-at-commonName (RFC 5280)
        ("0.0", "060100"),
    ],
)
def test_oid_encodings(dotted: str, encoding: str) -> None:
    assert der.encode_oid(dotted).hex() == encoding
    assert der.Reader(bytes.fromhex(encoding)).read_oid() == dotted


def test_bit_string_example_from_x690() -> None:
    """X.690 §8.6.4.2: '0A3B5F291CD'H is 03 07 04 0A 3B 5F 29 1C D0."""
    assert der.encode_bit_string(bytes.fromhex("0a3b5f291cd0"), unused_bits=4).hex() == "0307040a3b5f291cd0"


def test_simple_types() -> None:
    assert der.encode_null().hex() == "0500"
    assert der.encode_boolean(True).hex() == "0101ff"
    assert der.encode_boolean(False).hex() == "010100"
    assert der.encode_octet_string(b"\x01\x02").hex() == "04020102"
    assert der.encode_utf8_string("é").hex() == "0c02c3a9"
    assert der.encode_explicit(0, der.encode_integer(2)).hex() == "a003020102"
    assert der.encode_set(der.encode_integer(2), der.encode_integer(1)).hex() == "3106020101020102"


@pytest.mark.parametrize(
    "call",
    [
        lambda: der.encode_oid("1"),
        lambda: der.encode_oid("3.1"),
        lambda: der.encode_oid("1.40"),
        lambda: der.encode_oid("1.2.x"),
        lambda: der.encode_oid("1.2.-3"),
        lambda: der.encode_bit_string(b"", 1),
        lambda: der.encode_bit_string(b"\x01", 8),
        lambda: der.encode_bit_string(b"\x01", 1),
        lambda: der.encode_length(-1),
        lambda: der.context_tag(31),
    ],
    ids=["one-arc", "first-arc-3", "second-arc-40", "not-a-number", "negative-arc", "empty-unused",
         "unused-8", "unused-not-zero", "negative-length", "context-31"],
)  # fmt: skip
def test_encoder_rejects_invalid_values(call: Any) -> None:
    with pytest.raises(ValueError):
        call()


# --- encoding: PyCryptodome's independent DER as the oracle ---------------------------------

big_integers = st.integers(min_value=-(2**2100), max_value=2**2100)
oids = st.tuples(
    st.integers(min_value=0, max_value=2), st.integers(min_value=0, max_value=39),
    st.lists(st.integers(min_value=0, max_value=2**70), max_size=8),
).map(lambda t: ".".join(str(x) for x in (t[0], t[1], *t[2])))  # fmt: skip


@given(big_integers)
def test_integers_match_pycryptodome(value: int) -> None:
    ours = der.encode_integer(value)
    assert ours == pycryptodome_asn1.DerInteger(value).encode()
    assert der.Reader(ours).read_integer() == value


@given(oids)
def test_oids_match_pycryptodome(dotted: str) -> None:
    ours = der.encode_oid(dotted)
    assert ours == pycryptodome_asn1.DerObjectId(dotted).encode()
    assert der.Reader(ours).read_oid() == dotted


@given(st.binary(max_size=70_000))
def test_strings_match_pycryptodome(data: bytes) -> None:
    assert der.encode_octet_string(data) == pycryptodome_asn1.DerOctetString(data).encode()
    assert der.encode_bit_string(data) == pycryptodome_asn1.DerBitString(data).encode()
    assert der.Reader(der.encode_octet_string(data)).read_octet_string() == data
    assert der.Reader(der.encode_bit_string(data)).read_bit_string() == data


@given(st.lists(big_integers, max_size=12))
def test_sequences_match_pycryptodome_and_round_trip(values: list[int]) -> None:
    ours = der.encode_sequence(*(der.encode_integer(v) for v in values))
    assert ours == pycryptodome_asn1.DerSequence(values).encode()
    seq = der.read_single(ours).read_sequence()
    assert [seq.read_integer() for _ in values] == values
    seq.finish()


def test_nested_structure_round_trips_and_reports_offsets() -> None:
    data = der.encode_sequence(
        der.encode_sequence(der.encode_oid("1.2.840.113549.1.1.1"), der.encode_null()),
        der.encode_explicit(0, der.encode_utf8_string("alice")),
        der.encode_boolean(True),
    )
    outer = der.read_single(data).read_sequence()
    alg = outer.read_sequence()
    assert alg.read_oid() == "1.2.840.113549.1.1.1"
    alg.read_null()
    alg.finish()
    assert outer.read_explicit(0).read_utf8_string() == "alice"
    assert outer.read_boolean() is True
    outer.finish()
    outline = der.pretty(data)
    assert "OBJECT IDENTIFIER 1.2.840.113549.1.1.1" in outline and "[0]" in outline
    with pytest.raises(FormatError, match=r"at offset 2\b"):
        der.read_single(data).read_sequence().read_integer()


# --- decoding: malformed input --------------------------------------------------------------

MALFORMED = [
    ("empty", "", "read", "unexpected end of data"),
    ("truncated-content", "02050102", "read", "truncated"),
    ("missing-length", "02", "read", "missing length"),
    ("truncated-length-field", "028201", "read", "length field runs past"),
    ("indefinite-length", "3080020100 0000", "read", "indefinite length"),
    ("long-form-for-short-length", "02810105", "read", "minimal form"),
    ("leading-zero-length", "0482008100", "read", "minimal form"),
    ("five-octet-length", "04850000000001", "read", "too long"),
    ("high-tag-number", "1f8100", "read", "high tag numbers"),
    ("integer-leading-00", "0202007f", "read_integer", "not minimally encoded"),
    ("integer-leading-ff", "0202ff80", "read_integer", "not minimally encoded"),
    ("integer-empty", "0200", "read_integer", "empty INTEGER"),
    ("negative-where-unsigned", "0201ff", "read_unsigned", "must not be negative"),
    ("wrong-tag", "040100", "read_integer", "expected INTEGER, found OCTET STRING"),
    ("null-with-content", "050100", "read_null", "NULL must have no content"),
    ("boolean-not-ff", "010101", "read_boolean", "00 or FF"),
    ("oid-empty", "0600", "read_oid", "empty or truncated"),
    ("oid-truncated", "060181", "read_oid", "empty or truncated"),
    ("oid-non-minimal", "06028001", "read_oid", "not minimal"),
    ("bit-string-empty", "0300", "read_bit_string", "no unused-bits octet"),
    ("bit-string-unused-bits", "030201fe", "read_bit_string", "unused bits"),
    ("utf8-invalid", "0c01ff", "read_utf8_string", "not valid UTF-8"),
    ("sequence-expected", "310100", "read_sequence", "expected SEQUENCE, found SET"),
]


@pytest.mark.parametrize(
    ("hex_input", "method", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_der_raises_format_error(hex_input: str, method: str, message: str) -> None:
    reader = der.Reader(bytes.fromhex(hex_input.replace(" ", "")))
    with pytest.raises(FormatError, match=message):
        getattr(reader, method)()


def test_trailing_data_is_refused() -> None:
    with pytest.raises(FormatError, match="1 unexpected trailing byte"):
        der.read_single(bytes.fromhex("050000"))
    seq = der.read_single(bytes.fromhex("3006020101020102")).read_sequence()
    seq.read_integer()
    with pytest.raises(FormatError, match="trailing"):
        seq.finish()


def test_read_single_refuses_text() -> None:
    with pytest.raises(FormatError, match="expected bytes"):
        der.read_single("3000")  # type: ignore[arg-type]


@given(st.binary(max_size=200))
def test_arbitrary_bytes_give_format_error_or_parse(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        der.pretty(data)


# --- PEM ------------------------------------------------------------------------------------

labels = st.from_regex(r"[A-Z0-9]{1,8}( [A-Z0-9]{1,8}){0,3}", fullmatch=True)


@given(st.binary(min_size=1, max_size=3000), labels)
def test_pem_round_trips_with_64_character_lines(data: bytes, label: str) -> None:
    text = pem.encode(data, label)
    lines = text.splitlines()
    assert lines[0] == f"-----BEGIN {label}-----" and lines[-1] == f"-----END {label}-----"
    assert all(len(line) == 64 for line in lines[1:-2]) and 0 < len(lines[-2]) <= 64
    assert text.endswith("\n")
    assert pem.decode(text) == (label, data)
    assert pem.decode(text.encode("ascii"), label) == (label, data)


@given(st.binary(min_size=1, max_size=3000))
def test_pem_matches_the_ssl_module(data: bytes) -> None:
    text = pem.encode(data, "CERTIFICATE")
    assert text == ssl.DER_cert_to_PEM_cert(data)
    assert pem.decode(ssl.DER_cert_to_PEM_cert(data), "CERTIFICATE")[1] == data


def _wycheproof_pems() -> list[Any]:
    cases = []
    for name in ("rsa_oaep_2048_sha256_mgf1sha256_test.json", "rsa_signature_2048_sha256_test.json"):
        data = json.loads(kat.vector_path("rsa", "wycheproof", name).read_text())
        group = data["testGroups"][0]
        for pem_field, der_field in (("privateKeyPem", "privateKeyPkcs8"), ("publicKeyPem", "publicKeyDer")):
            if pem_field in group:
                cases.append(pytest.param(group[pem_field], group[der_field], id=f"{name}:{pem_field}"))
    return cases


@pytest.mark.parametrize(("text", "der_hex"), _wycheproof_pems())
def test_wycheproof_pem_bodies_decode_to_their_der(text: str, der_hex: str) -> None:
    label, body = pem.decode(text)
    assert label in ("PRIVATE KEY", "PUBLIC KEY")
    assert body == bytes.fromhex(der_hex)


def test_lax_reading_explanatory_text_crlf_whitespace_and_several_blocks() -> None:
    text = (
        "Subject: alice\r\n"
        "-----BEGIN FIRST-----\r\n  AQID \r\n\r\n-----END FIRST-----\r\n"
        "between\n"
        "-----BEGIN SECOND-----\nBAUG\n-----END SECOND-----\n"
    )
    assert pem.decode_all(text) == [("FIRST", b"\x01\x02\x03"), ("SECOND", b"\x04\x05\x06")]
    assert pem.decode(text) == ("FIRST", b"\x01\x02\x03")
    assert pem.decode(text, ["SECOND", "THIRD"]) == ("SECOND", b"\x04\x05\x06")
    assert (
        pem.looks_like_pem(text) and pem.looks_like_pem(text.encode()) and not pem.looks_like_pem(b"\x30\x00")
    )


PEM_ERRORS = [
    ("no-begin", "just text\n", "no -----BEGIN"),
    ("no-end", "-----BEGIN X-----\nAQID\n", "no END line"),
    ("end-without-begin", "-----END X-----\n", "END line without a BEGIN"),
    ("label-mismatch", "-----BEGIN X-----\nAQID\n-----END Y-----\n", "does not match"),
    ("bad-character", "-----BEGIN X-----\nAQ!D\n-----END X-----\n", "not valid base64"),
    ("bad-padding", "-----BEGIN X-----\nAQI\n-----END X-----\n", "not valid base64"),
    ("excess-padding", "-----BEGIN X-----\nQUJD=\n-----END X-----\n", "not canonical base64: padding"),
    ("padding-group", "-----BEGIN X-----\nQUJD====\n-----END X-----\n", "not canonical base64: padding"),
    ("unused-bits", "-----BEGIN X-----\nQR==\n-----END X-----\n", "not canonical base64: non-zero unused"),
    ("encrypted-header", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAQID\n"
     "-----END RSA PRIVATE KEY-----\n", "headers"),
    ("empty-body", "-----BEGIN X-----\n-----END X-----\n", "empty"),
    ("nested-begin", "-----BEGIN X-----\n-----BEGIN Y-----\n", "unexpected boundary"),
    ("non-ascii", "-----BEGIN X-----\nAQID\u00e9\n-----END X-----\n", "not ASCII"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), [e[1:] for e in PEM_ERRORS], ids=[e[0] for e in PEM_ERRORS])
def test_malformed_pem_raises_format_error(text: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        pem.decode(text)


def test_one_body_per_der_and_line_breaks_anywhere() -> None:
    """The canonical body decodes wherever it is folded; the texts that also read as ``ABC`` do not."""
    assert pem.decode("-----BEGIN X-----\nQUJD\n-----END X-----\n") == ("X", b"ABC")
    assert pem.decode("-----BEGIN X-----\nQU\r\n J\nD\n-----END X-----\n") == ("X", b"ABC")
    for body in ("QUJD=", "QUJD====", "QR=="):
        with pytest.raises(FormatError, match=r"^PEM: the 'X' block is not canonical base64: [^\n]+$"):
            pem.decode(f"-----BEGIN X-----\n{body}\n-----END X-----\n")


def test_pem_wrong_label_and_non_ascii_bytes() -> None:
    text = pem.encode(b"\x01", "PUBLIC KEY")
    with pytest.raises(FormatError, match="expected a block labelled 'PRIVATE KEY', found 'PUBLIC KEY'"):
        pem.decode(text, "PRIVATE KEY")
    with pytest.raises(FormatError, match="not ASCII"):
        pem.decode(b"\xff\xfe-----BEGIN X-----")
    with pytest.raises(ValueError, match="invalid PEM label"):
        pem.encode(b"\x01", "BAD--LABEL")


@given(st.binary(max_size=300) | st.text(max_size=300))
def test_arbitrary_input_gives_format_error_or_blocks(data: bytes | str) -> None:
    with contextlib.suppress(FormatError):
        pem.decode_all(data)

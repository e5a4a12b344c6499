"""RSA key formats: RSA Labs and Wycheproof encodings byte for byte, OpenSSL (cryptography and
the openssl binary) both ways, and malformed keys that must fail with one clear error."""

from __future__ import annotations

import shutil
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric import rsa as crypto_rsa
from hypothesis import given
from hypothesis import strategies as st

from ciphers import der, pem
from ciphers.errors import CryptoError, FormatError, InsecureWarning, InvalidKeyError
from ciphers.rng import DeterministicRNG
from ciphers.rsa import formats
from ciphers.rsa.keys import RSAPrivateKey, RSAPublicKey, generate
from ciphers.vectors import vector_file
from ciphers.vectors.loader import load_hex_blocks, load_json
from tests import kat

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl binary is not installed")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", InsecureWarning)
    KEYS = [generate(bits, rng=DeterministicRNG(f"formats-{bits}")) for bits in (512, 1024, 1030)]
KEY = KEYS[1]

# --- RSA Labs oaep-int.txt: the key and its BER encodings (all in DER form) ------------------

_BLOCKS = load_hex_blocks(vector_file("oaep-int.txt"))


def _section(first: str, stop: str) -> bytes:
    """The concatenated octets of the blocks from label ``first`` up to label ``stop``."""
    labels = [b.label for b in _BLOCKS]
    start, end = labels.index(first), labels.index(stop)
    return b"".join(b.value for b in _BLOCKS[start:end])


def _labs_number(label: str) -> int:
    return int.from_bytes(next(b.value for b in _BLOCKS if b.label == label), "big")


LABS_KEY = RSAPrivateKey(
    *(
        _labs_number(label)
        for label in ("Modulus", "Public exponent", "Private exponent", "Prime 1", "Prime 2",
                      "Prime exponent 1", "Prime exponent 2", "Coefficient")
    )
)  # fmt: skip
LABS_PUBLIC_DER = _section("RSAPublicKey", "RSAPrivateKey")
LABS_PRIVATE_DER = _section("RSAPrivateKey", "PrivateKeyInfo (PKCS #8)")
LABS_PKCS8_DER = (
    _section("PrivateKeyInfo (PKCS #8)", "BER encoding of RSAPrivateKey structure") + LABS_PRIVATE_DER
)


def test_rsa_labs_encodings_are_reproduced_byte_for_byte() -> None:
    assert LABS_PUBLIC_DER[:3] == bytes.fromhex("308187") and len(LABS_PUBLIC_DER) == 3 + 0x87
    assert len(LABS_PRIVATE_DER) == 4 + 0x25B and len(LABS_PKCS8_DER) == 4 + 0x275
    assert formats.encode_pkcs1_public(LABS_KEY) == LABS_PUBLIC_DER
    assert formats.encode_pkcs1_private(LABS_KEY) == LABS_PRIVATE_DER
    assert formats.encode_pkcs8(LABS_KEY) == LABS_PKCS8_DER


def test_rsa_labs_encodings_load() -> None:
    assert formats.decode_pkcs1_public(LABS_PUBLIC_DER) == LABS_KEY.public_key()
    assert formats.decode_pkcs1_private(LABS_PRIVATE_DER) == LABS_KEY
    assert formats.decode_pkcs8(LABS_PKCS8_DER) == LABS_KEY
    assert formats.load_key(LABS_PUBLIC_DER) == LABS_KEY.public_key()
    assert formats.load_key(LABS_PRIVATE_DER) == LABS_KEY
    assert formats.load_key(LABS_PKCS8_DER) == LABS_KEY


# --- Wycheproof: keys given as numbers and as DER/PEM ---------------------------------------


def _wycheproof_groups(path: Path) -> Iterator[Any]:
    for index, group in enumerate(load_json(path)["testGroups"]):
        yield pytest.param(group, id=f"{path.name}:group{index}")


WYCHEPROOF_FILES = sorted(path.name for path in (kat.VECTORS / "rsa" / "wycheproof").glob("*.json"))
WYCHEPROOF_GROUPS = kat.from_files(_wycheproof_groups, "rsa/wycheproof", WYCHEPROOF_FILES)


def _int(hex_text: str) -> int:
    return int(hex_text, 16)


@pytest.mark.parametrize("group", WYCHEPROOF_GROUPS)
def test_wycheproof_keys_load_and_re_encode_identically(group: dict[str, Any]) -> None:
    numbers = group.get("privateKey") or group["publicKey"]
    n, e = _int(numbers["modulus"]), _int(numbers["publicExponent"])
    public = RSAPublicKey(n, e)
    for field, decoder, encoder in (
        ("publicKeyDer", formats.decode_spki, formats.encode_spki),
        ("keyDer", formats.decode_spki, formats.encode_spki),
        ("publicKeyAsn", formats.decode_pkcs1_public, formats.encode_pkcs1_public),
        ("keyAsn", formats.decode_pkcs1_public, formats.encode_pkcs1_public),
    ):
        if field in group:
            encoded = bytes.fromhex(group[field])
            assert decoder(encoded) == public
            assert encoder(public) == encoded
    for field in ("publicKeyPem", "keyPem"):
        if field in group:
            assert formats.load_public_key(group[field]) == public
            assert formats.dump_public_key(public).decode() == group[field].rstrip("\n") + "\n"
    if "privateKeyPkcs8" in group:
        encoded = bytes.fromhex(group["privateKeyPkcs8"])
        key = formats.decode_pkcs8(encoded)
        assert (key.n, key.e, key.d) == (n, e, _int(numbers["privateExponent"]))
        if "prime1" in numbers:
            assert (key.p, key.q, key.dp, key.dq, key.qinv) == tuple(
                _int(numbers[name]) for name in ("prime1", "prime2", "exponent1", "exponent2", "coefficient")
            )
        assert formats.encode_pkcs8(key) == encoded
        assert formats.load_private_key(group["privateKeyPem"]) == key
        expected_pem = group["privateKeyPem"].rstrip("\n") + "\n"
        form = "pkcs1" if "RSA PRIVATE KEY" in expected_pem else "pkcs8"
        assert formats.dump_private_key(key, format=form).decode() == expected_pem


test_every_wycheproof_file_yields_key_groups = kat.every_file_yields_vectors(WYCHEPROOF_GROUPS)


# --- OpenSSL through cryptography, both ways ------------------------------------------------

_CRYPTO_PRIVATE = {
    "pkcs8": serialization.PrivateFormat.PKCS8,
    "pkcs1": serialization.PrivateFormat.TraditionalOpenSSL,
}
_CRYPTO_PUBLIC = {
    "spki": serialization.PublicFormat.SubjectPublicKeyInfo,
    "pkcs1": serialization.PublicFormat.PKCS1,
}
_CRYPTO_ENCODING = {"pem": serialization.Encoding.PEM, "der": serialization.Encoding.DER}


def _ours_from_cryptography(key: crypto_rsa.RSAPrivateKey) -> RSAPrivateKey:
    numbers = key.private_numbers()
    return RSAPrivateKey(
        numbers.public_numbers.n, numbers.public_numbers.e, numbers.d,
        numbers.p, numbers.q, numbers.dmp1, numbers.dmq1, numbers.iqmp,
    )  # fmt: skip


@pytest.mark.parametrize("encoding", ["pem", "der"])
@pytest.mark.parametrize("form", ["pkcs8", "pkcs1"])
@pytest.mark.parametrize("key", KEYS, ids=[f"{k.bits}bit" for k in KEYS])
def test_our_private_keys_load_in_cryptography_and_match_its_bytes(
    key: RSAPrivateKey, form: formats.PrivateFormat, encoding: formats.Encoding
) -> None:
    ours = formats.dump_private_key(key, encoding, form)
    loader = serialization.load_pem_private_key if encoding == "pem" else serialization.load_der_private_key
    theirs = loader(ours, password=None)
    assert isinstance(theirs, crypto_rsa.RSAPrivateKey)
    assert _ours_from_cryptography(theirs) == key
    assert (
        theirs.private_bytes(_CRYPTO_ENCODING[encoding], _CRYPTO_PRIVATE[form], serialization.NoEncryption())
        == ours
    )


@pytest.mark.parametrize("encoding", ["pem", "der"])
@pytest.mark.parametrize("form", ["spki", "pkcs1"])
@pytest.mark.parametrize("key", KEYS, ids=[f"{k.bits}bit" for k in KEYS])
def test_our_public_keys_load_in_cryptography_and_match_its_bytes(
    key: RSAPrivateKey, form: formats.PublicFormat, encoding: formats.Encoding
) -> None:
    ours = formats.dump_public_key(key.public_key(), encoding, form)
    loader = serialization.load_pem_public_key if encoding == "pem" else serialization.load_der_public_key
    theirs = loader(ours)
    assert isinstance(theirs, crypto_rsa.RSAPublicKey)
    assert (theirs.public_numbers().n, theirs.public_numbers().e) == (key.n, key.e)
    assert theirs.public_bytes(_CRYPTO_ENCODING[encoding], _CRYPTO_PUBLIC[form]) == ours


@pytest.mark.parametrize("bits", [1024, 2048, 1536])
def test_keys_written_by_cryptography_load_in_ours_in_every_format(bits: int) -> None:
    theirs = crypto_rsa.generate_private_key(65537, bits)
    expected = _ours_from_cryptography(theirs)
    for encoding, crypto_encoding in _CRYPTO_ENCODING.items():
        for form, crypto_form in _CRYPTO_PRIVATE.items():
            data = theirs.private_bytes(crypto_encoding, crypto_form, serialization.NoEncryption())
            assert formats.load_private_key(data) == expected, (encoding, form)
        for form, crypto_public_form in _CRYPTO_PUBLIC.items():
            data = theirs.public_key().public_bytes(crypto_encoding, crypto_public_form)
            assert formats.load_public_key(data) == expected.public_key(), (encoding, form)


# --- the openssl binary ---------------------------------------------------------------------


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *args], capture_output=True, text=True, timeout=30, check=False)


@needs_openssl
@pytest.mark.parametrize("encoding", ["pem", "der"])
@pytest.mark.parametrize("form", ["pkcs8", "pkcs1"])
def test_openssl_reads_and_checks_our_private_keys(tmp_path: Path, form: str, encoding: str) -> None:
    path = tmp_path / f"key.{encoding}"
    path.write_bytes(formats.dump_private_key(KEY, encoding, form))  # type: ignore[arg-type]
    shown = _openssl("pkey", "-in", str(path), "-inform", encoding.upper(), "-noout", "-text")
    assert shown.returncode == 0, shown.stderr
    assert "Private-Key: (1024 bit, 2 primes)" in shown.stdout
    assert "publicExponent: 65537 (0x10001)" in shown.stdout
    checked = _openssl("rsa", "-check", "-noout", "-in", str(path), "-inform", encoding.upper())
    assert checked.returncode == 0, checked.stderr
    assert "RSA key ok" in checked.stdout
    modulus = _openssl("rsa", "-modulus", "-noout", "-in", str(path), "-inform", encoding.upper())
    assert modulus.stdout.strip() == f"Modulus={KEY.n:X}"


@needs_openssl
@pytest.mark.parametrize("encoding", ["pem", "der"])
@pytest.mark.parametrize("form", ["spki", "pkcs1"])
def test_openssl_reads_our_public_keys(tmp_path: Path, form: str, encoding: str) -> None:
    path = tmp_path / f"pub.{encoding}"
    path.write_bytes(formats.dump_public_key(KEY, encoding, form))  # type: ignore[arg-type]
    flag = "-pubin" if form == "spki" else "-RSAPublicKey_in"
    shown = _openssl("rsa", flag, "-in", str(path), "-inform", encoding.upper(), "-noout", "-modulus")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"Modulus={KEY.n:X}"


@needs_openssl
def test_keys_written_by_openssl_load_in_ours(tmp_path: Path) -> None:
    private = tmp_path / "openssl.pem"
    made = _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", str(private))
    assert made.returncode == 0, made.stderr
    pkcs1 = _openssl("rsa", "-in", str(private), "-traditional")
    public = _openssl("rsa", "-in", str(private), "-pubout")
    public_pkcs1 = _openssl("rsa", "-in", str(private), "-RSAPublicKey_out")
    reference = serialization.load_pem_private_key(private.read_bytes(), password=None)
    assert isinstance(reference, crypto_rsa.RSAPrivateKey)
    expected = _ours_from_cryptography(reference)
    assert formats.load_private_key(private.read_bytes()) == expected
    assert formats.load_private_key(pkcs1.stdout) == expected
    assert formats.load_public_key(public.stdout) == expected.public_key()
    assert formats.load_public_key(public_pkcs1.stdout) == expected.public_key()


def test_openssl_binary_is_present_on_this_machine() -> None:
    """The openssl tests above skip only when the binary is missing; say so if it is."""
    if OPENSSL is None:
        pytest.skip("openssl binary absent: the openssl interoperability tests were skipped")
    assert Path(OPENSSL).exists()


# --- loading: detection and convenience -----------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (formats.encode_pkcs1_public(KEY), "pkcs1-public"),
        (formats.encode_pkcs1_private(KEY), "pkcs1-private"),
        (formats.encode_spki(KEY), "spki"),
        (formats.encode_pkcs8(KEY), "pkcs8"),
    ],
)
def test_der_format_detection(data: bytes, kind: str) -> None:
    assert formats.detect_der_format(data) == kind


def test_load_public_key_accepts_a_private_key_and_load_private_key_refuses_a_public_one() -> None:
    assert formats.load_public_key(formats.dump_private_key(KEY)) == KEY.public_key()
    with pytest.raises(FormatError, match="this is a public key"):
        formats.load_private_key(formats.dump_public_key(KEY))


def test_pem_text_and_bytes_both_load() -> None:
    text = formats.dump_private_key(KEY).decode("ascii")
    assert formats.load_key(text) == formats.load_key(text.encode()) == KEY


def test_unknown_dump_options_are_refused() -> None:
    with pytest.raises(ValueError):
        formats.dump_public_key(KEY, "pem", "x509")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        formats.dump_private_key(KEY, "json")  # type: ignore[arg-type]


# --- malformed keys -------------------------------------------------------------------------


def _alg(oid: str, params: bytes | None = der.encode_null()) -> bytes:
    return der.encode_sequence(der.encode_oid(oid), *([params] if params is not None else []))


def _spki(alg: bytes, inner: bytes = formats.encode_pkcs1_public(KEY)) -> bytes:
    return der.encode_sequence(alg, der.encode_bit_string(inner))


def _pkcs1_private(*numbers: int) -> bytes:
    return der.encode_sequence(*(der.encode_integer(x) for x in numbers))


_K = KEY
_GOOD_NUMBERS = (0, _K.n, _K.e, _K.d, _K.p, _K.q, _K.dp, _K.dq, _K.qinv)


def _wrap_pem(label: str, body: bytes) -> bytes:
    return pem.encode(body, label).encode()


def _foreign(kind: str) -> bytes:
    """Keys that are not plain RSA, or are encrypted, as OpenSSL writes them."""
    pem_, der_, pkcs8 = (
        serialization.Encoding.PEM,
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
    )
    if kind == "ec":
        public = ec.generate_private_key(ec.SECP256R1()).public_key()
        return public.public_bytes(der_, serialization.PublicFormat.SubjectPublicKeyInfo)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate().private_bytes(pem_, pkcs8, serialization.NoEncryption())
    form = pkcs8 if kind == "encrypted-pkcs8" else serialization.PrivateFormat.TraditionalOpenSSL
    rsa_key = crypto_rsa.generate_private_key(65537, 1024)
    return rsa_key.private_bytes(pem_, form, serialization.BestAvailableEncryption(b"pw"))


_RSA_ALG = _alg(formats.RSA_ENCRYPTION_OID)
_PKCS1_PUBLIC = formats.encode_pkcs1_public(KEY)


def _numbers(**changes: int) -> bytes:
    """A PKCS#1 RSAPrivateKey of KEY's numbers with some replaced (names as in RFC 8017)."""
    names = ("version", "n", "e", "d", "p", "q", "dp", "dq", "qinv")
    values = dict(zip(names, _GOOD_NUMBERS, strict=True)) | changes
    return _pkcs1_private(*values.values())


MALFORMED_KEYS: list[tuple[str, bytes | str, type[CryptoError], str]] = [
    ("ec-spki", _foreign("ec"), FormatError, r"1\.2\.840\.10045\.2\.1 \(EC\)"),
    ("ed25519-pkcs8", _foreign("ed25519"), FormatError, "Ed25519"),
    ("pss-oid", _spki(_alg("1.2.840.113549.1.1.10")), FormatError, "RSASSA-PSS"),
    ("missing-null", _spki(_alg(formats.RSA_ENCRYPTION_OID, None)), FormatError, "must be NULL"),
    ("params-not-null", _spki(_alg(formats.RSA_ENCRYPTION_OID, der.encode_integer(0))), FormatError, "NULL"),
    (
        "negative-modulus",
        der.encode_sequence(der.encode_integer(-KEY.n), der.encode_integer(KEY.e)),
        FormatError,
        "modulus must not be negative",
    ),
    ("negative-prime", _numbers(p=-_K.p), FormatError, "prime1 must not be negative"),
    ("multi-prime-version", _numbers(version=1), FormatError, "multi-prime"),
    ("unknown-version", _numbers(version=7), FormatError, "unknown version 7"),
    ("extra-integer", _pkcs1_private(*_GOOD_NUMBERS, 5), FormatError, "trailing"),
    ("wrong-d", _numbers(d=_K.d + 2), InvalidKeyError, r"e \* d"),
    ("wrong-modulus", _numbers(n=_K.n + 2), InvalidKeyError, r"not p \* q"),
    (
        "even-exponent",
        der.encode_sequence(der.encode_integer(KEY.n), der.encode_integer(4)),
        InvalidKeyError,
        "must be odd",
    ),
    ("trailing-bytes", formats.encode_spki(KEY) + b"\x00", FormatError, "trailing"),
    ("truncated", formats.encode_pkcs8(KEY)[:-1], FormatError, "truncated"),
    (
        "unknown-shape",
        der.encode_sequence(der.encode_integer(1)),
        FormatError,
        "not an RSA key in a supported",
    ),
    ("not-a-sequence", der.encode_integer(5), FormatError, "neither PEM .* nor DER"),
    (
        "pkcs8-version-2",
        der.encode_sequence(der.encode_integer(2), _RSA_ALG, der.encode_octet_string(_numbers())),
        FormatError,
        "unknown version 2",
    ),
    (
        "spki-unused-bits",
        der.encode_sequence(_RSA_ALG, der.encode_bit_string(_PKCS1_PUBLIC[:-1] + b"\x00", 1)),
        FormatError,
        "unused bits",
    ),
    ("encrypted-pkcs8", _foreign("encrypted-pkcs8"), FormatError, "encrypted private keys are not supported"),
    ("encrypted-legacy-pem", _foreign("encrypted-legacy"), FormatError, "headers"),
    ("certificate-label", _wrap_pem("CERTIFICATE", formats.encode_spki(KEY)), FormatError, "not an RSA key"),
    ("label-body-mismatch", _wrap_pem("PUBLIC KEY", _PKCS1_PUBLIC), FormatError, "SubjectPublicKeyInfo"),
    ("bad-base64", "-----BEGIN PUBLIC KEY-----\nMII*\n-----END PUBLIC KEY-----\n", FormatError, "base64"),
    ("garbage", b"\x00\x01\x02", FormatError, "neither PEM .* nor DER"),
    ("empty", b"", FormatError, "neither PEM .* nor DER"),
    ("sequence-cut-short", b"\x30", FormatError, "missing length"),
    ("text-not-pem", "hello", FormatError, "no -----BEGIN"),
]


@pytest.mark.parametrize(
    ("data", "error", "message"), [m[1:] for m in MALFORMED_KEYS], ids=[m[0] for m in MALFORMED_KEYS]
)
def test_malformed_keys_raise_one_clear_error(
    data: bytes | str, error: type[CryptoError], message: str
) -> None:
    with pytest.raises(error, match=message) as info:
        formats.load_key(data)
    assert "\n" not in str(info.value)


@given(st.data())
def test_every_truncation_of_a_key_is_a_format_error(data: st.DataObject) -> None:
    encoded = data.draw(st.sampled_from([formats.encode_pkcs8(KEY), formats.encode_spki(KEY)]))
    cut = data.draw(st.integers(min_value=0, max_value=len(encoded) - 1))
    with pytest.raises(FormatError):
        formats.load_key(encoded[:cut])


@given(st.data())
def test_corrupted_keys_fail_only_with_crypto_errors(data: st.DataObject) -> None:
    encoded = bytearray(
        data.draw(st.sampled_from([formats.encode_pkcs8(KEYS[0]), formats.encode_pkcs1_private(KEYS[0])]))
    )
    position = data.draw(st.integers(min_value=0, max_value=len(encoded) - 1))
    encoded[position] ^= data.draw(st.integers(min_value=1, max_value=255))
    try:
        key = formats.load_key(bytes(encoded))
    except CryptoError:
        return
    assert isinstance(key, RSAPrivateKey)  # only a change that keeps a consistent key may load

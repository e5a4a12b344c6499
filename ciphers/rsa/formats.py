"""RSA key formats that OpenSSL reads and writes, in DER and PEM, built on :mod:`ciphers.der`.

====================  ======================  ==============================================
format                PEM label               ASN.1
====================  ======================  ==============================================
PKCS#1 public         ``RSA PUBLIC KEY``      RSAPublicKey (RFC 8017 App. A.1.1)
PKCS#1 private        ``RSA PRIVATE KEY``     RSAPrivateKey (RFC 8017 App. A.1.2), two primes
SubjectPublicKeyInfo  ``PUBLIC KEY``          RFC 5280 §4.1.2.7, rsaEncryption (RFC 3279 §2.3.1)
PKCS#8                ``PRIVATE KEY``         PrivateKeyInfo (RFC 5208 §5 / RFC 5958), unencrypted
====================  ======================  ==============================================

Loading detects PEM or DER and then the format. Private keys are checked for consistency
(:func:`ciphers.rsa.keys.check_private_key`) before they are returned. Malformed input raises
:class:`~ciphers.errors.FormatError`; well-formed numbers that do not make a valid key raise
:class:`~ciphers.errors.InvalidKeyError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from ciphers import der, pem
from ciphers.errors import FormatError
from ciphers.rsa.keys import RSAPrivateKey, RSAPublicKey, check_private_key, check_public_key

RSA_ENCRYPTION_OID = "1.2.840.113549.1.1.1"
"""rsaEncryption (PKCS#1, RFC 8017 App. C): the algorithm of plain RSA keys in SPKI and PKCS#8."""

_OTHER_ALGORITHMS = {
    "1.2.840.113549.1.1.10": "RSASSA-PSS",
    "1.2.840.10045.2.1": "EC",
    "1.3.101.112": "Ed25519",
    "1.3.101.110": "X25519",
    "1.2.840.10040.4.1": "DSA",
    "1.2.840.113549.1.3.1": "DH",
}

PUBLIC_PKCS1_LABEL = "RSA PUBLIC KEY"
PRIVATE_PKCS1_LABEL = "RSA PRIVATE KEY"
SPKI_LABEL = "PUBLIC KEY"
PKCS8_LABEL = "PRIVATE KEY"

PublicFormat = Literal["spki", "pkcs1"]
PrivateFormat = Literal["pkcs8", "pkcs1"]
Encoding = Literal["pem", "der"]


# --- PKCS#1 (RFC 8017 Appendix A.1) ---------------------------------------------------------


def encode_pkcs1_public(key: RSAPublicKey | RSAPrivateKey) -> bytes:
    """RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }."""
    return der.encode_sequence(der.encode_integer(key.n), der.encode_integer(key.e))


def decode_pkcs1_public(data: bytes) -> RSAPublicKey:
    """Parse a DER RSAPublicKey."""
    seq = der.read_single(data, "PKCS#1 RSAPublicKey").read_sequence()
    n = seq.read_unsigned("modulus")
    e = seq.read_unsigned("publicExponent")
    seq.finish()
    key = RSAPublicKey(n, e)
    check_public_key(key)
    return key


def encode_pkcs1_private(key: RSAPrivateKey) -> bytes:
    """RSAPrivateKey ::= SEQUENCE { version 0 (two-prime), n, e, d, p, q, dP, dQ, qInv }."""
    numbers = (0, key.n, key.e, key.d, key.p, key.q, key.dp, key.dq, key.qinv)
    return der.encode_sequence(*(der.encode_integer(x) for x in numbers))


def decode_pkcs1_private(data: bytes) -> RSAPrivateKey:
    """Parse a DER RSAPrivateKey (two-prime, version 0) and check its consistency."""
    seq = der.read_single(data, "PKCS#1 RSAPrivateKey").read_sequence()
    version = seq.read_unsigned("version")
    if version == 1:
        raise FormatError("PKCS#1 RSAPrivateKey: multi-prime keys (version 1) are not supported")
    if version != 0:
        raise FormatError(f"PKCS#1 RSAPrivateKey: unknown version {version}")
    names = ("modulus", "publicExponent", "privateExponent", "prime1", "prime2")
    n, e, d, p, q = (seq.read_unsigned(name) for name in names)
    dp, dq, qinv = (seq.read_unsigned(name) for name in ("exponent1", "exponent2", "coefficient"))
    seq.finish()
    key = RSAPrivateKey(n=n, e=e, d=d, p=p, q=q, dp=dp, dq=dq, qinv=qinv)
    check_private_key(key)
    return key


# --- SubjectPublicKeyInfo (RFC 5280) and PKCS#8 (RFC 5208) ----------------------------------


def _encode_algorithm() -> bytes:
    """AlgorithmIdentifier { rsaEncryption, NULL } (RFC 3279 §2.3.1: the parameters MUST be NULL)."""
    return der.encode_sequence(der.encode_oid(RSA_ENCRYPTION_OID), der.encode_null())


def _read_algorithm(reader: der.Reader) -> None:
    """Read an AlgorithmIdentifier and insist on rsaEncryption with NULL parameters."""
    alg = reader.read_sequence()
    oid = alg.read_oid()
    if oid != RSA_ENCRYPTION_OID:
        name = _OTHER_ALGORITHMS.get(oid)
        detail = f" ({name})" if name else ""
        raise FormatError(f"not a plain RSA key: algorithm {oid}{detail} is not supported")
    if alg.at_end():
        raise FormatError("rsaEncryption AlgorithmIdentifier: parameters must be NULL, found none")
    alg.read_null()
    alg.finish()


def encode_spki(key: RSAPublicKey | RSAPrivateKey) -> bytes:
    """SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING (RSAPublicKey) }."""
    return der.encode_sequence(_encode_algorithm(), der.encode_bit_string(encode_pkcs1_public(key)))


def decode_spki(data: bytes) -> RSAPublicKey:
    """Parse a DER SubjectPublicKeyInfo holding an RSA key."""
    seq = der.read_single(data, "SubjectPublicKeyInfo").read_sequence()
    _read_algorithm(seq)
    inner = seq.read_bit_string()
    seq.finish()
    return decode_pkcs1_public(inner)


def encode_pkcs8(key: RSAPrivateKey) -> bytes:
    """PrivateKeyInfo ::= SEQUENCE { version 0, algorithm, privateKey OCTET STRING (RSAPrivateKey) }."""
    return der.encode_sequence(
        der.encode_integer(0), _encode_algorithm(), der.encode_octet_string(encode_pkcs1_private(key))
    )


def decode_pkcs8(data: bytes) -> RSAPrivateKey:
    """Parse a DER PrivateKeyInfo (v1) or OneAsymmetricKey (v2, RFC 5958) holding an RSA key.

    Optional attributes ``[0]`` and, in v2, the public key ``[1]`` are skipped.
    """
    seq = der.read_single(data, "PKCS#8 PrivateKeyInfo").read_sequence()
    version = seq.read_unsigned("version")
    if version not in (0, 1):
        raise FormatError(f"PKCS#8 PrivateKeyInfo: unknown version {version}")
    _read_algorithm(seq)
    inner = seq.read_octet_string()
    if seq.peek_tag() == der.context_tag(0):
        seq.read()
    if version == 1 and seq.peek_tag() == der.context_tag(1, constructed=False):
        seq.read()
    seq.finish()
    return decode_pkcs1_private(inner)


# --- dumping --------------------------------------------------------------------------------


def dump_public_key(
    key: RSAPublicKey | RSAPrivateKey, encoding: Encoding = "pem", format: PublicFormat = "spki"
) -> bytes:
    """The public key as PEM text (ASCII bytes) or DER, in SPKI (default) or PKCS#1."""
    if format == "spki":
        data, label = encode_spki(key), SPKI_LABEL
    elif format == "pkcs1":
        data, label = encode_pkcs1_public(key), PUBLIC_PKCS1_LABEL
    else:
        raise ValueError(f"unknown public key format {format!r}")
    return _armour(data, label, encoding)


def dump_private_key(
    key: RSAPrivateKey, encoding: Encoding = "pem", format: PrivateFormat = "pkcs8"
) -> bytes:
    """The private key as PEM text (ASCII bytes) or DER, in PKCS#8 (default) or PKCS#1. Unencrypted."""
    if format == "pkcs8":
        data, label = encode_pkcs8(key), PKCS8_LABEL
    elif format == "pkcs1":
        data, label = encode_pkcs1_private(key), PRIVATE_PKCS1_LABEL
    else:
        raise ValueError(f"unknown private key format {format!r}")
    return _armour(data, label, encoding)


def _armour(data: bytes, label: str, encoding: Encoding) -> bytes:
    if encoding == "der":
        return data
    if encoding == "pem":
        return pem.encode(data, label).encode("ascii")
    raise ValueError(f"unknown encoding {encoding!r}")


# --- loading with detection -----------------------------------------------------------------

_PEM_DECODERS: dict[str, Callable[[bytes], RSAPublicKey | RSAPrivateKey]] = {
    PUBLIC_PKCS1_LABEL: decode_pkcs1_public,
    SPKI_LABEL: decode_spki,
    PRIVATE_PKCS1_LABEL: decode_pkcs1_private,
    PKCS8_LABEL: decode_pkcs8,
}


def load_key(data: bytes | str) -> RSAPublicKey | RSAPrivateKey:
    """Load a public or private RSA key from PEM or DER in any of the four formats."""
    if isinstance(data, str) or pem.looks_like_pem(data):
        label, body = pem.decode(data)
        if label == "ENCRYPTED PRIVATE KEY":
            raise FormatError("encrypted private keys are not supported; export the key unencrypted")
        decoder = _PEM_DECODERS.get(label)
        if decoder is None:
            raise FormatError(f"PEM label {label!r} is not an RSA key ({', '.join(_PEM_DECODERS)})")
        return decoder(body)
    if not isinstance(data, bytes | bytearray | memoryview) or bytes(data[:1]) != b"\x30":
        raise FormatError("not an RSA key file: neither PEM (no -----BEGIN line) nor DER (no outer SEQUENCE)")
    return _DER_DECODERS[detect_der_format(data)](data)


def load_public_key(data: bytes | str) -> RSAPublicKey:
    """Load a public key; given a private key, return its public half."""
    key = load_key(data)
    return key.public_key() if isinstance(key, RSAPrivateKey) else key


def load_private_key(data: bytes | str) -> RSAPrivateKey:
    """Load a private key (checked for consistency); a public key is an error."""
    key = load_key(data)
    if not isinstance(key, RSAPrivateKey):
        raise FormatError("this is a public key; a private key is needed")
    return key


def detect_der_format(data: bytes) -> str:
    """``pkcs1-public``, ``pkcs1-private``, ``spki`` or ``pkcs8``, from the shape of the outer SEQUENCE."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise FormatError("DER: expected bytes")
    seq = der.read_single(bytes(data), "RSA key").read_sequence()
    tags: list[int] = []
    while not seq.at_end():
        tags.append(seq.read().tag)
    integer, sequence = der.INTEGER, der.SEQUENCE
    if tags == [integer, integer]:
        return "pkcs1-public"
    if tags == [sequence, der.BIT_STRING]:
        return "spki"
    if len(tags) >= 9 and tags[:9] == [integer] * 9:
        return "pkcs1-private"
    if tags[:3] == [integer, sequence, der.OCTET_STRING]:
        return "pkcs8"
    raise FormatError("DER: not an RSA key in a supported format (PKCS#1, SubjectPublicKeyInfo, PKCS#8)")


_DER_DECODERS: dict[str, Callable[[bytes], RSAPublicKey | RSAPrivateKey]] = {
    "pkcs1-public": decode_pkcs1_public,
    "pkcs1-private": decode_pkcs1_private,
    "spki": decode_spki,
    "pkcs8": decode_pkcs8,
}

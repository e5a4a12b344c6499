"""The certificate document: its fields, the canonical JSON the CA signs, issuing, reading and writing.

A certificate is PEM (``CIPHERCHAT CERTIFICATE``) around canonical JSON
``{"signature": ..., "tbs": {...}}`` (``docs/certificates.md``). Parsing checks the form only, and
every malformed input is one :class:`~chat.e2e.errors.CertificateError` in one line; whether a
certificate is valid for a member is :mod:`chat.e2e.certificates.checks`.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chat.e2e.errors import CertificateError, IdentityError
from chat.e2e.identity import MIN_KEY_BITS, PublicIdentity
from chat.protocol.names import name_problem
from ciphers import pem, strict_base64
from ciphers.elgamal.core import PublicKey as ElGamalPublicKey
from ciphers.elgamal.groups import GROUP_NAMES, find_named, named_group
from ciphers.errors import CryptoError, FormatError, InsecureWarning, InvalidKeyError
from ciphers.rng import RNG, SYSTEM
from ciphers.rsa import formats as rsa_formats
from ciphers.rsa import pss
from ciphers.rsa.keys import RSAPrivateKey, RSAPublicKey

PEM_LABEL = "CIPHERCHAT CERTIFICATE"
CERTIFICATE_TYPE = "cipherchat-certificate"
CERTIFICATE_VERSION = 1
SIGNATURE_ALGORITHM = "rsassa-pss-sha256-mgf1sha256-salt32"
HASH = "sha256"
SALT_LENGTH = 32
SERIAL_BYTES = 16
MIN_CA_BITS = 2048
DEFAULT_DAYS = 365
MAX_DAYS = 3650
MAX_CERTIFICATE_BYTES = 16 * 1024
MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z: every time field must print as ISO 8601
DAY = 86400

TBS_FIELDS = frozenset(
    {
        "alias",
        "issuer",
        "not_after",
        "not_before",
        "serial",
        "signature_algorithm",
        "subject",
        "type",
        "version",
    }
)
SUBJECT_RSA_ONLY = frozenset({"rsa"})
SUBJECT_BOTH = frozenset({"rsa", "elgamal.group", "elgamal.y"})
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX32 = re.compile(r"[0-9a-f]{32}")


def canonical_json(obj: Any) -> bytes:
    """The one encoding that is signed and stored: sorted keys, no whitespace, ASCII only."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def ca_fingerprint(key: RSAPublicKey | RSAPrivateKey) -> str:
    """The issuer name a certificate carries: SHA-256 of the CA's SubjectPublicKeyInfo DER, in hex."""
    return hashlib.sha256(rsa_formats.encode_spki(key)).hexdigest()


def iso8601(seconds: int) -> str:
    """``seconds`` since the epoch as UTC ISO 8601, e.g. ``2025-01-31T12:00:00Z``."""
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Certificate:
    """A parsed certificate. Parsing checks its form only: :func:`check_certificate` checks the rest."""

    serial: str
    alias: str
    rsa: RSAPublicKey = field(repr=False)
    elgamal: ElGamalPublicKey | None = field(repr=False)
    issuer: str
    not_before: int
    not_after: int
    signature: bytes = field(repr=False)

    def subject(self) -> dict[str, str]:
        """The certified keys: RSA as base64 SPKI DER, and the ElGamal group and y when bound."""
        out = {"rsa": strict_base64.encode(rsa_formats.encode_spki(self.rsa))}
        if self.elgamal is not None:
            group = self.elgamal.group
            out["elgamal.group"] = find_named(group) or group.name
            out["elgamal.y"] = strict_base64.encode(group.encode_element(self.elgamal.y))
        return out

    def tbs(self) -> dict[str, Any]:
        """The signed fields, as a JSON object."""
        return {
            "type": CERTIFICATE_TYPE,
            "version": CERTIFICATE_VERSION,
            "serial": self.serial,
            "alias": self.alias,
            "subject": self.subject(),
            "issuer": self.issuer,
            "not_before": self.not_before,
            "not_after": self.not_after,
            "signature_algorithm": SIGNATURE_ALGORITHM,
        }

    def tbs_bytes(self) -> bytes:
        """Exactly the bytes the CA signs: the canonical JSON of :meth:`tbs`."""
        return canonical_json(self.tbs())

    def encode(self) -> str:
        """The certificate file's text: PEM around the canonical JSON of the whole certificate."""
        document = {"tbs": self.tbs(), "signature": strict_base64.encode(self.signature)}
        return pem.encode(canonical_json(document), PEM_LABEL)

    @property
    def identity_fingerprint(self) -> str | None:
        """The certified identity's fingerprint digits (as clients show it), when both keys are bound."""
        if self.elgamal is None:
            return None
        return PublicIdentity(self.rsa, self.elgamal).fingerprint.digits


# --- issuing --------------------------------------------------------------------------------


def issue(
    ca_key: RSAPrivateKey,
    alias: str,
    subject: PublicIdentity | RSAPublicKey,
    *,
    days: int = DEFAULT_DAYS,
    now: float | None = None,
    rng: RNG = SYSTEM,
) -> Certificate:
    """Certify ``subject`` (a whole identity, or its RSA key only) for ``alias``, valid ``days`` from now."""
    problem = name_problem(alias, "alias")
    if problem is not None:
        raise ValueError(problem)
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"validity must be 1 to {MAX_DAYS} days, got {days}")
    check_ca_bits(ca_key)
    rsa, elgamal = (subject.rsa, subject.elgamal) if isinstance(subject, PublicIdentity) else (subject, None)
    if rsa.bits < MIN_KEY_BITS:
        raise InvalidKeyError(
            f"the subject's RSA key has {rsa.bits} bits; chat identities need {MIN_KEY_BITS}"
        )
    start = int(time.time() if now is None else now)
    unsigned = Certificate(
        serial=rng.bytes(SERIAL_BYTES).hex(),
        alias=alias,
        rsa=rsa,
        elgamal=elgamal,
        issuer=ca_fingerprint(ca_key),
        not_before=start,
        not_after=start + days * DAY,
        signature=b"",
    )
    if unsigned.not_after > MAX_TIME:
        raise ValueError("the validity period ends after the year 9999")
    signature = pss.sign(
        ca_key, unsigned.tbs_bytes(), hash_name=HASH, salt_length=SALT_LENGTH, mgf_hash=HASH, rng=rng
    )
    return dataclasses.replace(unsigned, signature=signature)


def check_ca_bits(key: RSAPublicKey | RSAPrivateKey) -> None:
    if key.bits < MIN_CA_BITS:
        raise InvalidKeyError(f"a CA key needs at least {MIN_CA_BITS} bits, this one has {key.bits}")


# --- loading --------------------------------------------------------------------------------


def load_certificate(data: bytes | str) -> Certificate:
    """Parse a certificate (the file's text, or the string a member joined with); CertificateError if bad."""
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise CertificateError(f"certificate: larger than {MAX_CERTIFICATE_BYTES} bytes")
    try:
        blocks = pem.decode_all(data)
    except FormatError as exc:
        raise CertificateError(str(exc)) from None
    if [label for label, _ in blocks] != [PEM_LABEL]:
        found = ", ".join(repr(label) for label, _ in blocks)
        raise CertificateError(f"certificate: expected one PEM block labelled {PEM_LABEL!r}, found {found}")
    body = blocks[0][1]
    try:
        document = json.loads(body.decode("ascii"))
        canonical = canonical_json(document)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CertificateError("certificate: the PEM body is not ASCII JSON") from None
    if not isinstance(document, dict) or set(document) != {"signature", "tbs"}:
        raise CertificateError(
            "certificate: expected a JSON object with exactly the fields signature and tbs"
        )
    if canonical != body:
        raise CertificateError("certificate: JSON not in canonical form (sorted keys, no whitespace)")
    tbs = document["tbs"]
    if not isinstance(tbs, dict) or set(tbs) != TBS_FIELDS:
        raise CertificateError(
            f"certificate: tbs must be an object with exactly the fields {', '.join(sorted(TBS_FIELDS))}"
        )
    if tbs["type"] != CERTIFICATE_TYPE:
        raise CertificateError(f"certificate: type is not {CERTIFICATE_TYPE!r}")
    if _integer(tbs["version"]) != CERTIFICATE_VERSION:
        raise CertificateError(f"certificate: version {_shown(tbs['version'])} is not supported (only 1)")
    if tbs["signature_algorithm"] != SIGNATURE_ALGORITHM:
        raise CertificateError(
            f"certificate: signature algorithm {_shown(tbs['signature_algorithm'])} is not supported"
        )
    serial = _matching(tbs["serial"], _HEX32, "serial", "32 lowercase hex digits")
    issuer = _matching(tbs["issuer"], _HEX64, "issuer", "64 lowercase hex digits")
    alias = tbs["alias"]
    problem = name_problem(alias, "alias") if isinstance(alias, str) else "alias must be a string"
    if problem is not None:
        raise CertificateError(f"certificate: {problem}")
    not_before, not_after = _time(tbs["not_before"], "not_before"), _time(tbs["not_after"], "not_after")
    if not_after <= not_before:
        raise CertificateError("certificate: not_after is not later than not_before")
    rsa, elgamal = _read_subject(tbs["subject"])
    signature = _base64(document["signature"], "signature")
    if not signature:
        raise CertificateError("certificate: the signature is empty")
    return Certificate(serial, alias, rsa, elgamal, issuer, not_before, not_after, signature)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _integer(value: object) -> int | None:
    return value if type(value) is int else None


def _matching(value: object, pattern: re.Pattern[str], what: str, rule: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise CertificateError(f"certificate: {what} must be {rule}")
    return value


def _time(value: object, what: str) -> int:
    seconds = _integer(value)
    if seconds is None or not 0 <= seconds <= MAX_TIME:
        raise CertificateError(
            f"certificate: {what} must be whole seconds since 1970 (UTC), up to the year 9999"
        )
    return seconds


def _base64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise CertificateError(f"certificate: {what} must be a base64 string")
    try:
        return strict_base64.decode(value)
    except FormatError as exc:
        raise CertificateError(f"certificate: {what} is {exc}") from None


def _read_subject(subject: object) -> tuple[RSAPublicKey, ElGamalPublicKey | None]:
    if not isinstance(subject, dict) or set(subject) not in (SUBJECT_RSA_ONLY, SUBJECT_BOTH):
        raise CertificateError(
            "certificate: subject must hold rsa, and optionally elgamal.group and elgamal.y"
        )
    spki = _base64(subject["rsa"], "subject rsa")
    try:
        rsa = rsa_formats.decode_spki(spki)
    except (FormatError, InvalidKeyError) as exc:
        raise CertificateError(f"certificate: subject RSA key: {exc}") from None
    if set(subject) == SUBJECT_RSA_ONLY:
        return rsa, None
    name = subject["elgamal.group"]
    if not isinstance(name, str) or name not in GROUP_NAMES:
        raise CertificateError("certificate: subject elgamal.group is not a built-in group")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        group = named_group(name)
    raw = _base64(subject["elgamal.y"], "subject elgamal.y")
    if len(raw) != group.element_bytes:
        raise CertificateError("certificate: subject elgamal.y has the wrong length for its group")
    try:
        return rsa, ElGamalPublicKey(group, int.from_bytes(raw, "big"))
    except InvalidKeyError as exc:
        raise CertificateError(f"certificate: subject ElGamal key: {exc}") from None


def load_subject(data: bytes | str) -> PublicIdentity | RSAPublicKey:
    """The keys to certify: a member's ``identity.json`` (or bare identity map), or an RSA public key file.

    From an identity both keys are bound; from an RSA key (PEM or DER) that key only.
    """
    start = (data if isinstance(data, str) else data.decode("latin-1")).lstrip()[:1]
    if start == "{":
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError):
            raise CertificateError("identity file: not valid JSON") from None
        wire = obj.get("identity", obj) if isinstance(obj, dict) else None
        if not isinstance(wire, dict) or not all(isinstance(v, str) for v in wire.values()):
            raise CertificateError("identity file: expected identity.json or an identity map of strings")
        try:
            return PublicIdentity.from_wire(wire)
        except IdentityError as exc:
            raise CertificateError(f"identity file: {exc}") from None
    try:
        return rsa_formats.load_public_key(data)
    except (FormatError, InvalidKeyError) as exc:
        raise CertificateError(f"subject key: {exc}") from None


def load_ca_public_key(data: bytes | str) -> RSAPublicKey:
    """The CA's public key from PEM or DER (a private key file gives its public half)."""
    try:
        key = rsa_formats.load_public_key(data)
    except (FormatError, InvalidKeyError) as exc:
        raise CertificateError(f"CA key: {exc}") from None
    check_ca_bits(key)
    return key


def read_ca_public_key(path: str | Path) -> RSAPublicKey:
    """:func:`load_ca_public_key` of a file, naming the file in any error (``--ca CA.pub.pem``)."""
    try:
        return load_ca_public_key(Path(path).read_bytes())
    except CryptoError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def read_certificate(path: str | Path) -> Certificate:
    """:func:`load_certificate` of a file, naming the file in any error (``--cert FILE``)."""
    data = Path(path).read_bytes()
    try:
        return load_certificate(data)
    except CertificateError as exc:
        raise CertificateError(f"{path}: {exc}") from None


def save_certificate(certificate: Certificate, path: str | Path) -> None:
    """Write ``certificate`` to ``path`` (public: mode 0644 by the umask)."""
    Path(path).write_text(certificate.encode(), "ascii")

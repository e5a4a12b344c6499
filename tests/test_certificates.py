"""Certificates: the documented format built independently, every failure reason, malformed input,
differential checks with ``cryptography`` both ways, and the authorizer in front of a real relay
(inside the relay's admission, after the proof of possession)."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given
from hypothesis import strategies as st

from chat.e2e.admission import JoinAdmission
from chat.e2e.certificates import (
    CertificateState,
    ca_fingerprint,
    certificate_problem,
    check_signature,
    issue,
    load_ca_public_key,
    load_certificate,
    load_subject,
    make_authorizer,
    read_ca_public_key,
    read_certificate,
    save_certificate,
    verify_member,
)
from chat.protocol.events import JoinFrame, Member
from ciphers.errors import FormatError, InsecureWarning, InvalidKeyError, VerificationError
from ciphers.rng import DeterministicRNG, FixedRNG
from ciphers.rsa import formats
from ciphers.rsa.keys import RSAPrivateKey, generate
from tests.chat_net import run as run_async
from tests.chat_support import identity, wire
from tests.test_server import WireClient, running

NOW = 1_750_000_000  # 2025-06-15T15:06:40Z
DAY = 86400
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


@functools.cache
def ca_key(name: str = "ca", bits: int = 2048) -> RSAPrivateKey:
    """A reproducible CA key per name, generated once per test process (small ones warn: expected)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return generate(bits, rng=DeterministicRNG(f"test-certificate-authority-{name}"))


def certify(alias: str = "alice", who: str = "alice", *, ca: str = "ca", rsa_only: bool = False) -> str:
    """The certificate text for ``who``'s identity under ``alias``, valid 30 days from NOW."""
    public = identity(who).public
    subject = public.rsa if rsa_only else public
    return issue(ca_key(ca), alias, subject, days=30, now=NOW, rng=DeterministicRNG(alias)).encode()


def member(alias: str = "alice", who: str = "alice", certificate: str | None = None) -> Member:
    return Member(alias, wire(who), certificate, nonce=bytes(16))


def armour(document: Any) -> str:
    """PEM around compact sorted JSON, written from docs/certificates.md without our code."""
    body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    lines = textwrap.wrap(base64.b64encode(body).decode(), 64)
    return "\n".join(
        ["-----BEGIN CIPHERCHAT CERTIFICATE-----", *lines, "-----END CIPHERCHAT CERTIFICATE-----"]
    )


def unarmour(text: str) -> dict[str, Any]:
    body = "".join(text.strip().splitlines()[1:-1])
    document: dict[str, Any] = json.loads(base64.b64decode(body))
    return document


def theirs(key: RSAPrivateKey) -> rsa.RSAPrivateKey:
    """The same key as a ``cryptography`` object."""
    loaded = serialization.load_pem_private_key(formats.dump_private_key(key), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


def spki_der(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# --- the format, built independently ------------------------------------------------------------


def test_tbs_is_the_documented_canonical_json() -> None:
    """Every field written by hand from the specification; the keys' encodings come from cryptography."""
    public = identity("alice").public
    ca = theirs(ca_key())
    subject_spki = serialization.load_pem_public_key(public.rsa_pem().encode())
    assert isinstance(subject_spki, rsa.RSAPublicKey)
    serial = bytes(range(16))
    certificate = issue(
        ca_key(), "Alice", public, days=30, now=NOW + 0.75, rng=FixedRNG(serial, DeterministicRNG(0))
    )
    y = wire("alice")["elgamal.y"]
    expected = (
        '{"alias":"Alice",'
        f'"issuer":"{hashlib.sha256(spki_der(ca.public_key())).hexdigest()}",'
        f'"not_after":{NOW + 30 * DAY},"not_before":{NOW},'
        '"serial":"000102030405060708090a0b0c0d0e0f",'
        '"signature_algorithm":"rsassa-pss-sha256-mgf1sha256-salt32",'
        f'"subject":{{"elgamal.group":"ffdhe2048","elgamal.y":"{y}",'
        f'"rsa":"{base64.b64encode(spki_der(subject_spki)).decode()}"}},'
        '"type":"cipherchat-certificate","version":1}'
    )
    assert certificate.tbs_bytes() == expected.encode()
    document = unarmour(certificate.encode())
    assert document == {
        "signature": base64.b64encode(certificate.signature).decode(),
        "tbs": json.loads(expected),
    }


def test_round_trip_through_the_file_text() -> None:
    text = certify()
    loaded = load_certificate(text)
    assert loaded.encode() == text
    assert (loaded.alias, loaded.not_before, loaded.not_after) == ("alice", NOW, NOW + 30 * DAY)
    assert loaded.rsa == identity("alice").public.rsa
    assert loaded.elgamal == identity("alice").public.elgamal
    assert loaded.identity_fingerprint == identity("alice").fingerprint.digits
    assert loaded.issuer == ca_fingerprint(ca_key().public_key())
    check_signature(loaded, ca_key().public_key())


def test_rsa_only_certificate_round_trip() -> None:
    loaded = load_certificate(certify(rsa_only=True))
    assert loaded.elgamal is None and loaded.identity_fingerprint is None
    assert set(unarmour(loaded.encode())["tbs"]["subject"]) == {"rsa"}


def test_serials_are_random() -> None:
    public = identity("alice").public
    serials = {issue(ca_key(), "alice", public, now=NOW).serial for _ in range(3)}
    assert len(serials) == 3 and all(len(s) == 32 for s in serials)


def test_save_and_read(tmp_path: Path) -> None:
    certificate = load_certificate(certify())
    path = tmp_path / "alice.cert"
    save_certificate(certificate, path)
    assert read_certificate(path) == certificate
    path.write_text("junk")
    with pytest.raises(FormatError, match=rf"^{path}: PEM: no -----BEGIN"):
        read_certificate(path)


# --- differential: cryptography ----------------------------------------------------------------


def test_signature_verifies_with_cryptography() -> None:
    certificate = load_certificate(certify())
    public = theirs(ca_key()).public_key()
    public.verify(certificate.signature, certificate.tbs_bytes(), PSS, hashes.SHA256())
    with pytest.raises(InvalidSignature):
        public.verify(certificate.signature, certificate.tbs_bytes() + b" ", PSS, hashes.SHA256())
    wrong_salt = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=20)
    with pytest.raises(InvalidSignature):
        public.verify(certificate.signature, certificate.tbs_bytes(), wrong_salt, hashes.SHA256())


def test_a_certificate_made_with_cryptography_verifies_with_ours() -> None:
    """A CA written from the documentation alone: cryptography signs, json and base64 encode."""
    ca = theirs(ca_key("other"))
    tbs = {
        "type": "cipherchat-certificate",
        "version": 1,
        "serial": "ff" * 16,
        "alias": "bob",
        "subject": {"rsa": base64.b64encode(spki_der(_their_public("bob"))).decode()},
        "issuer": hashlib.sha256(spki_der(ca.public_key())).hexdigest(),
        "not_before": NOW,
        "not_after": NOW + DAY,
        "signature_algorithm": "rsassa-pss-sha256-mgf1sha256-salt32",
    }
    signed = json.dumps(tbs, sort_keys=True, separators=(",", ":")).encode()
    signature = ca.sign(signed, PSS, hashes.SHA256())
    text = armour({"tbs": tbs, "signature": base64.b64encode(signature).decode()})
    status = verify_member(member("bob", "bob", text), ca_key("other").public_key(), NOW)
    assert status.state is CertificateState.VALID, status.reason
    assert status.label == "certified (RSA key only)"
    assert not verify_member(member("bob", "bob", text), ca_key().public_key(), NOW).ok


def _their_public(who: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(identity(who).public.rsa_pem().encode())
    assert isinstance(key, rsa.RSAPublicKey)
    return key


# --- verification: each outcome ------------------------------------------------------------------


def test_valid_member() -> None:
    status = verify_member(member(certificate=certify()), ca_key().public_key(), NOW + 5)
    assert status.state is CertificateState.VALID and status.ok
    assert status.reason == "certified for alice until 2025-07-15T15:06:40Z"
    assert status.label == "certified"
    assert status.certificate is not None and status.certificate.alias == "alice"


@pytest.mark.parametrize(
    ("joined_as", "certified_as"), [("ALICE", "alice"), ("alice", "Alice"), ("AlIcE", "aLiCe")]
)
def test_alias_matches_ignoring_case(joined_as: str, certified_as: str) -> None:
    status = verify_member(member(joined_as, certificate=certify(certified_as)), ca_key().public_key(), NOW)
    assert status.ok, status.reason


def test_validity_bounds_are_inclusive_start_exclusive_end() -> None:
    presented = member(certificate=certify())
    ca = ca_key().public_key()
    assert verify_member(presented, ca, NOW).ok
    assert verify_member(presented, ca, NOW + 30 * DAY - 1).ok
    assert not verify_member(presented, ca, NOW - 1).ok
    assert not verify_member(presented, ca, NOW + 30 * DAY).ok


def _tampered(change: Callable[[dict[str, Any]], None]) -> str:
    document = unarmour(certify())
    change(document)
    return armour(document)


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda document: document["tbs"].__setitem__(key, value)


def _other_signature(document: dict[str, Any]) -> None:
    document["signature"] = unarmour(certify("alice", "alice", ca="other"))["signature"]


def _subject_key(who: str) -> Callable[[dict[str, Any]], None]:
    return lambda document: document["tbs"]["subject"].__setitem__("rsa", _spki_b64(who))


def _spki_b64(who: str) -> str:
    return base64.b64encode(formats.encode_spki(identity(who).public.rsa)).decode()


def _issuer_claimed(document: dict[str, Any]) -> None:
    """Signed by the other CA, but naming ours as its issuer."""
    document["tbs"]["issuer"] = ca_fingerprint(ca_key())


FAILURES: list[tuple[str, Member, float, str]] = [
    ("no-certificate", member(), NOW, "no certificate"),
    ("wrong-ca", member(certificate=certify(ca="other")), NOW, "certificate is from another CA (issuer "),
    (
        "tampered-alias",
        member("mallory", certificate=_tampered(_set("alias", "mallory"))),
        NOW,
        "certificate signature invalid",
    ),
    (
        "tampered-not-after",
        member(certificate=_tampered(_set("not_after", NOW + 9999 * DAY))),
        NOW,
        "certificate signature invalid",
    ),
    (
        "tampered-serial",
        member(certificate=_tampered(_set("serial", "0" * 32))),
        NOW,
        "certificate signature invalid",
    ),
    (
        "tampered-subject",
        member(who="bob", certificate=_tampered(_subject_key("bob"))),
        NOW,
        "certificate signature invalid",
    ),
    (
        "signature-of-other-ca",
        member(certificate=_tampered(_other_signature)),
        NOW,
        "certificate signature invalid",
    ),
    (
        "wrong-alias",
        member("bob", certificate=certify("alice")),
        NOW,
        "certificate is for alias 'alice', not 'bob'",
    ),
    (
        "wrong-rsa-key",
        member("alice", "bob", certify("alice")),
        NOW,
        "certificate key does not match identity (RSA key)",
    ),
    ("expired", member(certificate=certify()), NOW + 31 * DAY, "certificate expired at 2025-07-15T15:06:40Z"),
    (
        "not-yet-valid",
        member(certificate=certify()),
        NOW - DAY,
        "certificate not valid before 2025-06-15T15:06:40Z",
    ),
    (
        "malformed",
        member(
            certificate="-----BEGIN CIPHERCHAT CERTIFICATE-----\n!!\n-----END CIPHERCHAT CERTIFICATE-----"
        ),
        NOW,
        "certificate malformed: PEM: the 'CIPHERCHAT CERTIFICATE' block is not valid base64",
    ),
    (
        "identity-unusable",
        Member("alice", {"rsa": "nonsense"}, certify(), nonce=bytes(16)),
        NOW,
        "identity not usable: identity must have exactly",
    ),
]


@pytest.mark.parametrize(
    ("presented", "now", "reason"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES]
)
def test_each_failure_has_its_reason(presented: Member, now: float, reason: str) -> None:
    status = verify_member(presented, ca_key().public_key(), now)
    assert not status.ok
    assert status.state is (
        CertificateState.MISSING if presented.certificate is None else CertificateState.INVALID
    )
    assert status.reason.startswith(reason), status.reason
    assert "\n" not in status.reason
    assert status.label == status.reason


def test_issuer_claimed_but_signed_by_another_ca() -> None:
    forged = _tampered_other(_issuer_claimed)
    status = verify_member(member(certificate=forged), ca_key().public_key(), NOW)
    assert status.reason == "certificate signature invalid"


def _tampered_other(change: Callable[[dict[str, Any]], None]) -> str:
    document = unarmour(certify(ca="other"))
    change(document)
    return armour(document)


def test_elgamal_key_substituted_under_a_genuine_rsa_key() -> None:
    """A relay keeping alice's RSA key but swapping in its own ElGamal key is caught by a full certificate."""
    swapped = {**wire("alice"), "elgamal.y": wire("mallory")["elgamal.y"]}
    full = verify_member(Member("alice", swapped, certify(), nonce=bytes(16)), ca_key().public_key(), NOW)
    assert full.reason == "certificate key does not match identity (ElGamal key)"
    rsa_only = verify_member(
        Member("alice", swapped, certify(rsa_only=True), nonce=bytes(16)), ca_key().public_key(), NOW
    )
    assert rsa_only.ok and rsa_only.label == "certified (RSA key only)"


def test_problem_without_alias_or_subject_checks_only_ca_and_time() -> None:
    certificate = load_certificate(certify())
    ca = ca_key().public_key()
    assert certificate_problem(certificate, ca, now=NOW) is None
    assert certificate_problem(certificate, ca, now=NOW, subject=identity("alice").public.rsa) is None
    assert certificate_problem(certificate, ca, now=NOW, subject=identity("bob").public.rsa) == (
        "certificate key does not match identity (RSA key)"
    )
    with pytest.raises(VerificationError):
        check_signature(certificate, ca_key("other").public_key())


@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_no_single_byte_change_is_accepted(position: int, value: int) -> None:
    """Change one byte of the JSON: either the text no longer parses, or the certificate is refused."""
    text = certify()
    body = bytearray(base64.b64decode("".join(text.strip().splitlines()[1:-1])))
    index = position % len(body)
    if body[index] == value:
        value ^= 0x01
    body[index] = value
    lines = textwrap.wrap(base64.b64encode(bytes(body)).decode(), 64)
    changed = "\n".join(
        ["-----BEGIN CIPHERCHAT CERTIFICATE-----", *lines, "-----END CIPHERCHAT CERTIFICATE-----"]
    )
    status = verify_member(member(certificate=changed), ca_key().public_key(), NOW)
    assert not status.ok


# --- malformed input -------------------------------------------------------------------------------


def _valid() -> dict[str, Any]:
    return unarmour(certify())


def _with(path: tuple[str, ...], value: Any = None, *, delete: bool = False) -> str:
    document = _valid()
    target = document
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return armour(document)


def _pem(body: bytes, label: str = "CIPHERCHAT CERTIFICATE") -> str:
    lines = textwrap.wrap(base64.b64encode(body).decode(), 64)
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])


MALFORMED: list[tuple[str, str, str]] = [
    ("empty", "", "PEM: no -----BEGIN"),
    ("not-pem", "hello", "PEM: no -----BEGIN"),
    (
        "wrong-label",
        _pem(b"{}", "CERTIFICATE"),
        "expected one PEM block labelled 'CIPHERCHAT CERTIFICATE', found 'CERTIFICATE'",
    ),
    ("two-blocks", certify() + "\n" + certify(), "expected one PEM block"),
    ("not-json", _pem(b"not json"), "the PEM body is not ASCII JSON"),
    ("not-ascii", _pem('{"x":"\u00e9"}'.encode()), "not ASCII JSON"),
    ("deep-nesting", _pem(b"[" * 5000 + b"]" * 5000), "not ASCII JSON"),
    ("json-list", _pem(b"[]"), "exactly the fields signature and tbs"),
    ("extra-top-field", armour({**_valid(), "note": "x"}), "exactly the fields signature and tbs"),
    ("whitespace", _pem(json.dumps(_valid(), sort_keys=True).encode()), "not in canonical form"),
    (
        "unsorted",
        _pem(json.dumps(dict(reversed(_valid().items())), separators=(",", ":")).encode()),
        "canonical",
    ),
    ("missing-alias", _with(("tbs", "alias"), delete=True), "tbs must be an object with exactly the fields"),
    ("extra-tbs-field", _with(("tbs", "comment"), "hi"), "tbs must be an object with exactly the fields"),
    ("wrong-type", _with(("tbs", "type"), "x509"), "type is not 'cipherchat-certificate'"),
    ("version-2", _with(("tbs", "version"), 2), "version 2 is not supported"),
    ("version-true", _with(("tbs", "version"), True), "version True is not supported"),
    ("version-string", _with(("tbs", "version"), "1"), "version '1' is not supported"),
    (
        "other-algorithm",
        _with(("tbs", "signature_algorithm"), "rsa-pkcs1-sha1"),
        "signature algorithm 'rsa-pkcs1-sha1' is not supported",
    ),
    ("serial-short", _with(("tbs", "serial"), "abc"), "serial must be 32 lowercase hex digits"),
    ("serial-upper", _with(("tbs", "serial"), "AB" * 16), "serial must be 32 lowercase hex digits"),
    ("issuer-int", _with(("tbs", "issuer"), 7), "issuer must be 64 lowercase hex digits"),
    ("alias-space", _with(("tbs", "alias"), "a b"), "alias may hold only letters"),
    ("alias-empty", _with(("tbs", "alias"), ""), "alias must not be empty"),
    ("alias-int", _with(("tbs", "alias"), 5), "alias must be a string"),
    ("time-float", _with(("tbs", "not_before"), 1.5), "not_before must be whole seconds"),
    ("time-negative", _with(("tbs", "not_before"), -1), "not_before must be whole seconds"),
    ("time-huge", _with(("tbs", "not_after"), 10**20), "not_after must be whole seconds"),
    ("time-reversed", _with(("tbs", "not_after"), NOW - 1), "not_after is not later than not_before"),
    ("subject-empty", _with(("tbs", "subject"), {}), "subject must hold rsa"),
    ("subject-half-elgamal", _with(("tbs", "subject", "elgamal.y"), delete=True), "subject must hold rsa"),
    ("subject-rsa-not-base64", _with(("tbs", "subject", "rsa"), "***"), "subject rsa is not valid base64"),
    (
        "subject-rsa-not-canonical",
        _with(("tbs", "subject", "rsa"), "QR=="),
        "subject rsa is not canonical base64",
    ),
    ("subject-rsa-not-spki", _with(("tbs", "subject", "rsa"), "MAA="), "subject RSA key:"),
    (
        "subject-unknown-group",
        _with(("tbs", "subject", "elgamal.group"), "ffdhe1"),
        "elgamal.group is not a built-in group",
    ),
    ("subject-y-short", _with(("tbs", "subject", "elgamal.y"), "AAEC"), "elgamal.y has the wrong length"),
    (
        "subject-y-one",
        _with(("tbs", "subject", "elgamal.y"), base64.b64encode((1).to_bytes(256, "big")).decode()),
        "subject ElGamal key: public key y must be",
    ),
    ("signature-not-base64", _with(("signature",), "%%"), "signature is not valid base64"),
    ("signature-empty", _with(("signature",), ""), "the signature is empty"),
    ("oversized", "A" * 20000, "larger than 16384 bytes"),
]


@pytest.mark.parametrize(("text", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_certificates_raise_one_line_format_errors(text: str, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        load_certificate(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    status = verify_member(member(certificate=text), ca_key().public_key(), NOW)
    assert status.state is CertificateState.INVALID and status.reason.startswith("certificate malformed: ")


@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_garbage_never_escapes_as_anything_but_format_error(data: bytes | str) -> None:
    for candidate in (data, _pem(data.encode() if isinstance(data, str) else data)):
        try:
            load_certificate(candidate)
        except FormatError:
            continue
        raise AssertionError(f"accepted {candidate!r}")


def test_bytes_are_accepted_as_well_as_text() -> None:
    assert load_certificate(certify().encode()) == load_certificate(certify())


# --- keys: CA and subject ----------------------------------------------------------------------------


def test_ca_public_key_loading(tmp_path: Path) -> None:
    ca = ca_key().public_key()
    assert load_ca_public_key(formats.dump_public_key(ca)) == ca
    assert load_ca_public_key(formats.dump_public_key(ca, "der")) == ca
    assert load_ca_public_key(formats.dump_private_key(ca_key())) == ca
    with pytest.raises(FormatError, match=r"^CA key: PEM label 'CIPHERCHAT CERTIFICATE' is not an RSA key"):
        load_ca_public_key(certify())
    with pytest.raises(FormatError, match=r"^CA key: not an RSA key file"):
        load_ca_public_key(b"garbage")
    with pytest.raises(InvalidKeyError, match="a CA key needs at least 2048 bits, this one has 1024"):
        load_ca_public_key(formats.dump_public_key(ca_key("small", 1024)))
    path = tmp_path / "ca.pub.pem"
    path.write_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(FormatError, match=rf"^{path}: CA key: "):
        read_ca_public_key(path)


def test_small_keys_are_refused() -> None:
    small = ca_key("small", 1024)
    with pytest.raises(InvalidKeyError, match="a CA key needs at least 2048 bits"):
        make_authorizer(small.public_key())
    with pytest.raises(InvalidKeyError, match="a CA key needs at least 2048 bits"):
        issue(small, "alice", identity("alice").public)
    with pytest.raises(
        InvalidKeyError, match="the subject's RSA key has 1024 bits; chat identities need 2048"
    ):
        issue(ca_key(), "alice", small.public_key())


@pytest.mark.parametrize(
    ("alias", "days", "message"),
    [
        ("a b", 30, "alias may hold only"),
        ("", 30, "alias must not be empty"),
        ("alice", 0, "1 to 3650 days"),
        ("alice", 3651, "1 to 3650 days"),
    ],
    ids=["alias-space", "alias-empty", "days-0", "days-3651"],
)
def test_issue_refuses_bad_arguments(alias: str, days: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        issue(ca_key(), alias, identity("alice").public, days=days)


def test_load_subject_from_each_kind_of_file(tmp_path: Path) -> None:
    public = identity("alice").public
    identity("alice").save(tmp_path / "alice")
    assert load_subject((tmp_path / "alice" / "identity.json").read_bytes()) == public
    assert load_subject(json.dumps(public.to_wire())) == public
    assert load_subject(public.rsa_pem()) == public.rsa
    assert load_subject(formats.dump_public_key(public.rsa, "der")) == public.rsa
    for bad, message in [
        (b"{not json", "identity file: not valid JSON"),
        (b'{"identity": 5}', "identity file: expected identity.json"),
        (b'{"v": "1"}', "identity file: identity must have exactly"),
        (b"nothing", "subject key: not an RSA key file"),
    ]:
        with pytest.raises(FormatError, match=message):
            load_subject(bad)


# --- the authorizer ----------------------------------------------------------------------------------


def _join(alias: str = "alice", who: str = "alice", certificate: str | None = None) -> JoinFrame:
    return JoinFrame(alias=alias, room="lobby", identity=wire(who), certificate=certificate, nonce=bytes(16))


def test_authorizer_admits_and_refuses_with_the_clock_it_is_given() -> None:
    clock = [float(NOW)]
    authorize = make_authorizer(ca_key().public_key(), now=lambda: clock[0])
    assert authorize(_join(certificate=certify())) is None
    assert authorize(_join("ALICE", certificate=certify())) is None
    assert authorize(_join()) == "no certificate"
    assert authorize(_join("bob", "bob", certify())) == "certificate is for alias 'alice', not 'bob'"
    assert authorize(_join("alice", "bob", certify())) == "certificate key does not match identity (RSA key)"
    clock[0] = NOW + 30 * DAY
    assert authorize(_join(certificate=certify())) == "certificate expired at 2025-07-15T15:06:40Z"


def test_the_relay_refuses_joins_without_a_valid_certificate() -> None:
    """A real relay on 127.0.0.1 with the admission of ``--ca`` as its hook, spoken to in raw frames.

    Each joiner proves possession of the identity it presents, so what is refused is the
    certificate alone.
    """
    clock = [float(NOW)]
    admission = JoinAdmission(ca_key().public_key(), now=lambda: clock[0])

    def join_as(alias: str, who: str, certificate: str | None = None) -> dict[str, Any]:
        fields: dict[str, Any] = {"identity": dict(wire(who)), "signer": identity(who)}
        return fields if certificate is None else {**fields, "certificate": certificate}

    async def scenario() -> None:
        async with running(admission=admission) as server:
            mallory = await WireClient.connect(server.port)
            attempts = [
                ("mallory", join_as("mallory", "mallory"), "no certificate"),
                (
                    "alice",
                    join_as("alice", "mallory", certify()),
                    "certificate key does not match identity (RSA key)",
                ),
                (
                    "bob",
                    join_as("bob", "bob", certify("bob", "bob", ca="other")),
                    "certificate is from another CA",
                ),
                (
                    "mallory",
                    join_as("mallory", "mallory", _tampered(_set("alias", "mallory"))),
                    "certificate signature",
                ),
            ]
            for alias, fields, reason in attempts:
                error = await mallory.ask(alias, **fields)
                assert error["type"] == "error" and error["code"] == "unauthorized", error
                assert error["message"].startswith(reason), error
                assert error["ref"] == "join" and not error["fatal"]
            assert server.rooms.names() == []

            alice = await WireClient.connect(server.port)
            welcome = await alice.join("Alice", **join_as("alice", "alice", certify("alice")))
            assert welcome["you"] == "Alice" and welcome["members"] == []
            bob = await WireClient.connect(server.port)
            welcome = await bob.join("bob", **join_as("bob", "bob", certify("bob", "bob")))
            joined = await alice.expect("member_joined")

            # What each client checks for itself, from the frames the relay delivered.
            ca = ca_key().public_key()
            seen_by_bob = Member.from_dict("welcome", welcome["members"][0], server.config.limits)
            seen_by_alice = Member.from_dict("member_joined", joined["member"], server.config.limits)
            assert verify_member(seen_by_bob, ca, clock[0]).ok
            assert verify_member(seen_by_alice, ca, clock[0]).label == "certified"

            clock[0] = NOW + 31 * DAY
            carol = await WireClient.connect(server.port)
            error = await carol.ask("carol", **join_as("carol", "carol", certify("carol", "carol")))
            assert (error["code"], error["message"]) == (
                "unauthorized",
                "certificate expired at 2025-07-15T15:06:40Z",
            )
            for client in (mallory, alice, bob, carol):
                await client.close()

    run_async(scenario)


# --- what this module depends on ------------------------------------------------------------


def test_checks_take_plain_values_and_know_no_protocol_type() -> None:
    """A join frame or a member entry fits :class:`Presented`; so does any object with the three fields."""
    from dataclasses import dataclass

    from tests.test_layers import MODULES, imports

    package = [path for name, path in MODULES.items() if name.startswith("chat.e2e.certificates")]
    assert len(package) == 3
    found = {m for path in package for m in imports(path) if m.startswith("chat.protocol")}
    assert found == {"chat.protocol.names"}

    @dataclass(frozen=True)
    class Presented:
        alias: str
        identity: dict[str, str]
        certificate: str | None

    ca = ca_key().public_key()
    assert verify_member(Presented("alice", dict(wire("alice")), certify()), ca, NOW).ok
    assert (
        make_authorizer(ca, now=lambda: NOW)(Presented("alice", dict(wire("alice")), None))
        == "no certificate"
    )


def test_certificate_errors_are_end_to_end_errors_and_format_errors() -> None:
    from chat.e2e.errors import CertificateError, E2EError, FieldError, IdentityError

    with pytest.raises(CertificateError) as caught:
        load_certificate("not a certificate")
    assert isinstance(caught.value, E2EError) and isinstance(caught.value, FormatError)
    assert str(caught.value) == "PEM: no -----BEGIN ...----- line found"
    assert issubclass(FieldError, E2EError) and issubclass(IdentityError, E2EError)
    assert issubclass(E2EError, ValueError)

"""Whether a certificate is valid for a member, now: the checks, in order, and what a client shows.

Nothing a certificate says is believed before its signature is checked: the issuer, then the CA's
RSA-PSS signature, then the alias, then the keys, then the validity period
(:func:`certificate_problem`; ``docs/certificates.md``). The relay's hook
(:func:`make_authorizer`) and the client's member list (:func:`verify_member`) take what a member
presents as plain values (:class:`Presented`: a protocol join frame or member entry fits), so this
module knows no protocol type.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from chat.e2e.certificates.document import (
    HASH,
    SALT_LENGTH,
    Certificate,
    ca_fingerprint,
    check_ca_bits,
    iso8601,
    load_certificate,
)
from chat.e2e.errors import CertificateError, IdentityError
from chat.e2e.identity import PublicIdentity
from chat.protocol.names import name_key
from ciphers.elgamal.core import PublicKey as ElGamalPublicKey
from ciphers.errors import VerificationError
from ciphers.rsa import pss
from ciphers.rsa.keys import RSAPublicKey


def check_signature(certificate: Certificate, ca: RSAPublicKey) -> None:
    """RSASSA-PSS-VERIFY of the canonical tbs under the CA key; VerificationError unless valid."""
    pss.verify(
        ca,
        certificate.tbs_bytes(),
        certificate.signature,
        hash_name=HASH,
        salt_length=SALT_LENGTH,
        mgf_hash=HASH,
    )


def certificate_problem(
    certificate: Certificate,
    ca: RSAPublicKey,
    *,
    now: float,
    alias: str | None = None,
    subject: PublicIdentity | RSAPublicKey | None = None,
) -> str | None:
    """Why ``certificate`` is not valid now (for ``alias`` and ``subject`` if given), or None.

    A whole identity must match every key the certificate binds; an RSA key alone, the RSA key.

    The order matters: nothing the certificate says is believed before its signature is checked.
    """
    if certificate.issuer != ca_fingerprint(ca):
        return f"certificate is from another CA (issuer {certificate.issuer[:16]}...)"
    try:
        check_signature(certificate, ca)
    except VerificationError:
        return "certificate signature invalid"
    if alias is not None and name_key(certificate.alias) != name_key(alias):
        return f"certificate is for alias {certificate.alias!r}, not {alias!r}"
    if subject is not None:
        rsa = subject.rsa if isinstance(subject, PublicIdentity) else subject
        if (certificate.rsa.n, certificate.rsa.e) != (rsa.n, rsa.e):
            return "certificate key does not match identity (RSA key)"
        if (
            certificate.elgamal is not None
            and isinstance(subject, PublicIdentity)
            and _elgamal_tuple(subject.elgamal) != _elgamal_tuple(certificate.elgamal)
        ):
            return "certificate key does not match identity (ElGamal key)"
    if now < certificate.not_before:
        return f"certificate not valid before {iso8601(certificate.not_before)}"
    if now >= certificate.not_after:
        return f"certificate expired at {iso8601(certificate.not_after)}"
    return None


def _elgamal_tuple(key: ElGamalPublicKey) -> tuple[int, int, int]:
    return key.group.p, key.group.g, key.y


class CertificateState(StrEnum):
    """What a member's certificate proves, as the client shows it."""

    VALID = "valid"  # signed by our CA for this alias and these keys, and current
    MISSING = "missing"  # the member joined without a certificate
    INVALID = "invalid"  # malformed, another CA, forged, another alias or key, expired


@dataclass(frozen=True)
class CertificateStatus:
    """The outcome of checking one member: a state, a one-line reason, the certificate if it parsed."""

    state: CertificateState
    reason: str
    certificate: Certificate | None = None

    @property
    def ok(self) -> bool:
        """True when the certificate is valid."""
        return self.state is CertificateState.VALID

    @property
    def label(self) -> str:
        """A short label for a member list: ``certified``, ``certified (RSA key only)`` or the reason."""
        if not self.ok:
            return self.reason
        assert self.certificate is not None
        return "certified" if self.certificate.elgamal is not None else "certified (RSA key only)"


def check_presented(
    certificate: str | None, alias: str, identity: Mapping[str, str], ca: RSAPublicKey, now: float
) -> CertificateStatus:
    """Check what a member presents on the wire: its certificate text, alias and identity map."""
    if certificate is None:
        return CertificateStatus(CertificateState.MISSING, "no certificate")
    try:
        parsed = load_certificate(certificate)
    except CertificateError as exc:
        detail = str(exc).removeprefix("certificate: ")
        return CertificateStatus(CertificateState.INVALID, f"certificate malformed: {detail}")
    try:
        public = PublicIdentity.from_wire(identity)
    except IdentityError as exc:
        return CertificateStatus(CertificateState.INVALID, f"identity not usable: {exc}", parsed)
    problem = certificate_problem(parsed, ca, now=now, alias=alias, subject=public)
    if problem is not None:
        return CertificateStatus(CertificateState.INVALID, problem, parsed)
    return CertificateStatus(
        CertificateState.VALID, f"certified for {parsed.alias} until {iso8601(parsed.not_after)}", parsed
    )


class Presented(Protocol):
    """What a member presents: its alias, its public identity map and its certificate text, if any."""

    @property
    def alias(self) -> str: ...

    @property
    def identity(self) -> Mapping[str, str]: ...

    @property
    def certificate(self) -> str | None: ...


def verify_member(member: Presented, ca: RSAPublicKey, now: float | None = None) -> CertificateStatus:
    """The state a client shows next to ``member`` (``now`` defaults to the clock)."""
    moment = time.time() if now is None else now
    return check_presented(member.certificate, member.alias, member.identity, ca, moment)


def make_authorizer(
    ca: RSAPublicKey, *, now: Callable[[], float] = time.time
) -> Callable[[Presented], str | None]:
    """The relay's ``authorize`` hook: None admits a join, else the reason it is refused."""
    check_ca_bits(ca)

    def authorize(join: Presented) -> str | None:
        status = check_presented(join.certificate, join.alias, join.identity, ca, now())
        return None if status.ok else status.reason

    return authorize

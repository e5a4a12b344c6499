"""Certificates: a certificate authority's RSA-PSS signature binding an alias to identity keys.

A server given the CA's public key admits only joins whose certificate is valid for the alias and
the identity presented (:func:`make_authorizer`); a client given it shows each member's state
(:func:`verify_member`). Both take what a member presents as plain values (:class:`Presented`: a
join frame or a member entry of the protocol fits), so this package knows no protocol type.

The format, the checks and their order are specified in ``docs/certificates.md``; in short, a
certificate is PEM (``CIPHERCHAT CERTIFICATE``) around canonical JSON
``{"signature": ..., "tbs": {...}}``, where the CA signs the canonical JSON of ``tbs`` (sorted keys,
no whitespace, ASCII) with RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt.

A certificate binds the alias to the member's RSA identity key, and to its ElGamal identity key
too when it was issued from the member's ``identity.json`` (it should be: the ElGamal suites sign
with that key). There is no revocation: validity periods are the only bound on a leaked key.

Two modules: :mod:`~chat.e2e.certificates.document` (the fields, issuing, reading, writing) and
:mod:`~chat.e2e.certificates.checks` (validity for a member, now); this package exports both.
"""

from chat.e2e.certificates.checks import (
    CertificateState,
    CertificateStatus,
    Presented,
    certificate_problem,
    check_presented,
    check_signature,
    make_authorizer,
    verify_member,
)
from chat.e2e.certificates.document import (
    CERTIFICATE_TYPE,
    CERTIFICATE_VERSION,
    DAY,
    DEFAULT_DAYS,
    HASH,
    MAX_CERTIFICATE_BYTES,
    MAX_DAYS,
    MAX_TIME,
    MIN_CA_BITS,
    PEM_LABEL,
    SALT_LENGTH,
    SERIAL_BYTES,
    SIGNATURE_ALGORITHM,
    TBS_FIELDS,
    Certificate,
    ca_fingerprint,
    canonical_json,
    iso8601,
    issue,
    load_ca_public_key,
    load_certificate,
    load_subject,
    read_ca_public_key,
    read_certificate,
    save_certificate,
)

__all__ = [
    "CERTIFICATE_TYPE",
    "CERTIFICATE_VERSION",
    "DAY",
    "DEFAULT_DAYS",
    "HASH",
    "MAX_CERTIFICATE_BYTES",
    "MAX_DAYS",
    "MAX_TIME",
    "MIN_CA_BITS",
    "PEM_LABEL",
    "SALT_LENGTH",
    "SERIAL_BYTES",
    "SIGNATURE_ALGORITHM",
    "TBS_FIELDS",
    "Certificate",
    "CertificateState",
    "CertificateStatus",
    "Presented",
    "ca_fingerprint",
    "canonical_json",
    "certificate_problem",
    "check_presented",
    "check_signature",
    "iso8601",
    "issue",
    "load_ca_public_key",
    "load_certificate",
    "load_subject",
    "make_authorizer",
    "read_ca_public_key",
    "read_certificate",
    "save_certificate",
    "verify_member",
]

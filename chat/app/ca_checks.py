"""Certificates checked against the CA the user named (``--ca``): each member's, and our own.

A member's certificate is checked once per alias, certificate text and identity key (the answer
only changes when one of them does), against the clock given (:func:`time.time` by default).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chat.client.events import MemberView
from chat.e2e.certificates import Certificate, CertificateState, CertificateStatus, check_presented
from chat.e2e.identity import PublicIdentity
from chat.protocol.names import name_key
from ciphers.rsa.keys import RSAPublicKey

NO_CERTIFICATE = CertificateStatus(CertificateState.MISSING, "no certificate")
UNUSABLE = CertificateStatus(CertificateState.INVALID, "identity keys unusable")


class CertificateChecks:
    """The certificate states of a room's members under one CA, remembered (see the module notes)."""

    def __init__(self, ca: RSAPublicKey, clock: Callable[[], float] = time.time) -> None:
        self.ca = ca
        self.clock = clock
        self._seen: dict[tuple[str, str | None, str | None], CertificateStatus] = {}

    def member(self, member: MemberView, identity: PublicIdentity | None) -> CertificateStatus:
        """The state of ``member``'s certificate, for the identity it joined with."""
        fingerprint = None if member.fingerprint is None else member.fingerprint.hex
        key = (name_key(member.alias), member.certificate, fingerprint)
        status = self._seen.get(key)
        if status is None:
            if identity is None:
                status = UNUSABLE
            else:
                status = check_presented(
                    member.certificate, member.alias, identity.to_wire(), self.ca, self.clock()
                )
            self._seen[key] = status
        return status

    def own(self, alias: str, identity: PublicIdentity, certificate: Certificate | None) -> CertificateStatus:
        """The state of the certificate we present (``--cert``), as the other members will see it."""
        if certificate is None:
            return NO_CERTIFICATE
        return check_presented(certificate.encode(), alias, identity.to_wire(), self.ca, self.clock())

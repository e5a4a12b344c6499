"""The room's members as the application core judges them: trust, certificates under ``--ca``, and
what follows for our key and their files (:mod:`chat.app.policy`).

A :class:`Roster` reads the client's members as they are now (it keeps nothing of its own but
the remembered certificate checks), so every answer is current: ``/who``, ``/cert``, and the
policy's questions, asked before a key is wrapped or a file offer taken.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping

from chat.app.ca_checks import NO_CERTIFICATE, CertificateChecks
from chat.app.policy import exclusion, sender_refusal
from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.client.errors import ClientError
from chat.e2e.certificates import Certificate, CertificateStatus, load_certificate
from chat.e2e.identity import IdentityError, PublicIdentity
from chat.e2e.trust import TrustState
from chat.protocol.names import name_key
from chat.transfer.policy import Refusal
from ciphers.errors import CryptoError


class Roster:
    """``client``'s members with their states; ``checks``: the CA's (``--ca``, else None);
    ``certificate``: the one we present (``--cert``)."""

    def __init__(
        self, client: ChatClient, checks: CertificateChecks | None, certificate: Certificate | None
    ) -> None:
        self.client = client
        self.checks = checks
        self.certificate = certificate

    def member(self, alias: str) -> ev.MemberView | None:
        """``alias`` as the client sees it, its certificate checked under ``--ca``; None if absent."""
        found = next((m for m in self.client.members if name_key(m.alias) == name_key(alias)), None)
        return None if found is None else self._with_status(found)

    def who(self) -> ev.Members:
        """Us and the other members, with fingerprints, trust and (under ``--ca``) certificates."""
        client = self.client
        you = ev.MemberView(
            client.alias,
            client.identity.fingerprint,
            certificate=None if self.certificate is None else self.certificate.encode(),
            certificate_status=self.own_status(),
        )
        members = tuple(self._with_status(member) for member in client.members)
        return ev.Members(client.room or "", you, members)

    def details(self, alias: str | None) -> ev.CertificateDetails:
        """``alias``'s certificate and its state (ours when ``alias`` is None); ClientError if absent."""
        if alias is None:
            status = None if self.certificate is None else self.own_status()
            return ev.CertificateDetails(self.client.alias, status, self.certificate, own=True)
        member = self.member(alias)
        if member is None:
            raise ClientError(f"no member {alias!r} in this room", "unknown_member")
        parsed = None
        if member.certificate is not None:
            with contextlib.suppress(CryptoError):
                parsed = load_certificate(member.certificate)
        status = member.certificate_status
        if status is None and member.certificate is None:
            status = NO_CERTIFICATE
        return ev.CertificateDetails(member.alias, status, parsed)

    def own_status(self) -> CertificateStatus | None:
        """Our certificate's state under ``--ca`` (None without it)."""
        if self.checks is None:
            return None
        return self.checks.own(self.client.alias, self.client.identity.public, self.certificate)

    def checked(self, alias: str) -> ev.CertificateChecked | None:
        """``alias``'s certificate check under ``--ca``, if it is in the room (None without ``--ca``)."""
        member = self.member(alias)
        if member is None or member.certificate_status is None:
            return None
        return ev.CertificateChecked(member.alias, member.certificate_status)

    def eligible(self, alias: str, identity: Mapping[str, str], certificate: str | None) -> bool:
        """Whether a member arriving as ``alias`` with ``identity`` (its wire map) and ``certificate``
        may have our keys: asked by the client before the session wraps anything to it.

        Its trust is what the known-peers store would say, recording nothing yet (the client does,
        once the session took the member); an identity that is not usable is the session's to refuse.
        """
        try:
            public = PublicIdentity.from_wire(identity)
        except IdentityError:
            return True  # the session withholds everything from it anyway (bad_identity)
        peers = self.client.known_peers
        remembered = None if peers is None else peers.remembered(alias)
        changed = remembered is not None and remembered != public.fingerprint.hex
        status = None
        if self.checks is not None:
            arriving = ev.MemberView(alias, public.fingerprint, certificate=certificate)
            status = self.checks.member(arriving, public)
        return exclusion(alias, TrustState.CHANGED if changed else None, status) is None

    def exclusion(self, alias: str) -> str | None:
        """Why ``alias`` gets no key of ours (:func:`~chat.app.policy.exclusion`), None if eligible."""
        member = self.member(alias)
        if member is None:
            return "not in the room as far as this client knows"
        return exclusion(member.alias, member.trust, member.certificate_status)

    def vet(self, alias: str) -> Refusal | None:
        """What the core holds against files from ``alias`` (:func:`~chat.app.policy.sender_refusal`)."""
        member = self.member(alias)
        if member is None:
            return Refusal(f"{alias} is not in the room as far as this client knows")
        return sender_refusal(member.alias, member.trust, member.certificate_status)

    def _with_status(self, member: ev.MemberView) -> ev.MemberView:
        if self.checks is None:
            return member
        status = self.checks.member(member, self.client.member_identity(member.alias))
        return dataclasses.replace(member, certificate_status=status)


__all__ = ["Roster"]

"""The application core's decisions, pure: who gets our key, whose files come in, and what a join says.

* :func:`exclusion`: why a member gets no key of ours (issue 10, key hand-out policy), decided
  before anything is wrapped: an identity key that CHANGED, until the user ``/trust``\\s it;
  under ``--ca``, a certificate that does not hold. Anyone else is eligible, a first contact
  included: trust on first use, and :func:`first_contact` says so.
* :func:`sender_refusal`: the same members' file offers are refused (our key is withheld from
  them, so nothing of theirs is taken either).
* :func:`join_refusal` and :func:`insecure_warning`: the words around a join.
"""

from __future__ import annotations

from chat.client import events as ev
from chat.client.errors import JoinError
from chat.e2e.certificates import CertificateStatus
from chat.e2e.identity import Fingerprint
from chat.e2e.suites import suite as suite_info
from chat.e2e.trust import TrustState
from chat.transfer.policy import Refusal, changed_sender


def exclusion(alias: str, trust: TrustState | None, certificate: CertificateStatus | None) -> str | None:
    """Why ``alias`` is not handed our key, or None if it is eligible. ``certificate``: its state
    under ``--ca`` (None without it)."""
    if trust is TrustState.CHANGED:
        return f"its identity key CHANGED (/verify {alias}, then /trust {alias} if the numbers match)"
    if certificate is not None and not certificate.ok:
        return f"its certificate does not hold ({certificate.label})"
    return None


def sender_refusal(
    alias: str, trust: TrustState | None, certificate: CertificateStatus | None
) -> Refusal | None:
    """Why the file offers of ``alias`` are refused (the members :func:`exclusion` names), or None."""
    if trust is TrustState.CHANGED:
        return changed_sender(alias)
    if certificate is not None and not certificate.ok:
        return Refusal(
            f"{alias}'s certificate does not hold ({certificate.label})",
            "this member checks certificates, and yours does not hold",
        )
    return None


def first_contact(
    alias: str, fingerprint: Fingerprint | None, trust: TrustState | None
) -> ev.FirstContact | None:
    """What says a member's key was remembered on first sight (trust on first use), if it was."""
    if trust is not TrustState.NEW or fingerprint is None:
        return None
    return ev.FirstContact(alias, fingerprint)


def join_refusal(error: JoinError, certified: bool) -> str:
    """The server's refusal in one line, with a hint when it wants a certificate we did not present."""
    if error.code != "unauthorized":
        return error.message
    hint = "" if certified else " (this server admits only certified members: start with --cert FILE)"
    return f"refused: {error.message}{hint}"


def insecure_warning(suite: str) -> ev.WarningEvent:
    """The warning that follows joining a room whose suite is insecure."""
    return ev.WarningEvent("insecure_suite", f"{suite} is insecure: {suite_info(suite).note}")


__all__ = ["exclusion", "first_contact", "insecure_warning", "join_refusal", "sender_refusal"]

"""Which file offers a member accepts: consent, quotas and the sender's standing, decided before
anything is written (issue 10: files with consent).

Pure. :meth:`OfferPolicy.refusal` looks at an offer, at who sent it and at what this member has
accepted already (:class:`Ledger`), and returns a :class:`Refusal` (what we see, and what the
sender is told) or None. Whether an offer that passes goes ahead at once is :class:`Consent`:

* ``ask``: the user answers ``/accept`` or ``/refuse`` (the Textual client);
* ``accept``: at once (``--accept-files``: scripts, and users who want it);
* ``refuse``: never (the line client without ``--accept-files``: nobody is there to ask).

The defaults, and why (each has a flag of ``python -m chat client``):

* :data:`DEFAULT_MAX_SIZE`, 50 MiB a file: as before this policy existed.
* :data:`DEFAULT_PER_SENDER`, 100 MiB from one member while the client runs: two files of the
  largest size; about 25 s of opening 3des chunks (MAC, bitslice 3DES-CBC decryption and the
  signature check: an 8 KiB chunk in about 2 ms, measured on two shared cores), so one member
  cannot occupy our disk or our one thread for longer than that.
* :data:`DEFAULT_TOTAL`, 250 MiB from everyone: five files of the largest size, about a minute
  of opening; a room of senders cannot fill the disk either.
* :data:`DEFAULT_AT_ONCE`, 4 transfers at once, offers waiting for an answer included (16
  before): each one holds a partial file and decrypts on the client's one event loop; four keep
  the chat responsive, and unanswered offers cannot pile up.

Bytes count when an offer is accepted and are never given back (a transfer that fails still
cost its decryption; a sender could otherwise offer, cancel and offer again for ever).
Offers from an identity whose key CHANGED are refused until the user ``/trust``\\s it; the
application core may refuse others (``vet``: under ``--ca``, a member without a valid
certificate, or one our key is withheld from).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from chat.e2e.trust import TrustState
from chat.protocol.limits import MiB
from chat.protocol.names import name_key
from chat.transfer.downloads import format_size
from chat.transfer.format import Offer

DEFAULT_MAX_SIZE = 50 * MiB
DEFAULT_PER_SENDER = 100 * MiB
DEFAULT_TOTAL = 250 * MiB
DEFAULT_AT_ONCE = 4
ANSWER_TIMEOUT = 60.0  # seconds an offer waits for the user's answer before it is refused


class Consent(StrEnum):
    """What happens to an offer that passes every check (see the module notes)."""

    ASK = "ask"
    ACCEPT = "accept"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Refusal:
    """Why an offer is refused: ``reason`` as we see it, ``told`` as its sender is (None: the same)."""

    reason: str
    told: str | None = None

    @property
    def to_sender(self) -> str:
        return self.reason if self.told is None else self.told


def changed_sender(sender: str) -> Refusal:
    """The refusal of an offer from ``sender`` while its identity key is CHANGED."""
    return Refusal(
        f"{sender}'s identity key CHANGED: no files from it until you /verify and /trust it",
        "this member has not trusted your identity key since it changed",
    )


#: The application core's say on a sender (None: nothing against it).
Vet = Callable[[str], Refusal | None]


@dataclass
class Ledger:
    """Bytes accepted so far, from each sender (by case-folded alias) and in all."""

    total: int = 0
    by_sender: dict[str, int] = field(default_factory=dict)

    def from_sender(self, alias: str) -> int:
        return self.by_sender.get(name_key(alias), 0)

    def add(self, alias: str, size: int) -> None:
        """``size`` more bytes accepted from ``alias``."""
        self.by_sender[name_key(alias)] = self.from_sender(alias) + size
        self.total += size


@dataclass(frozen=True)
class OfferPolicy:
    """Consent and limits for the offers a member receives (see the module notes for the defaults).

    ``max_size``: the largest file (also the largest we send); ``per_sender`` and ``total``: bytes
    accepted while the client runs; ``at_once``: transfers received or waiting for an answer.
    """

    consent: Consent = Consent.REFUSE
    max_size: int = DEFAULT_MAX_SIZE
    per_sender: int = DEFAULT_PER_SENDER
    total: int = DEFAULT_TOTAL
    at_once: int = DEFAULT_AT_ONCE
    answer_timeout: float = ANSWER_TIMEOUT

    def __post_init__(self) -> None:
        if min(self.max_size, self.per_sender, self.total) < 0 or self.at_once < 1:
            raise ValueError("file limits must not be negative, and at least one transfer at once")

    def refusal(
        self,
        sender: str,
        offer: Offer,
        ledger: Ledger,
        *,
        busy: int,
        trust: TrustState | None = None,
        standing: Refusal | None = None,
    ) -> Refusal | None:
        """Why ``offer`` from ``sender`` is refused, or None if it may go ahead (at once or once the
        user says yes, as :attr:`consent` says). ``busy``: transfers received or waiting already;
        ``trust``: the sender's, as its offer arrived; ``standing``: what the application core
        holds against the sender (:data:`Vet`)."""
        size = format_size(offer.size)
        if self.consent is Consent.REFUSE:
            return Refusal(
                "this client accepts no files (start it with --accept-files to receive them)",
                "this member accepts no files (its client runs without --accept-files)",
            )
        if trust is TrustState.CHANGED:
            return changed_sender(sender)
        if standing is not None:
            return standing
        if offer.size > self.max_size:
            return Refusal(f"{size} is above this member's limit of {format_size(self.max_size)}")
        if busy >= self.at_once:
            return Refusal(
                f"{busy} file(s) in progress or awaiting an answer (at most {self.at_once} at once)"
            )
        before = ledger.from_sender(sender)
        if before + offer.size > self.per_sender:
            return Refusal(
                f"{size} more from {sender} would pass the quota of {format_size(self.per_sender)} "
                f"from one member ({format_size(before)} accepted already)",
                f"this member's quota for files from you ({format_size(self.per_sender)}) would be exceeded",
            )
        if ledger.total + offer.size > self.total:
            return Refusal(
                f"{size} more would pass the quota of {format_size(self.total)} in all "
                f"({format_size(ledger.total)} accepted already)",
                f"this member's quota for files ({format_size(self.total)} in all) would be exceeded",
            )
        return None


__all__ = [
    "ANSWER_TIMEOUT",
    "DEFAULT_AT_ONCE",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_PER_SENDER",
    "DEFAULT_TOTAL",
    "Consent",
    "Ledger",
    "OfferPolicy",
    "Refusal",
    "Vet",
    "changed_sender",
]

"""Which file offers a member accepts: the receiver's own limits, decided before anything is written.

Pure: :meth:`OfferPolicy.refusal` looks at an offer and at what is being received already, and
says why it is refused (one line, which the sender is told too) or None to accept it.
"""

from __future__ import annotations

from dataclasses import dataclass

from chat.protocol.limits import MiB
from chat.transfer.downloads import format_size
from chat.transfer.format import Offer

DEFAULT_MAX_SIZE = 50 * MiB
DEFAULT_MAX_INCOMING = 16


@dataclass(frozen=True)
class OfferPolicy:
    """``max_size``: the largest file accepted; ``max_incoming``: transfers received at once."""

    max_size: int = DEFAULT_MAX_SIZE
    max_incoming: int = DEFAULT_MAX_INCOMING

    def refusal(self, offer: Offer, receiving: int) -> str | None:
        """Why ``offer`` is refused while ``receiving`` transfers are in progress, or None to accept it."""
        if offer.size > self.max_size:
            return f"{format_size(offer.size)} is above this member's limit of {format_size(self.max_size)}"
        if receiving >= self.max_incoming:
            return f"already receiving {receiving} files"
        return None


__all__ = ["DEFAULT_MAX_INCOMING", "DEFAULT_MAX_SIZE", "OfferPolicy"]

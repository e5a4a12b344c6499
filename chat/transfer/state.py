"""The two sides of a file transfer as pure state machines: no I/O, no clock, testable alone.

* :class:`Reassembly` (receiver): checks each chunk against the manifest before the caller writes
  it — the next index in order, exactly the announced length, never past the announced size —
  and at the end checks that every chunk came and that the SHA-256 matches. A missing,
  duplicated, reordered or resized chunk fails the transfer at once with a reason.
* :class:`Distribution` (sender): who was offered the file and where each one stands (offered,
  accepted, done, refused, failed), how many chunks each acknowledged, and whether the window
  lets the next chunk go. The window bounds the chunks in flight to the slowest receiver, so a
  slow member (the direct suites decrypt ten times slower than they encrypt) is never buried
  under more ciphertext than it can open before the relay gives up on it as a slow reader.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from chat.protocol.names import name_key
from chat.transfer.errors import TransferFailed
from chat.transfer.format import Chunk, End, Offer, chunk_length


class Reassembly:
    """The receiving side of one transfer (see the module notes)."""

    def __init__(self, offer: Offer) -> None:
        self.offer = offer
        self.received_chunks = 0
        self.received_bytes = 0
        self.complete = False
        self._sha256 = hashlib.sha256()

    def chunk(self, chunk: Chunk) -> bytes:
        """Check ``chunk`` and take it into the hash; its data, for the caller to write.

        Raises TransferFailed if it is not exactly the next chunk the manifest announced.
        """
        offer = self.offer
        if self.complete:
            raise TransferFailed(f"chunk {chunk.index} arrived after the end")
        if chunk.index != self.received_chunks:
            if chunk.index > self.received_chunks:
                raise TransferFailed(
                    f"chunk {self.received_chunks} is missing (chunk {chunk.index} came next)"
                )
            raise TransferFailed(f"chunk {chunk.index} arrived again or out of order")
        if chunk.index >= offer.chunks:
            raise TransferFailed(f"chunk {chunk.index} is past the {offer.chunks} chunks announced")
        expected = chunk_length(offer, chunk.index)
        if len(chunk.data) != expected:
            raise TransferFailed(
                f"chunk {chunk.index} has {len(chunk.data)} bytes, not the {expected} announced"
            )
        self._sha256.update(chunk.data)
        self.received_chunks += 1
        self.received_bytes += len(chunk.data)
        return chunk.data

    def should_acknowledge(self) -> bool:
        """Whether to acknowledge now: every ``offer.ack`` chunks, and after the last."""
        count = self.received_chunks
        return count > 0 and (count % self.offer.ack == 0 or count == self.offer.chunks)

    def end(self, end: End) -> None:
        """The sender says every chunk is out: check the count and the SHA-256; TransferFailed if not."""
        offer = self.offer
        if self.complete:
            raise TransferFailed("the end arrived twice")
        if end.chunks != offer.chunks:
            raise TransferFailed(f"the end announces {end.chunks} chunks, the offer {offer.chunks}")
        if self.received_chunks != offer.chunks:
            missing = offer.chunks - self.received_chunks
            raise TransferFailed(f"ended with {missing} of {offer.chunks} chunks missing")
        if self._sha256.hexdigest() != offer.sha256:
            raise TransferFailed("SHA-256 mismatch: the file was altered or corrupted on the way")
        self.complete = True


@dataclass(frozen=True)
class TransferStatus:
    """A transfer in progress, for a listing: ``done`` of ``total`` bytes, ``out`` or ``in``."""

    transfer: str
    direction: str
    name: str
    done: int
    total: int


class Status(StrEnum):
    """Where one recipient of our file stands."""

    OFFERED = "offered"  # no answer yet
    ACCEPTED = "accepted"  # receiving
    DONE = "done"  # saved, hash checked
    REFUSED = "refused"  # said no, or gave up and said why
    FAILED = "failed"  # left, timed out, or misbehaved


@dataclass
class Recipient:
    """One member we offered the file to."""

    alias: str
    status: Status = Status.OFFERED
    acknowledged: int = 0  # chunks acknowledged
    reason: str = ""

    @property
    def settled(self) -> bool:
        """Whether nothing more is expected from this member."""
        return self.status in (Status.DONE, Status.REFUSED, Status.FAILED)


class Distribution:
    """The sending side of one transfer: recipients and the window (see the module notes)."""

    def __init__(self, recipients: Iterable[str], chunks: int, window: int) -> None:
        if window < 1:
            raise ValueError("the window must be at least one chunk")
        self.chunks = chunks
        self.window = window
        self.sent = 0  # chunks sent
        self.ended = False  # the end went out
        self._recipients = {name_key(alias): Recipient(alias) for alias in recipients}

    @property
    def recipients(self) -> tuple[Recipient, ...]:
        """Every recipient, in the order offered."""
        return tuple(self._recipients.values())

    def _find(self, alias: str) -> Recipient | None:
        return self._recipients.get(name_key(alias))

    # --- what the receivers say -----------------------------------------------------------------

    def accept(self, alias: str) -> None:
        """``alias`` accepted; ignored unless we offered it to them and they had not answered."""
        found = self._find(alias)
        if found is not None and found.status is Status.OFFERED:
            found.status = Status.ACCEPTED

    def refuse(self, alias: str, reason: str) -> None:
        """``alias`` refused, or gave up while receiving."""
        found = self._find(alias)
        if found is not None and not found.settled:
            found.status, found.reason = Status.REFUSED, reason

    def acknowledge(self, alias: str, received: int) -> None:
        """``alias`` has ``received`` chunks. An acknowledgement of chunks never sent fails them."""
        found = self._find(alias)
        if found is None or found.status is not Status.ACCEPTED:
            return
        if received > self.sent:
            self.fail(alias, f"acknowledged {received} chunks when {self.sent} were sent")
        elif received > found.acknowledged:
            found.acknowledged = received

    def done(self, alias: str) -> None:
        """``alias`` saved the file. Only believed after the end, with every chunk acknowledged."""
        found = self._find(alias)
        if found is None or found.status is not Status.ACCEPTED:
            return
        if not self.ended:
            self.fail(alias, "reported the file saved before it was all sent")
        else:
            found.status, found.acknowledged = Status.DONE, self.chunks

    def fail(self, alias: str, reason: str) -> None:
        """``alias`` is out of this transfer (left, timed out, misbehaved)."""
        found = self._find(alias)
        if found is not None and not found.settled:
            found.status, found.reason = Status.FAILED, reason

    def fail_all(self, reason: str) -> None:
        """Every recipient still pending is out (we cancelled, or lost the connection)."""
        for recipient in self._recipients.values():
            if not recipient.settled:
                recipient.status, recipient.reason = Status.FAILED, reason

    def time_out_undecided(self, reason: str) -> None:
        """Those who never answered the offer are out."""
        for recipient in self._recipients.values():
            if recipient.status is Status.OFFERED:
                recipient.status, recipient.reason = Status.FAILED, reason

    def time_out_lagging(self, reason: str) -> None:
        """Those who hold back the next chunk (window full) are out."""
        for alias in self.lagging():
            self.fail(alias, reason)

    # --- what the sender may do -----------------------------------------------------------------

    @property
    def undecided(self) -> bool:
        """Whether someone has not answered the offer yet."""
        return any(r.status is Status.OFFERED for r in self._recipients.values())

    @property
    def active(self) -> tuple[Recipient, ...]:
        """The recipients receiving."""
        return tuple(r for r in self._recipients.values() if r.status is Status.ACCEPTED)

    def may_send(self) -> bool:
        """Whether the next chunk may go: fewer than ``window`` chunks unacknowledged by each receiver."""
        return all(self.sent - r.acknowledged < self.window for r in self.active)

    def room(self) -> int:
        """How many chunks may go now: the window's room at the slowest receiver, at most what is left."""
        left = self.chunks - self.sent
        return min([left] + [self.window - (self.sent - r.acknowledged) for r in self.active])

    def lagging(self) -> list[str]:
        """The receivers whose acknowledgements hold the next chunk back."""
        return [r.alias for r in self.active if self.sent - r.acknowledged >= self.window]

    def chunk_sent(self) -> None:
        """One more chunk went out."""
        if self.sent >= self.chunks:
            raise ValueError("every chunk was sent already")
        self.sent += 1

    def end_sent(self) -> None:
        """The end went out."""
        self.ended = True

    @property
    def settled(self) -> bool:
        """Whether every recipient is done, refused or failed."""
        return all(r.settled for r in self._recipients.values())

    @property
    def delivered(self) -> tuple[str, ...]:
        """Who saved the file."""
        return tuple(r.alias for r in self._recipients.values() if r.status is Status.DONE)

    def acknowledged_bytes(self, chunk_size: int, size: int) -> int:
        """Bytes every active receiver has acknowledged (the slowest), for a progress bar."""
        active = self.active
        if not active:
            return min(self.sent * chunk_size, size)
        return min(min(r.acknowledged for r in active) * chunk_size, size)

    def outcomes(self) -> tuple[tuple[str, bool, str], ...]:
        """(alias, saved, reason) per recipient."""
        return tuple((r.alias, r.status is Status.DONE, r.reason) for r in self._recipients.values())

    def summary(self) -> str:
        """One line: who saved the file and why each of the others did not."""
        parts = []
        if self.delivered:
            parts.append("delivered to " + ", ".join(self.delivered))
        for r in self._recipients.values():
            if r.status is not Status.DONE:
                parts.append(f"{r.alias}: {r.reason or r.status.value}")
        return "; ".join(parts) or "nobody to send to"


__all__ = ["Distribution", "Reassembly", "Recipient", "Status", "TransferStatus"]

"""The receiving side of file transfers: answer offers, check and write each chunk, save the file.

:class:`Receiver` answers each offer as its :class:`~chat.transfer.policy.OfferPolicy` says:
refused at once (with the reason, which the sender is told), accepted at once, or, when the
user's consent is asked, kept as a :class:`PendingOffer` until :meth:`Receiver.answer` (``/accept``
or ``/refuse``), the sender's cancellation or departure, or ``answer_timeout`` (refused). An
accepted file is checked chunk by chunk against the manifest
(:class:`~chat.transfer.state.Reassembly`) and streamed to a hidden partial file
(:class:`~chat.transfer.downloads.PartialFile`); at the end the SHA-256 is checked and the file
gets a sanitised, unused name in the downloads folder. Anything else — a missing, reordered,
resized or tampered chunk, the sender cancelling, leaving or disconnecting, our own
disconnection, silence for ``idle_timeout`` — deletes the partial file and reports why. Nothing
is written to disk before an offer is accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chat.client.events import (
    TransferEvent,
    TransferFinished,
    TransferOffered,
    TransferProgress,
    TransferStarted,
    TransferWarning,
)
from chat.e2e.trust import TrustState
from chat.protocol.names import name_key
from chat.transfer.downloads import PartialFile, format_size, prepare_directory, sanitise_name, sweep_stale
from chat.transfer.errors import TransferError
from chat.transfer.format import (
    Accept,
    Ack,
    Cancel,
    Chunk,
    Done,
    End,
    FileMessage,
    Offer,
    Refuse,
    short_reason,
)
from chat.transfer.policy import Consent, Ledger, OfferPolicy, Refusal, Vet
from chat.transfer.state import Reassembly, TransferStatus
from ciphers.rng import RNG

Reply = Callable[[FileMessage], None]
EventSink = Callable[[TransferEvent], None]


@dataclass
class IncomingState:
    """One file on its way to us: the offer, the checks so far, the partial file."""

    key: str
    sender: str
    offer: Offer
    name: str
    reassembly: Reassembly
    file: PartialFile
    last_activity: float


@dataclass(frozen=True)
class OfferFrom:
    """An offer as it arrived: its key, its sender, the manifest and the sanitised name."""

    key: str
    sender: str
    offer: Offer
    name: str

    def finished(self, reason: str) -> TransferFinished:
        """Its end before anything was received: refused, cancelled, or its sender gone."""
        offer = self.offer
        return TransferFinished(
            self.key, "in", self.sender, self.name, False, reason, offer.size, offer.sha256
        )


@dataclass(frozen=True)
class PendingOffer:
    """An offer waiting for the user's answer; ``number`` is what ``/accept`` and ``/refuse`` take."""

    number: int
    arrived: OfferFrom
    since: float


class Receiver:
    """The files we receive (see the module notes); transfers are known by ``"<sender>/<id>"``.

    ``reply`` queues a file message of ours for the room (it never waits); ``emit`` takes each
    event; ``vet`` is the application core's say on a sender (:data:`~chat.transfer.policy.Vet`).
    """

    def __init__(
        self,
        downloads: Path,
        reply: Reply,
        emit: EventSink,
        *,
        policy: OfferPolicy,
        rng: RNG,
        idle_timeout: float,
        vet: Vet | None = None,
    ) -> None:
        self.downloads = downloads
        self.reply = reply
        self.emit = emit
        self.policy = policy
        self.rng = rng
        self.idle_timeout = idle_timeout
        self.vet = vet
        self.ledger = Ledger()
        self._states: dict[str, IncomingState] = {}
        self._pending: dict[str, PendingOffer] = {}
        self._numbers = itertools.count(1)
        self._sweeper: asyncio.Task[None] | None = None
        self._swept = False
        self._closed = False

    @property
    def active(self) -> list[TransferStatus]:
        return [
            TransferStatus(i.key, "in", i.name, i.reassembly.received_bytes, i.offer.size)
            for i in self._states.values()
        ]

    @property
    def pending(self) -> tuple[PendingOffer, ...]:
        """The offers waiting for the user's answer, oldest first."""
        return tuple(self._pending.values())

    def on_offer(self, sender: str, offer: Offer, trust: TrustState | None = None) -> None:
        """Refuse ``offer`` (telling ``sender`` why), accept it, or ask the user, as the policy says."""
        key = f"{sender}/{offer.transfer_id}"
        if name_key(key) in self._states or name_key(key) in self._pending:
            self.emit(TransferWarning(sender, f"{sender} offered transfer {offer.transfer_id} twice"))
            return
        arrived = OfferFrom(key, sender, offer, sanitise_name(offer.name))
        refusal = self._refusal(sender, offer, trust)
        if refusal is not None:
            self._refuse(arrived, refusal)
        elif self.policy.consent is Consent.ASK:
            number = next(self._numbers)
            self._pending[name_key(key)] = PendingOffer(number, arrived, time.monotonic())
            timeout = self.policy.answer_timeout
            name, size, sha256 = arrived.name, offer.size, offer.sha256
            self.emit(TransferOffered(key, number, sender, name, size, sha256, timeout))
            self._start_sweeper()
        else:
            self._start(arrived)

    def answer(self, which: str | None, accept: bool) -> None:
        """The user's answer to the offer numbered (or keyed) ``which``, the only one when None.

        Accepted, the offer is checked again (quotas may have filled meanwhile). TransferError in one
        line when no such offer is waiting.
        """
        arrived = self._find_pending(which).arrived
        del self._pending[name_key(arrived.key)]
        if not accept:
            self._refuse(arrived, Refusal("you declined it", "this member declined the file"))
            return
        refusal = self._refusal(arrived.sender, arrived.offer, None)
        if refusal is not None:
            self._refuse(arrived, refusal)
        else:
            self._start(arrived)

    def on_message(self, sender: str, message: Chunk | End | Cancel) -> None:
        """A chunk, the end or a cancellation from ``sender``; ignored for a transfer we do not run."""
        key = name_key(f"{sender}/{message.transfer_id}")
        if isinstance(message, Cancel) and key in self._pending:
            self.emit(self._pending.pop(key).arrived.finished(f"cancelled by {sender}: {message.reason}"))
            return
        incoming = self._states.get(key)
        if incoming is None:
            return  # a transfer we refused, failed, or joined after its offer
        if isinstance(message, Chunk):
            self._on_chunk(incoming, message)
        elif isinstance(message, End):
            self._on_end(incoming, message)
        else:
            self._fail(incoming, f"cancelled by {sender}: {message.reason}", tell_sender=False)

    def cancel(self, transfer: str, reason: str) -> bool:
        """Stop receiving ``transfer`` (its key), delete what we have, tell the sender; False if none."""
        pending = self._pending.pop(name_key(transfer), None)
        if pending is not None:
            self._refuse(pending.arrived, Refusal(f"cancelled: {reason}"))
            return True
        incoming = self._states.get(name_key(transfer))
        if incoming is None:
            return False
        self._fail(incoming, f"cancelled: {reason}", tell_sender=True)
        return True

    def fail_sender(self, alias: str, reason: str, *, tell_sender: bool) -> None:
        """Fail every transfer and offer from ``alias`` (it left, or a frame of its failed a check)."""
        for key, pending in list(self._pending.items()):
            if name_key(pending.arrived.sender) == name_key(alias):
                del self._pending[key]
                self.emit(pending.arrived.finished(reason))
        for incoming in list(self._states.values()):
            if name_key(incoming.sender) == name_key(alias):
                self._fail(incoming, reason, tell_sender=tell_sender)

    def abort_all(self, reason: str, *, tell_sender: bool = False) -> None:
        """Fail every transfer we receive and every offer waiting (we left, lost the connection, close)."""
        for pending in list(self._pending.values()):
            self.emit(pending.arrived.finished(reason))
        self._pending.clear()
        for incoming in list(self._states.values()):
            self._fail(incoming, reason, tell_sender=tell_sender)

    async def close(self) -> None:
        """Fail every transfer we receive, telling the senders; stop watching for silence."""
        self.abort_all("cancelled: the client closed", tell_sender=True)
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sweeper

    # --- offers ---------------------------------------------------------------------------------

    def _refusal(self, sender: str, offer: Offer, trust: TrustState | None) -> Refusal | None:
        standing = None if self.vet is None else self.vet(sender)
        busy = len(self._states) + len(self._pending)
        return self.policy.refusal(sender, offer, self.ledger, busy=busy, trust=trust, standing=standing)

    def _find_pending(self, which: str | None) -> PendingOffer:
        waiting = list(self._pending.values())
        numbers = ", ".join(str(p.number) for p in waiting)
        if which is None and len(waiting) == 1:
            return waiting[0]
        if which is None:
            if not waiting:
                raise TransferError("no file offer is waiting for an answer")
            raise TransferError(f"{len(waiting)} file offers are waiting: name one ({numbers})")
        for pending in waiting:
            if which == str(pending.number) or name_key(which) == name_key(pending.arrived.key):
                return pending
        if not waiting:
            raise TransferError(f"no file offer {which} is waiting (none is)")
        raise TransferError(f"no file offer {which} is waiting (waiting: {numbers})")

    def _refuse(self, arrived: OfferFrom, refusal: Refusal) -> None:
        offer = arrived.offer
        self.reply(Refuse(offer.transfer_id, arrived.sender, short_reason(refusal.to_sender)))
        self.emit(arrived.finished(f"refused: {refusal.reason}"))

    def _start(self, arrived: OfferFrom) -> None:
        """Accept: a partial file ready, the bytes counted, the sender told (refused if the disk says no)."""
        offer = arrived.offer
        try:
            directory = prepare_directory(self.downloads)
            if not self._swept:
                self._swept = True
                sweep_stale(directory)
            problem = _no_room_for(directory, offer.size)
            partial = None if problem is not None else PartialFile.create(directory, rng=self.rng)
        except TransferError as exc:
            problem, partial = exc.message, None
        if partial is None:
            self._refuse(arrived, Refusal(problem or "cannot write the file"))
            return
        key, sender, name = arrived.key, arrived.sender, arrived.name
        self.ledger.add(sender, offer.size)
        self._states[name_key(key)] = IncomingState(
            key, sender, offer, name, Reassembly(offer), partial, time.monotonic()
        )
        folder = str(self.downloads)
        self.emit(TransferStarted(key, "in", sender, name, offer.size, offer.sha256, folder=folder))
        self.reply(Accept(offer.transfer_id, sender))
        self._start_sweeper()

    # --- one transfer ---------------------------------------------------------------------------

    def _on_chunk(self, incoming: IncomingState, chunk: Chunk) -> None:
        try:
            data = incoming.reassembly.chunk(chunk)
            incoming.file.write(data)
        except TransferError as exc:
            self._fail(incoming, exc.message, tell_sender=True)
            return
        incoming.last_activity = time.monotonic()
        reassembly = incoming.reassembly
        self.emit(
            TransferProgress(
                incoming.key, "in", incoming.name, reassembly.received_bytes, incoming.offer.size
            )
        )
        if reassembly.should_acknowledge():
            self.reply(Ack(incoming.offer.transfer_id, incoming.sender, reassembly.received_chunks))

    def _on_end(self, incoming: IncomingState, end: End) -> None:
        try:
            incoming.reassembly.end(end)
            path = incoming.file.commit(incoming.name)
        except TransferError as exc:
            self._fail(incoming, exc.message, tell_sender=True)
            return
        self._states.pop(name_key(incoming.key), None)
        offer = incoming.offer
        self.reply(Done(offer.transfer_id, incoming.sender))
        self.emit(
            TransferFinished(
                incoming.key,
                "in",
                incoming.sender,
                incoming.name,
                True,
                f"saved as {path.name}, SHA-256 verified",
                offer.size,
                offer.sha256,
                str(path),
            )
        )

    def _fail(self, incoming: IncomingState, reason: str, *, tell_sender: bool) -> None:
        if self._states.pop(name_key(incoming.key), None) is None:
            return
        incoming.file.discard()
        if tell_sender:
            self.reply(Refuse(incoming.offer.transfer_id, incoming.sender, short_reason(reason)))
        offer = incoming.offer
        self.emit(
            TransferFinished(
                incoming.key, "in", incoming.sender, incoming.name, False, reason, offer.size, offer.sha256
            )
        )

    def _start_sweeper(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.ensure_future(self._sweep())

    async def _sweep(self) -> None:
        """Fail transfers silent for ``idle_timeout`` and refuse offers unanswered for
        ``answer_timeout``; ends when none is left."""
        answer_timeout = self.policy.answer_timeout
        period = min(max(min(self.idle_timeout, answer_timeout) / 4, 0.02), 1.0)
        while (self._states or self._pending) and not self._closed:
            await asyncio.sleep(period)
            now = time.monotonic()
            for key, pending in list(self._pending.items()):
                if now - pending.since > answer_timeout:
                    del self._pending[key]
                    refusal = Refusal(
                        f"not answered within {answer_timeout:g} s",
                        f"this member did not answer within {answer_timeout:g} s",
                    )
                    self._refuse(pending.arrived, refusal)
            for incoming in list(self._states.values()):
                if now - incoming.last_activity > self.idle_timeout:
                    reason = f"timed out: nothing from {incoming.sender} for {self.idle_timeout:g} s"
                    self._fail(incoming, reason, tell_sender=True)


def _no_room_for(directory: Path, size: int) -> str | None:
    try:
        free = os.statvfs(directory)
    except (OSError, AttributeError):
        return None
    available = free.f_bavail * free.f_frsize
    if size > available:
        return f"not enough disk space ({format_size(available)} free for {format_size(size)})"
    return None


__all__ = ["IncomingState", "OfferFrom", "PendingOffer", "Receiver"]

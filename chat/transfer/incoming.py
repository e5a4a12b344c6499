"""The receiving side of file transfers: answer offers, check and write each chunk, save the file.

:class:`Receiver` answers each offer as its :class:`~chat.transfer.policy.OfferPolicy` says; an
accepted file is checked chunk by chunk against the manifest
(:class:`~chat.transfer.state.Reassembly`) and streamed to a hidden partial file
(:class:`~chat.transfer.downloads.PartialFile`); at the end the SHA-256 is checked and the file
gets a sanitised, unused name in the downloads folder. Anything else — a missing, reordered,
resized or tampered chunk, the sender cancelling, leaving or disconnecting, our own
disconnection, silence for ``idle_timeout`` — deletes the partial file and reports why.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chat.client.events import (
    TransferEvent,
    TransferFinished,
    TransferProgress,
    TransferStarted,
    TransferWarning,
)
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
from chat.transfer.policy import OfferPolicy
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


class Receiver:
    """The files we receive (see the module notes); transfers are known by ``"<sender>/<id>"``.

    ``reply`` queues a file message of ours for the room (it never waits); ``emit`` takes each event.
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
    ) -> None:
        self.downloads = downloads
        self.reply = reply
        self.emit = emit
        self.policy = policy
        self.rng = rng
        self.idle_timeout = idle_timeout
        self._states: dict[str, IncomingState] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._swept = False
        self._closed = False

    @property
    def active(self) -> list[TransferStatus]:
        return [
            TransferStatus(i.key, "in", i.name, i.reassembly.received_bytes, i.offer.size)
            for i in self._states.values()
        ]

    def on_offer(self, sender: str, offer: Offer) -> None:
        """Accept ``offer`` (a partial file is ready for it) or refuse it, telling ``sender`` why."""
        key = f"{sender}/{offer.transfer_id}"
        if name_key(key) in self._states:
            self.emit(TransferWarning(sender, f"{sender} offered transfer {offer.transfer_id} twice"))
            return
        name = sanitise_name(offer.name)
        refusal = self.policy.refusal(offer, len(self._states))
        partial: PartialFile | None = None
        if refusal is None:
            try:
                directory = prepare_directory(self.downloads)
                if not self._swept:
                    self._swept = True
                    sweep_stale(directory)
                refusal = _no_room_for(directory, offer.size)
                if refusal is None:
                    partial = PartialFile.create(directory, rng=self.rng)
            except TransferError as exc:
                refusal = exc.message
        if refusal is not None or partial is None:
            reason = refusal or "cannot write the file"
            self.reply(Refuse(offer.transfer_id, sender, short_reason(reason)))
            finished = TransferFinished(
                key, "in", sender, name, False, f"refused: {reason}", offer.size, offer.sha256
            )
            self.emit(finished)
            return
        incoming = IncomingState(key, sender, offer, name, Reassembly(offer), partial, time.monotonic())
        self._states[name_key(key)] = incoming
        folder = str(self.downloads)
        self.emit(TransferStarted(key, "in", sender, name, offer.size, offer.sha256, folder=folder))
        self.reply(Accept(offer.transfer_id, sender))
        self._start_sweeper()

    def on_message(self, sender: str, message: Chunk | End | Cancel) -> None:
        """A chunk, the end or a cancellation from ``sender``; ignored for a transfer we do not run."""
        incoming = self._states.get(name_key(f"{sender}/{message.transfer_id}"))
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
        incoming = self._states.get(name_key(transfer))
        if incoming is None:
            return False
        self._fail(incoming, f"cancelled: {reason}", tell_sender=True)
        return True

    def fail_sender(self, alias: str, reason: str, *, tell_sender: bool) -> None:
        """Fail every transfer from ``alias`` (it left, or a frame of its failed a check)."""
        for incoming in list(self._states.values()):
            if name_key(incoming.sender) == name_key(alias):
                self._fail(incoming, reason, tell_sender=tell_sender)

    def abort_all(self, reason: str, *, tell_sender: bool = False) -> None:
        """Fail every transfer we receive (we left, lost the connection, or close)."""
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
        """Fail incoming transfers silent for ``idle_timeout``; ends when none is left."""
        period = min(max(self.idle_timeout / 4, 0.02), 1.0)
        while self._states and not self._closed:
            await asyncio.sleep(period)
            now = time.monotonic()
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


__all__ = ["IncomingState", "Receiver"]

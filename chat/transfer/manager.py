"""Encrypted file sharing in a room: the ``/send PATH`` of the chat clients.

A :class:`TransferManager` sits beside a :class:`~chat.client.chat_client.ChatClient`. The application hands
it every client event; it keeps the ``file/...`` ones and acts on presence and disconnection::

    transfers = TransferManager(client, "~/Downloads/cipherchat", on_event=show)
    async for event in client.events():              # or ResilientClient.events()
        if transfers.handle(event):                   # a file message: nothing to show
            continue
        show(event)
    ...
    outgoing = await transfers.send_file("report.pdf")    # TransferError (one line) if it cannot start
    outgoing.cancel()                                     # or transfers.cancel(outgoing.key)

The manager routes: each file message (formats in :mod:`chat.transfer.format`) goes to the side
it concerns, our files to the :class:`~chat.transfer.outgoing.Sender`, the files we receive to
the :class:`~chat.transfer.incoming.Receiver`, which answers offers as its
:class:`~chat.transfer.policy.OfferPolicy` says. A member leaving or a frame of its failing a
check fails its part of every transfer; our own disconnection, all of them. Memory stays
bounded: one batch of chunks on the sending side (256 chunks, 2 MiB of the file, by default) and
its frames until they are written, one chunk on the receiving side.

Events (in the one vocabulary, :mod:`chat.client.events`, so ``to_dict`` gives JSON lines):
:class:`~chat.client.events.TransferStarted`, ``TransferProgress``, ``TransferFinished`` (``ok``
and a one-line ``reason``) and ``TransferWarning``. They go to ``on_event`` when given, otherwise
to :meth:`TransferManager.events`. Transfers are known by ``"<sender>/<id>"``.

:meth:`TransferManager.handle` never waits: the replies it makes go through an outbox task, so the
loop that reads the client's events can never block on itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.client.errors import ClientError
from chat.client.event_queue import EventQueue, QueueEnded
from chat.client.events import TransferEvent, TransferProgress, TransferWarning
from chat.e2e.session import Reason
from chat.protocol.names import name_key
from chat.transfer.downloads import default_downloads_dir
from chat.transfer.errors import FileMessageError, TransferError
from chat.transfer.format import Cancel, Chunk, End, FileMessage, Offer, decode, encode, is_file_message
from chat.transfer.incoming import PendingOffer, Receiver
from chat.transfer.outgoing import ACK_EVERY, BATCH, MAX_IN_FLIGHT, WINDOW, OutgoingTransfer, Sender
from chat.transfer.policy import ANSWER_TIMEOUT, OfferPolicy, Vet
from chat.transfer.state import TransferStatus
from ciphers.rng import RNG, SYSTEM

# A frame of the member's failed a check: its part of our transfers fails. Not for a join the
# session refused (the relay's doing), nor for a frame under a key we were never given (a member
# may withhold its key from us; a chunk lost so fails the transfer at the next one anyway).
_NOT_THE_MEMBERS = {Reason.DUPLICATE_MEMBER, Reason.REPLAYED_JOIN, Reason.UNKNOWN_KEY}
_FRAME_REJECTIONS = frozenset(r.value for r in Reason) - _NOT_THE_MEMBERS

EventSink = Callable[[TransferEvent], None]


class TransferManager:
    """Sends and receives files for one :class:`ChatClient` (see the module notes).

    ``downloads``: the folder received files go to (created on the first accepted offer, mode
    0700; default :func:`chat.transfer.downloads.default_downloads_dir`). ``policy``: consent and
    quotas for what we receive (:class:`~chat.transfer.policy.OfferPolicy`; by default every offer
    is refused), its ``max_size`` also the largest file we send; ``vet``: the application core's
    say on a sender. ``window``, ``ack_every`` and ``batch``: chunks in flight to the slowest
    receiver, chunks per acknowledgement, chunks sealed together (in the hybrid suites; the direct
    suites keep to a few, one at a time: :class:`~chat.transfer.outgoing.Sender`); ``in_flight``:
    bytes of frames in flight to the slowest receiver, which bounds the three; ``chunk_size``:
    bytes of file per chunk (None: the room's, :func:`~chat.transfer.chunks.room_chunk_size`).
    Timeouts, in seconds: ``accept_timeout`` for answers to an offer (longer than a receiver's
    ``answer_timeout``, so a user asked has time to answer), ``ack_timeout`` for each
    acknowledgement and for the final confirmations, ``idle_timeout`` for a receiver waiting for
    the next chunk.
    """

    def __init__(
        self,
        client: ChatClient,
        downloads: str | os.PathLike[str] | None = None,
        *,
        policy: OfferPolicy | None = None,
        vet: Vet | None = None,
        on_event: EventSink | None = None,
        rng: RNG = SYSTEM,
        window: int = WINDOW,
        ack_every: int = ACK_EVERY,
        batch: int = BATCH,
        in_flight: int = MAX_IN_FLIGHT,
        chunk_size: int | None = None,
        accept_timeout: float = ANSWER_TIMEOUT + 15.0,
        ack_timeout: float = 30.0,
        idle_timeout: float = 30.0,
        events_size: int = 1024,
    ) -> None:
        policy = policy if policy is not None else OfferPolicy()
        if not 1 <= ack_every <= window:
            raise ValueError("acknowledge at least once per window")
        self.client = client
        self.downloads = Path(downloads if downloads is not None else default_downloads_dir()).expanduser()
        self.on_event = on_event
        self.events_size = events_size
        self.sender = Sender(
            client,
            self._send,
            self._send_many,
            self._emit,
            rng=rng,
            max_size=policy.max_size,
            window=window,
            ack_every=ack_every,
            batch=batch,
            chunk_size=chunk_size,
            accept_timeout=accept_timeout,
            ack_timeout=ack_timeout,
            in_flight=in_flight,
        )
        self.receiver = Receiver(
            self.downloads,
            self._reply,
            self._emit,
            policy=policy,
            rng=rng,
            idle_timeout=idle_timeout,
            vet=vet,
        )
        self._events: EventQueue[TransferEvent] = EventQueue()
        self._outbox: asyncio.Queue[FileMessage] = asyncio.Queue()
        self._outbox_task: asyncio.Task[None] | None = None
        self._closed = False

    # --- what the UI asks ------------------------------------------------------------------------

    @property
    def active(self) -> tuple[TransferStatus, ...]:
        """The transfers in progress, ours first."""
        return tuple(self.sender.active + self.receiver.active)

    async def send_file(self, path: str | os.PathLike[str]) -> OutgoingTransfer:
        """Offer the file at ``path`` to the room and send it to those who accept, in the background.

        Raises TransferError, before anything is sent, when we are not in a room, the file cannot
        be read or is not a regular file, it is above ``max_size``, or nobody else is in the room.
        """
        if self._closed:
            raise TransferError("file sharing is closed")
        self._start_outbox()
        return await self.sender.start(path)

    @property
    def offers(self) -> tuple[PendingOffer, ...]:
        """The offers waiting for the user's answer (when the policy asks), oldest first."""
        return self.receiver.pending

    def answer(self, which: str | None, accept: bool) -> None:
        """Accept or refuse the offer numbered (or keyed) ``which`` (the only one when None); what
        follows is a transfer event. TransferError in one line if no such offer waits."""
        if self._closed:
            raise TransferError("file sharing is closed")
        self.receiver.answer(which, accept)

    def cancel(self, transfer: str, reason: str = "cancelled") -> bool:
        """Cancel a transfer by its key (``"<sender>/<id>"``): ours stops and tells the receivers;
        one we receive is deleted and the sender told. False if no such transfer is in progress.
        """
        owner, _, transfer_id = transfer.rpartition("/")
        if name_key(owner) == name_key(self.client.alias) and self.sender.cancel(transfer_id, reason):
            return True
        return self.receiver.cancel(transfer, reason)

    async def close(self, *, timeout: float = 2.0) -> None:
        """Cancel every transfer (receivers told when possible), delete partial files, end the events."""
        if self._closed:
            return
        self._closed = True
        await self.receiver.close()
        await self.sender.close(timeout)
        if self._outbox_task is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    while not self._outbox.empty() and not self._outbox_task.done():
                        await asyncio.sleep(0.01)
            self._outbox_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._outbox_task
        self._events.end()

    # --- events out -----------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[TransferEvent]:
        """The transfer events in order (when no ``on_event`` was given), until :meth:`close`."""
        async for event in self._events:
            yield event

    async def next_event(self, timeout: float | None = None) -> TransferEvent:
        """The next transfer event; TimeoutError after ``timeout`` s, TransferError once closed."""
        try:
            return await self._events.get(timeout)
        except QueueEnded:
            raise TransferError("file sharing is closed") from None

    def _emit(self, event: TransferEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)
            return
        if isinstance(event, TransferProgress) and self._events.qsize() >= self.events_size:
            return  # nobody reads: a later progress event or the result says the same
        self._events.put_nowait(event)

    # --- client events in -----------------------------------------------------------------------

    def handle(self, event: ev.ChatEvent) -> bool:
        """Take one client event. True when it was a file message (the UI shows nothing for it);
        False for the others, which it may also act on (a member leaving, a disconnection).
        """
        if isinstance(event, ev.DataReceived) and is_file_message(event.content_type):
            if not self._closed:
                self._on_data(event)
            return True
        if isinstance(event, ev.MessageSent) and is_file_message(event.content_type):
            return True
        if isinstance(event, ev.MemberLeft):
            left = f"{event.alias} left before the transfer finished ({event.reason})"
            self.receiver.fail_sender(event.alias, left, tell_sender=False)
            self.sender.fail_member(event.alias, f"left the room ({event.reason})")
        elif isinstance(event, ev.Disconnected):
            self._abort_all(f"disconnected: {event.reason}")
        elif isinstance(event, ev.Left):
            self._abort_all("we left the room")
        elif isinstance(event, ev.WarningEvent) and event.sender and event.code in _FRAME_REJECTIONS:
            # A frame from this member failed a check: it may have been a chunk or a reply of ours.
            reason = f"a message from {event.sender} failed verification ({event.code})"
            self.receiver.fail_sender(event.sender, reason, tell_sender=True)
            self.sender.fail_member(event.sender, reason)
        return False

    def _on_data(self, event: ev.DataReceived) -> None:
        sender = event.sender
        try:
            message = decode(event.content_type, event.data)
        except FileMessageError as exc:
            self._emit(TransferWarning(sender, f"malformed file message from {sender}: {exc}"))
            return
        if isinstance(message, Offer):
            self.receiver.on_offer(sender, message, event.trust)
        elif isinstance(message, Chunk | End | Cancel):
            self.receiver.on_message(sender, message)
        else:
            self.sender.on_reply(sender, message)

    def _abort_all(self, reason: str) -> None:
        self.receiver.abort_all(reason)
        self.sender.abort_all(reason)

    # --- the outbox -----------------------------------------------------------------------------

    async def _send(self, message: FileMessage) -> ev.MessageSent:
        content_type, data = encode(message)
        return await self.client.send_data(data, content_type)

    async def _send_many(self, messages: list[FileMessage]) -> list[ev.MessageSent]:
        items = [(data, content_type) for content_type, data in map(encode, messages)]
        return await self.client.send_data_many(items)

    def _reply(self, message: FileMessage) -> None:
        self._start_outbox()
        self._outbox.put_nowait(message)

    def _start_outbox(self) -> None:
        if self._outbox_task is None or self._outbox_task.done():
            self._outbox_task = asyncio.ensure_future(self._send_replies())

    async def _send_replies(self) -> None:
        while True:
            message = await self._outbox.get()
            with contextlib.suppress(ClientError, ValueError):
                await self._send(message)  # when it fails, the disconnection fails the transfers


__all__ = ["TransferManager"]

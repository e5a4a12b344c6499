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

What happens (formats in :mod:`chat.transfer.format`): the sender checks the size limit before
anything leaves, hashes the file and offers it (the signed manifest); each member answers accept
or refuse (a receiver refuses offers above its own limit); the file then goes in chunks, each
sealed and signed with the room's suite like any message, paced by the receivers'
acknowledgements (a window of :data:`WINDOW` chunks); receivers check every chunk against the
manifest (:class:`~chat.transfer.state.Reassembly`), stream it to a hidden partial file, and at the
end check the SHA-256, give the file a sanitised, unused name in the downloads folder and say
done. Anything else — a missing, reordered, resized or tampered chunk, the sender cancelling,
leaving or disconnecting, our own disconnection, silence for ``idle_timeout`` — deletes the
partial file and reports why. Memory stays bounded: one chunk at a time on each side.

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
import hashlib
import os
import stat
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.client.errors import ClientError
from chat.client.event_queue import EventQueue, QueueEnded
from chat.client.events import (
    TransferEvent,
    TransferFinished,
    TransferProgress,
    TransferStarted,
    TransferWarning,
)
from chat.e2e.session import Reason, RoomSession
from chat.protocol.limits import MiB
from chat.protocol.names import name_key
from chat.transfer.downloads import (
    DownloadError,
    PartialFile,
    default_downloads_dir,
    format_size,
    prepare_directory,
    sanitise_name,
    sweep_stale,
)
from chat.transfer.format import (
    MAX_REASON,
    Accept,
    Ack,
    Cancel,
    Chunk,
    Done,
    End,
    FileMessage,
    FormatError,
    Offer,
    Refuse,
    chunk_count,
    chunk_length,
    decode,
    encode,
    is_file_message,
    new_transfer_id,
    room_chunk_size,
)
from chat.transfer.state import Distribution, Reassembly, TransferFailed
from ciphers.rng import RNG, SYSTEM

DEFAULT_MAX_SIZE = 50 * MiB
WINDOW = 4  # chunks in flight to the slowest receiver
ACK_EVERY = 2  # receivers acknowledge every this many chunks
READ_BLOCK = 1 * MiB
_FRAME_REJECTIONS = frozenset(reason.value for reason in Reason)


class TransferError(Exception):
    """A transfer cannot start (no such file, too large, not in a room...); ``message`` is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


EventSink = Callable[[TransferEvent], None]


# --- the state of each transfer -----------------------------------------------------------------


@dataclass
class _Outgoing:
    key: str
    offer: Offer
    path: Path
    distribution: Distribution
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Future[TransferFinished] | None = None
    cancel_reason: str | None = None
    task: asyncio.Task[None] | None = None


@dataclass
class _Incoming:
    key: str
    sender: str
    offer: Offer
    name: str
    reassembly: Reassembly
    file: PartialFile
    last_activity: float


@dataclass(frozen=True)
class TransferStatus:
    """A transfer in progress, for a listing: ``done`` of ``total`` bytes."""

    transfer: str
    direction: str
    name: str
    done: int
    total: int


class OutgoingTransfer:
    """Our transfer in progress: ``cancel()`` it, or ``await wait()`` for its :class:`TransferFinished`."""

    def __init__(self, manager: TransferManager, state: _Outgoing) -> None:
        self._manager = manager
        self._state = state
        self.key = state.key
        self.name = state.offer.name
        self.size = state.offer.size
        self.recipients = tuple(r.alias for r in state.distribution.recipients)

    def cancel(self, reason: str = "cancelled by the sender") -> bool:
        """Stop sending; receivers delete what they have. False if it had finished already."""
        return self._manager.cancel(self.key, reason)

    async def wait(self, timeout: float | None = None) -> TransferFinished:
        """The transfer's end (TimeoutError after ``timeout`` seconds)."""
        assert self._state.finished is not None
        async with asyncio.timeout(timeout):
            return await asyncio.shield(self._state.finished)


# --- the manager --------------------------------------------------------------------------------


class TransferManager:
    """Sends and receives files for one :class:`ChatClient` (see the module notes).

    ``downloads``: the folder received files go to (created on the first offer, mode 0700; default
    :func:`chat.transfer.downloads.default_downloads_dir`). ``max_size``: the largest file sent or accepted.
    Timeouts, in seconds: ``accept_timeout`` for answers to an offer, ``ack_timeout`` for each
    acknowledgement and for the final confirmations, ``idle_timeout`` for a receiver waiting for
    the next chunk. ``max_incoming``: transfers received at once (more are refused).
    """

    def __init__(
        self,
        client: ChatClient,
        downloads: str | os.PathLike[str] | None = None,
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        on_event: EventSink | None = None,
        rng: RNG = SYSTEM,
        window: int = WINDOW,
        ack_every: int = ACK_EVERY,
        accept_timeout: float = 15.0,
        ack_timeout: float = 30.0,
        idle_timeout: float = 30.0,
        max_incoming: int = 16,
        events_size: int = 1024,
    ) -> None:
        if max_size < 0:
            raise ValueError("the size limit must not be negative")
        if not 1 <= ack_every <= window:
            raise ValueError("acknowledge at least once per window")
        self.client = client
        self.downloads = Path(downloads if downloads is not None else default_downloads_dir()).expanduser()
        self.max_size = max_size
        self.on_event = on_event
        self.rng = rng
        self.window = window
        self.ack_every = ack_every
        self.accept_timeout = accept_timeout
        self.ack_timeout = ack_timeout
        self.idle_timeout = idle_timeout
        self.max_incoming = max_incoming
        self.events_size = events_size
        self._outgoing: dict[str, _Outgoing] = {}
        self._incoming: dict[str, _Incoming] = {}
        self._events: EventQueue[TransferEvent] = EventQueue()
        self._outbox: asyncio.Queue[FileMessage] = asyncio.Queue()
        self._outbox_task: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._swept = False
        self._closed = False

    # --- what the UI asks ------------------------------------------------------------------------

    @property
    def active(self) -> tuple[TransferStatus, ...]:
        """The transfers in progress, ours first."""
        out = [
            TransferStatus(o.key, "out", o.offer.name, _sent_bytes(o), o.offer.size)
            for o in self._outgoing.values()
        ]
        inc = [
            TransferStatus(i.key, "in", i.name, i.reassembly.received_bytes, i.offer.size)
            for i in self._incoming.values()
        ]
        return tuple(out + inc)

    async def send_file(self, path: str | os.PathLike[str]) -> OutgoingTransfer:
        """Offer the file at ``path`` to the room and send it to those who accept, in the background.

        Raises TransferError, before anything is sent, when we are not in a room, the file cannot
        be read or is not a regular file, it is above ``max_size``, or nobody else is in the room.
        """
        if self._closed:
            raise TransferError("file sharing is closed")
        client = self.client
        session = client.session
        if not client.in_room or session is None:
            raise TransferError("not in a room: join one before sending a file")
        source = Path(path).expanduser()
        size = _regular_file_size(source)
        name = sanitise_name(source.name)
        if size > self.max_size:
            raise TransferError(
                f"{name} is {format_size(size)}, above the limit of {format_size(self.max_size)}: not sent"
            )
        recipients = [m.alias for m in client.members if m.fingerprint is not None]
        if not recipients:
            raise TransferError("nobody else is in the room to receive the file")
        try:
            sha256 = await asyncio.to_thread(_sha256_file, source)
        except OSError as exc:
            raise TransferError(f"cannot read {source}: {_os_reason(exc)}") from None
        chunk_size = self._chunk_size(session)
        offer = Offer(
            new_transfer_id(self.rng.bytes(16)),
            name,
            size,
            sha256,
            chunk_size,
            chunk_count(size, chunk_size),
            self.ack_every,
        )
        key = f"{client.alias}/{offer.transfer_id}"
        state = _Outgoing(key, offer, source, Distribution(recipients, offer.chunks, self.window))
        state.finished = asyncio.get_running_loop().create_future()
        self._outgoing[offer.transfer_id] = state
        self._start_outbox()
        try:
            sent = await self._send(offer)
        except (ClientError, ValueError) as exc:
            del self._outgoing[offer.transfer_id]
            raise TransferError(f"could not offer {name}: {_message(exc)}") from None
        offered = {name_key(alias) for alias in sent.recipients}
        for alias in recipients:
            if name_key(alias) not in offered:
                state.distribution.fail(alias, "was not in the room when the offer went out")
        self._emit(TransferStarted(key, "out", client.alias, name, size, sha256, tuple(sent.recipients)))
        state.task = asyncio.ensure_future(self._run_outgoing(state))
        return OutgoingTransfer(self, state)

    def cancel(self, transfer: str, reason: str = "cancelled") -> bool:
        """Cancel a transfer by its key (``"<sender>/<id>"``): ours stops and tells the receivers;
        one we receive is deleted and the sender told. False if no such transfer is in progress.
        """
        owner, _, transfer_id = transfer.rpartition("/")
        outgoing = self._outgoing.get(transfer_id)
        if outgoing is not None and name_key(owner) == name_key(self.client.alias):
            if outgoing.cancel_reason is None:
                outgoing.cancel_reason = reason
                outgoing.changed.set()
            return True
        incoming = self._incoming.get(name_key(transfer))
        if incoming is not None:
            self._fail_incoming(incoming, f"cancelled: {reason}", tell_sender=True)
            return True
        return False

    async def close(self, *, timeout: float = 2.0) -> None:
        """Cancel every transfer (receivers told when possible), delete partial files, end the events."""
        if self._closed:
            return
        self._closed = True
        for incoming in list(self._incoming.values()):
            self._fail_incoming(incoming, "cancelled: the client closed", tell_sender=True)
        tasks = [o.task for o in self._outgoing.values() if o.task is not None]
        for outgoing in self._outgoing.values():
            outgoing.cancel_reason = outgoing.cancel_reason or "the sender closed the client"
            outgoing.changed.set()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=timeout)
        if self._outbox_task is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    while not self._outbox.empty() and not self._outbox_task.done():
                        await asyncio.sleep(0.01)
        for background in (self._outbox_task, self._sweeper):
            if background is not None:
                background.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await background
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
                self._on_data(event.sender, event.content_type, event.data)
            return True
        if isinstance(event, ev.MessageSent) and is_file_message(event.content_type):
            return True
        if isinstance(event, ev.MemberLeft):
            self._member_left(event.alias, event.reason)
        elif isinstance(event, ev.Disconnected):
            self._abort_all(f"disconnected: {event.reason}")
        elif isinstance(event, ev.Left):
            self._abort_all("we left the room")
        elif isinstance(event, ev.WarningEvent) and event.sender and event.code in _FRAME_REJECTIONS:
            self._frame_rejected(event.sender, event.code)
        return False

    def _on_data(self, sender: str, content_type: str, data: bytes) -> None:
        try:
            message = decode(content_type, data)
        except FormatError as exc:
            self._emit(TransferWarning(sender, f"malformed file message from {sender}: {exc}"))
            return
        if isinstance(message, Offer):
            self._on_offer(sender, message)
        elif isinstance(message, Chunk | End | Cancel):
            incoming = self._incoming.get(name_key(f"{sender}/{message.transfer_id}"))
            if incoming is None:
                return  # a transfer we refused, failed, or joined after its offer
            if isinstance(message, Chunk):
                self._on_chunk(incoming, message)
            elif isinstance(message, End):
                self._on_end(incoming, message)
            else:
                self._fail_incoming(incoming, f"cancelled by {sender}: {message.reason}", tell_sender=False)
        else:
            self._on_reply(sender, message)

    # --- receiving ------------------------------------------------------------------------------

    def _on_offer(self, sender: str, offer: Offer) -> None:
        key = f"{sender}/{offer.transfer_id}"
        if name_key(key) in self._incoming:
            self._emit(TransferWarning(sender, f"{sender} offered transfer {offer.transfer_id} twice"))
            return
        name = sanitise_name(offer.name)
        refusal = self._refusal(sender, offer)
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
            except DownloadError as exc:
                refusal = exc.message
        if refusal is not None or partial is None:
            reason = refusal or "cannot write the file"
            self._reply(Refuse(offer.transfer_id, sender, _short(reason)))
            self._emit(
                TransferFinished(
                    key, "in", sender, name, False, f"refused: {reason}", offer.size, offer.sha256
                )
            )
            return
        incoming = _Incoming(key, sender, offer, name, Reassembly(offer), partial, time.monotonic())
        self._incoming[name_key(key)] = incoming
        folder = str(self.downloads)
        self._emit(TransferStarted(key, "in", sender, name, offer.size, offer.sha256, folder=folder))
        self._reply(Accept(offer.transfer_id, sender))
        self._start_sweeper()

    def _refusal(self, sender: str, offer: Offer) -> str | None:
        """Why we refuse ``offer`` from ``sender``, or None to accept it."""
        if offer.size > self.max_size:
            return f"{format_size(offer.size)} is above this member's limit of {format_size(self.max_size)}"
        if len(self._incoming) >= self.max_incoming:
            return f"already receiving {len(self._incoming)} files"
        return None

    def _on_chunk(self, incoming: _Incoming, chunk: Chunk) -> None:
        try:
            data = incoming.reassembly.chunk(chunk)
            incoming.file.write(data)
        except TransferFailed as exc:
            self._fail_incoming(incoming, exc.reason, tell_sender=True)
            return
        except DownloadError as exc:
            self._fail_incoming(incoming, exc.message, tell_sender=True)
            return
        incoming.last_activity = time.monotonic()
        reassembly = incoming.reassembly
        self._emit(
            TransferProgress(
                incoming.key, "in", incoming.name, reassembly.received_bytes, incoming.offer.size
            )
        )
        if reassembly.should_acknowledge():
            self._reply(Ack(incoming.offer.transfer_id, incoming.sender, reassembly.received_chunks))

    def _on_end(self, incoming: _Incoming, end: End) -> None:
        try:
            incoming.reassembly.end(end)
            path = incoming.file.commit(incoming.name)
        except TransferFailed as exc:
            self._fail_incoming(incoming, exc.reason, tell_sender=True)
            return
        except DownloadError as exc:
            self._fail_incoming(incoming, exc.message, tell_sender=True)
            return
        self._incoming.pop(name_key(incoming.key), None)
        offer = incoming.offer
        self._reply(Done(offer.transfer_id, incoming.sender))
        self._emit(
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

    def _fail_incoming(self, incoming: _Incoming, reason: str, *, tell_sender: bool) -> None:
        if self._incoming.pop(name_key(incoming.key), None) is None:
            return
        incoming.file.discard()
        if tell_sender:
            self._reply(Refuse(incoming.offer.transfer_id, incoming.sender, _short(reason)))
        offer = incoming.offer
        self._emit(
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
        while self._incoming and not self._closed:
            await asyncio.sleep(period)
            now = time.monotonic()
            for incoming in list(self._incoming.values()):
                if now - incoming.last_activity > self.idle_timeout:
                    reason = f"timed out: nothing from {incoming.sender} for {self.idle_timeout:g} s"
                    self._fail_incoming(incoming, reason, tell_sender=True)

    # --- sending --------------------------------------------------------------------------------

    def _on_reply(self, sender: str, reply: Accept | Refuse | Ack | Done) -> None:
        if name_key(reply.owner) != name_key(self.client.alias):
            return  # about someone else's transfer
        state = self._outgoing.get(reply.transfer_id)
        if state is None:
            return
        distribution = state.distribution
        if isinstance(reply, Accept):
            distribution.accept(sender)
        elif isinstance(reply, Refuse):
            distribution.refuse(sender, f"refused: {reply.reason}")
        elif isinstance(reply, Ack):
            distribution.acknowledge(sender, reply.received)
        else:
            distribution.done(sender)
        state.changed.set()

    async def _run_outgoing(self, state: _Outgoing) -> None:
        offer, distribution = state.offer, state.distribution
        try:
            await self._deliver(state)
        except ClientError as exc:
            distribution.fail_all(f"not sent: {exc.message}")
        except asyncio.CancelledError:
            distribution.fail_all("cancelled")
            raise
        finally:
            self._outgoing.pop(offer.transfer_id, None)
            if state.cancel_reason is not None:
                distribution.fail_all(state.cancel_reason)
            delivered = bool(distribution.delivered)
            finished = TransferFinished(
                state.key,
                "out",
                self.client.alias,
                offer.name,
                delivered,
                distribution.summary(),
                offer.size,
                offer.sha256,
                outcomes=distribution.outcomes(),
            )
            if state.finished is not None and not state.finished.done():
                state.finished.set_result(finished)
            self._emit(finished)

    async def _deliver(self, state: _Outgoing) -> None:
        """Wait for answers, send the chunks within the window, send the end, wait for confirmations."""
        offer, distribution = state.offer, state.distribution
        await self._wait(state, lambda: not distribution.undecided, self.accept_timeout)
        if state.cancel_reason is not None:
            await self._cancel_remote(state)
            return
        distribution.time_out_undecided(f"no answer to the offer within {self.accept_timeout:g} s")
        if not distribution.active:
            return
        try:
            handle = state.path.open("rb")
        except OSError as exc:
            await self._cancel_remote(state, f"cannot read the file: {_os_reason(exc)}")
            return
        with handle:
            sha256 = hashlib.sha256()
            for index in range(offer.chunks):
                ready = await self._wait(state, distribution.may_send, self.ack_timeout)
                if state.cancel_reason is not None:
                    await self._cancel_remote(state)
                    return
                if not ready:
                    distribution.time_out_lagging(f"no acknowledgement within {self.ack_timeout:g} s")
                if not distribution.active:
                    # Those we stopped waiting for may still be listening: let them clean up now.
                    await self._cancel_remote(state, "nobody is receiving any more")
                    return
                expected = chunk_length(offer, index)
                data = handle.read(expected)
                if len(data) != expected:
                    await self._cancel_remote(state, "the file changed while it was being sent")
                    return
                sha256.update(data)
                await self._send(Chunk(offer.transfer_id, index, data))
                distribution.chunk_sent()
                self._emit(
                    TransferProgress(
                        state.key,
                        "out",
                        offer.name,
                        min(distribution.sent * offer.chunk_size, offer.size),
                        offer.size,
                        distribution.acknowledged_bytes(offer.chunk_size, offer.size),
                    )
                )
                await asyncio.sleep(0)  # let the application run between chunks
            if handle.read(1) or sha256.hexdigest() != offer.sha256:
                await self._cancel_remote(state, "the file changed while it was being sent")
                return
        await self._send(End(offer.transfer_id, offer.chunks))
        distribution.end_sent()
        await self._wait(state, lambda: distribution.settled, self.ack_timeout)
        if state.cancel_reason is not None:
            await self._cancel_remote(state)
            return
        for recipient in distribution.active:
            distribution.fail(recipient.alias, f"no confirmation within {self.ack_timeout:g} s")

    async def _wait(self, state: _Outgoing, ready: Callable[[], bool], timeout: float) -> bool:
        """Until ``ready()`` (True), a cancellation or ``timeout`` seconds (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not ready():
            remaining = deadline - loop.time()
            if state.cancel_reason is not None or remaining <= 0:
                return False
            state.changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await state.changed.wait()
        return True

    async def _cancel_remote(self, state: _Outgoing, reason: str | None = None) -> None:
        """Tell the receivers to delete what they have (if we still can); ``reason`` if not cancelled."""
        if state.cancel_reason is None:
            state.cancel_reason = reason or "cancelled"
        reason = state.cancel_reason
        state.distribution.fail_all(reason)
        with contextlib.suppress(ClientError, ValueError):
            await self._send(Cancel(state.offer.transfer_id, _short(reason)))

    async def _send(self, message: FileMessage) -> ev.MessageSent:
        content_type, data = encode(message)
        return await self.client.send_data(data, content_type)

    def _chunk_size(self, session: RoomSession) -> int:
        """Chunk bytes for the room's suite, sized for the fullest room the limits allow."""
        return room_chunk_size(session, self.client.limits)

    # --- replies, presence, disconnection -------------------------------------------------------

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

    def _member_left(self, alias: str, reason: str) -> None:
        for incoming in list(self._incoming.values()):
            if name_key(incoming.sender) == name_key(alias):
                self._fail_incoming(
                    incoming,
                    f"{incoming.sender} left before the transfer finished ({reason})",
                    tell_sender=False,
                )
        for state in self._outgoing.values():
            state.distribution.fail(alias, f"left the room ({reason})")
            state.changed.set()

    def _frame_rejected(self, sender: str, code: str) -> None:
        """A frame from ``sender`` failed a check: it may have been a chunk or a reply of ours."""
        reason = f"a message from {sender} failed verification ({code})"
        for incoming in list(self._incoming.values()):
            if name_key(incoming.sender) == name_key(sender):
                self._fail_incoming(incoming, reason, tell_sender=True)
        for state in self._outgoing.values():
            state.distribution.fail(sender, reason)
            state.changed.set()

    def _abort_all(self, reason: str) -> None:
        for incoming in list(self._incoming.values()):
            self._fail_incoming(incoming, reason, tell_sender=False)
        for state in self._outgoing.values():
            if state.cancel_reason is None:
                state.cancel_reason = reason
            state.changed.set()


# --- helpers ------------------------------------------------------------------------------------


def _regular_file_size(path: Path) -> int:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise TransferError(f"no such file: {path}") from None
    except OSError as exc:
        raise TransferError(f"cannot read {path}: {_os_reason(exc)}") from None
    if not stat.S_ISREG(info.st_mode):
        raise TransferError(f"{path} is not a regular file")
    if not os.access(path, os.R_OK):
        raise TransferError(f"cannot read {path}: permission denied")
    return info.st_size


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _no_room_for(directory: Path, size: int) -> str | None:
    try:
        free = os.statvfs(directory)
    except (OSError, AttributeError):
        return None
    available = free.f_bavail * free.f_frsize
    if size > available:
        return f"not enough disk space ({format_size(available)} free for {format_size(size)})"
    return None


def _sent_bytes(state: _Outgoing) -> int:
    return min(state.distribution.sent * state.offer.chunk_size, state.offer.size)


def _short(reason: str) -> str:
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 3] + "..."


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, ClientError) else str(exc)


def _os_reason(exc: OSError) -> str:
    return (os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__).lower()


__all__ = [
    "DEFAULT_MAX_SIZE",
    "OutgoingTransfer",
    "TransferError",
    "TransferManager",
    "TransferStatus",
]

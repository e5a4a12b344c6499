"""The sending side of file transfers: offer a file, then send it in chunks to those who accept.

:class:`Sender` checks the size limit before anything leaves, hashes the file and offers it (the
signed manifest, :class:`~chat.transfer.format.Offer`); each member answers accept or refuse; the
file then goes in chunks, each sealed and signed with the room's suite like any message, paced by
the receivers' acknowledgements (a window of at most :data:`MAX_IN_FLIGHT` bytes of frames and
:data:`WINDOW` chunks, :class:`~chat.transfer.state.Distribution`). Chunks are read and sealed in
batches of up to :data:`BATCH` (each chunk is its own message under its own key, so a hybrid suite
encrypts a batch side by side on bit slices, :func:`ciphers.modes.cbc_encrypt_each_job`); one batch
of the file is in memory at a time. A batch is sealed as a job of segments of about 50 ms
(:meth:`chat.client.chat_client.ChatClient.send_data_many`), the event loop running other tasks
between them, and its frames are written in index order before anything sealed after it (the
client's send lock): a batch of 256 chunks of 8 KiB takes about 0.9 s to seal on one core, but
holds the event loop for one segment at a time. A file that changes while it is sent is
cancelled, and the receivers told to delete what they have.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.client.errors import ClientError
from chat.client.events import TransferEvent, TransferFinished, TransferProgress, TransferStarted
from chat.protocol.limits import MiB
from chat.protocol.names import name_key
from chat.transfer.chunks import HYBRID_CHUNK, hybrid_frame_bytes, room_chunk_size
from chat.transfer.downloads import format_size, os_reason, sanitise_name
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
    chunk_count,
    chunk_length,
    new_transfer_id,
    short_reason,
)
from chat.transfer.state import Distribution, TransferStatus
from ciphers.rng import RNG

# Pacing in the hybrid suites, whose chunks a batch encrypts side by side, so that the wider the
# batch the faster (at 256 chunks a batch costs about what 161 do). A window of two batches lets
# the next be sealed while the receivers open the last: 512 chunks, frames of about 12.7 KiB
# (chunks.hybrid_frame_bytes), 6.3 MiB in flight. The relay queues at most 8 MiB for one reader
# (ServerConfig.queue_bytes) and cuts a reader above it; clients read ahead of their handlers
# (chat.client.read_ahead, up to 32 MiB), so what is in flight waits in the receiver's memory
# rather than in the relay, which holds about one batch's burst (3.2 MiB) per sender while a
# busy receiver catches up. The cost: a receiver handles the others' messages behind what is in
# flight to it (python -m bench chat: a third member's lines reached the receiver within 0.54 s
# during 8 MiB, 0.22 to 0.28 s with 2 MiB in flight).
BATCH = 256  # chunks sealed together, at most the window (each its own message and key and lane)
WINDOW = 2 * BATCH  # chunks in flight to the slowest receiver, at most (MAX_IN_FLIGHT bounds it too)
MAX_IN_FLIGHT = WINDOW * hybrid_frame_bytes(HYBRID_CHUNK)  # bytes of frames, per transfer
ACK_EVERY = 64  # receivers acknowledge every this many chunks (at most MAX_ACK_EVERY)
# The direct suites encrypt each chunk to each member with its public key, and decrypt ten times
# slower than they encrypt: a few chunks in flight, sealed one at a time.
DIRECT_WINDOW = 4
DIRECT_ACK_EVERY = 2
READ_BLOCK = 1 * MiB

Send = Callable[[FileMessage], Awaitable[ev.MessageSent]]
SendMany = Callable[[list[FileMessage]], Awaitable[list[ev.MessageSent]]]
EventSink = Callable[[TransferEvent], None]


@dataclass
class OutgoingState:
    """One file of ours on its way: its offer, its recipients, and how it ends."""

    key: str
    offer: Offer
    path: Path
    distribution: Distribution
    batch: int = 1  # chunks sealed together
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Future[TransferFinished] | None = None
    cancel_reason: str | None = None
    task: asyncio.Task[None] | None = None

    @property
    def sent_bytes(self) -> int:
        return min(self.distribution.sent * self.offer.chunk_size, self.offer.size)


class OutgoingTransfer:
    """Our transfer in progress: ``cancel()`` it, or ``await wait()`` for its :class:`TransferFinished`."""

    def __init__(self, sender: Sender, state: OutgoingState) -> None:
        self._sender = sender
        self._state = state
        self.key = state.key
        self.name = state.offer.name
        self.size = state.offer.size
        self.recipients = tuple(r.alias for r in state.distribution.recipients)

    def cancel(self, reason: str = "cancelled by the sender") -> bool:
        """Stop sending; receivers delete what they have. False if it had finished already."""
        return self._sender.cancel(self._state.offer.transfer_id, reason)

    async def wait(self, timeout: float | None = None) -> TransferFinished:
        """The transfer's end (TimeoutError after ``timeout`` seconds)."""
        assert self._state.finished is not None
        async with asyncio.timeout(timeout):
            return await asyncio.shield(self._state.finished)


class Sender:
    """Our files on their way, for one client (see the module notes).

    ``send`` seals one file message to the room, ``send_many`` several at once (in order, side by
    side); ``emit`` takes each event. Up to ``batch`` chunks, as many as the window lets go, are
    read and sealed together. ``window``, ``ack_every`` and ``batch`` pace the hybrid suites; the
    direct suites send at most :data:`DIRECT_WINDOW` and :data:`DIRECT_ACK_EVERY`, one at a time.
    ``in_flight`` bounds the hybrid window in bytes of frames (the window, the batch and the
    acknowledgement pace shrink to what fits). ``chunk_size``: bytes of file per chunk, or None for
    the room's. Timeouts, in seconds:
    ``accept_timeout`` for the answers to an offer, ``ack_timeout`` for each acknowledgement and
    for the final confirmations.
    """

    def __init__(
        self,
        client: ChatClient,
        send: Send,
        send_many: SendMany,
        emit: EventSink,
        *,
        rng: RNG,
        max_size: int,
        window: int,
        ack_every: int,
        batch: int,
        chunk_size: int | None,
        accept_timeout: float,
        ack_timeout: float,
        in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        if not 1 <= batch <= window or not 1 <= ack_every <= window:
            raise ValueError("a batch of chunks and an acknowledgement's worth must fit in the window")
        self.client = client
        self.send = send
        self.send_many = send_many
        self.batch = batch
        self.chunk_size = chunk_size
        self.emit = emit
        self.rng = rng
        self.max_size = max_size
        self.window = window
        self.ack_every = ack_every
        self.accept_timeout = accept_timeout
        self.ack_timeout = ack_timeout
        self.in_flight = in_flight
        self._states: dict[str, OutgoingState] = {}

    @property
    def active(self) -> list[TransferStatus]:
        return [
            TransferStatus(o.key, "out", o.offer.name, o.sent_bytes, o.offer.size)
            for o in self._states.values()
        ]

    async def start(self, path: str | os.PathLike[str]) -> OutgoingTransfer:
        """Offer the file at ``path`` and send it in the background; TransferError, before anything
        is sent, when we are not in a room, the file cannot be read, is above ``max_size``, or
        nobody else in the room gets our key."""
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
        recipients = list(session.recipients)  # those our key goes to (the hand-out policy's)
        if not client.members:
            raise TransferError("nobody else is in the room to receive the file")
        if not recipients:
            raise TransferError("nobody in the room gets your key (/who shows why): not sent")
        try:
            sha256 = await asyncio.to_thread(_sha256_file, source)
        except OSError as exc:
            raise TransferError(f"cannot read {source}: {os_reason(exc)}") from None
        chunk_size = self.chunk_size or room_chunk_size(session, client.limits)
        hybrid = session.suite.hybrid
        if hybrid:
            window = min(self.window, max(1, self.in_flight // hybrid_frame_bytes(chunk_size)))
        else:
            window = min(self.window, DIRECT_WINDOW)
        ack_every = min(self.ack_every, window if hybrid else DIRECT_ACK_EVERY)
        batch = min(self.batch, window) if hybrid else 1
        offer = Offer(
            new_transfer_id(self.rng.bytes(16)),
            name,
            size,
            sha256,
            chunk_size,
            chunk_count(size, chunk_size),
            ack_every,
        )
        key = f"{client.alias}/{offer.transfer_id}"
        distribution = Distribution(recipients, offer.chunks, window)
        state = OutgoingState(key, offer, source, distribution, batch=batch)
        state.finished = asyncio.get_running_loop().create_future()
        self._states[offer.transfer_id] = state
        try:
            sent = await self.send(offer)
        except (ClientError, ValueError) as exc:
            del self._states[offer.transfer_id]
            message = exc.message if isinstance(exc, ClientError) else str(exc)
            raise TransferError(f"could not offer {name}: {message}") from None
        offered = {name_key(alias) for alias in sent.recipients}
        for alias in recipients:
            if name_key(alias) not in offered:
                state.distribution.fail(alias, "was not in the room when the offer went out")
        self.emit(TransferStarted(key, "out", client.alias, name, size, sha256, tuple(sent.recipients)))
        state.task = asyncio.ensure_future(self._run(state))
        return OutgoingTransfer(self, state)

    def cancel(self, transfer_id: str, reason: str) -> bool:
        """Stop our transfer ``transfer_id`` and tell the receivers; False if there is none."""
        state = self._states.get(transfer_id)
        if state is None:
            return False
        if state.cancel_reason is None:
            state.cancel_reason = reason
            state.changed.set()
        return True

    async def close(self, timeout: float) -> None:
        """Cancel every transfer of ours (receivers told when possible) and wait for each, bounded."""
        tasks = [o.task for o in self._states.values() if o.task is not None]
        for state in self._states.values():
            state.cancel_reason = state.cancel_reason or "the sender closed the client"
            state.changed.set()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=timeout)

    # --- what the others say and do -------------------------------------------------------------

    def on_reply(self, sender: str, reply: Accept | Refuse | Ack | Done) -> None:
        """A receiver's answer about one of our transfers (others' transfers are ignored)."""
        if name_key(reply.owner) != name_key(self.client.alias):
            return
        state = self._states.get(reply.transfer_id)
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

    def fail_member(self, alias: str, reason: str) -> None:
        """``alias`` is out of every transfer of ours (it left, or a frame of its failed a check)."""
        for state in self._states.values():
            state.distribution.fail(alias, reason)
            state.changed.set()

    def abort_all(self, reason: str) -> None:
        """Stop every transfer of ours (we left or lost the connection)."""
        for state in self._states.values():
            if state.cancel_reason is None:
                state.cancel_reason = reason
            state.changed.set()

    # --- the sending loop -----------------------------------------------------------------------

    async def _run(self, state: OutgoingState) -> None:
        offer, distribution = state.offer, state.distribution
        try:
            await self._deliver(state)
        except ClientError as exc:
            distribution.fail_all(f"not sent: {exc.message}")
        except asyncio.CancelledError:
            distribution.fail_all("cancelled")
            raise
        finally:
            self._states.pop(offer.transfer_id, None)
            if state.cancel_reason is not None:
                distribution.fail_all(state.cancel_reason)
            finished = TransferFinished(
                state.key,
                "out",
                self.client.alias,
                offer.name,
                bool(distribution.delivered),
                distribution.summary(),
                offer.size,
                offer.sha256,
                outcomes=distribution.outcomes(),
            )
            if state.finished is not None and not state.finished.done():
                state.finished.set_result(finished)
            self.emit(finished)

    async def _deliver(self, state: OutgoingState) -> None:
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
            await self._cancel_remote(state, f"cannot read the file: {os_reason(exc)}")
            return
        with handle:
            sha256 = hashlib.sha256()
            index = 0
            while index < offer.chunks:
                # A whole batch once the window has room for it (fewer lanes encrypt slower), or
                # what the window gives once every acknowledgement due has come.
                reach = distribution.window - distribution.sent % offer.ack
                want = min(state.batch, offer.chunks - index, reach)
                ready = await self._wait(state, partial(_has_room, distribution, want), self.ack_timeout)
                if state.cancel_reason is not None:
                    await self._cancel_remote(state)
                    return
                if not ready and not distribution.may_send():
                    distribution.time_out_lagging(f"no acknowledgement within {self.ack_timeout:g} s")
                if not distribution.active:
                    # Those we stopped waiting for may still be listening: let them clean up now.
                    await self._cancel_remote(state, "nobody is receiving any more")
                    return
                chunks = []
                for i in range(index, index + min(want, distribution.room())):
                    expected = chunk_length(offer, i)
                    data = handle.read(expected)
                    if len(data) != expected:
                        await self._cancel_remote(state, "the file changed while it was being sent")
                        return
                    sha256.update(data)
                    chunks.append(Chunk(offer.transfer_id, i, data))
                if len(chunks) == 1:
                    await self.send(chunks[0])
                else:
                    await self.send_many(list(chunks))
                index += len(chunks)
                for _ in chunks:
                    distribution.chunk_sent()
                self.emit(
                    TransferProgress(
                        state.key,
                        "out",
                        offer.name,
                        state.sent_bytes,
                        offer.size,
                        distribution.acknowledged_bytes(offer.chunk_size, offer.size),
                    )
                )
                await asyncio.sleep(0)  # let the application run between batches
            if handle.read(1) or sha256.hexdigest() != offer.sha256:
                await self._cancel_remote(state, "the file changed while it was being sent")
                return
        await self.send(End(offer.transfer_id, offer.chunks))
        distribution.end_sent()
        await self._wait(state, lambda: distribution.settled, self.ack_timeout)
        if state.cancel_reason is not None:
            await self._cancel_remote(state)
            return
        for recipient in distribution.active:
            distribution.fail(recipient.alias, f"no confirmation within {self.ack_timeout:g} s")

    async def _wait(self, state: OutgoingState, ready: Callable[[], bool], timeout: float) -> bool:
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

    async def _cancel_remote(self, state: OutgoingState, reason: str | None = None) -> None:
        """Tell the receivers to delete what they have (if we still can); ``reason`` if not cancelled."""
        if state.cancel_reason is None:
            state.cancel_reason = reason or "cancelled"
        reason = state.cancel_reason
        state.distribution.fail_all(reason)
        with contextlib.suppress(ClientError, ValueError):
            await self.send(Cancel(state.offer.transfer_id, short_reason(reason)))


def _has_room(distribution: Distribution, chunks: int) -> bool:
    return distribution.room() >= chunks


def _regular_file_size(path: Path) -> int:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise TransferError(f"no such file: {path}") from None
    except OSError as exc:
        raise TransferError(f"cannot read {path}: {os_reason(exc)}") from None
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


__all__ = ["ACK_EVERY", "BATCH", "MAX_IN_FLIGHT", "WINDOW", "OutgoingState", "OutgoingTransfer", "Sender"]

"""The relay server: an asyncio protocol around the sans-IO one.

Each client connection is a :class:`~chat.relay.peer.Peer` with its own
:class:`~chat.protocol.connection.Connection`: bytes read go in, events come out and are handled
synchronously (join, leave, relay, ping), and the frames for each recipient go into that
recipient's own queue, which the relay hands to its transport as the transport drains. The relay
never decrypts: it stamps the sender's alias on what it forwards, hands each recipient only its
own payload, and shows the operator what it sees (:mod:`chat.relay.console`).

No head-of-line blocking: a sender never waits for one recipient. A recipient is cut off as a slow
reader (``slow_reader``) when a frame comes for it while more than ``queue_bytes`` already wait
for it (in its queue and its transport's buffer), or when it has taken none of what waits for it
for ``stall_timeout`` seconds; what waited is dropped, so its error frame is the next thing it
reads, and the room is told why. A room moves at the pace of most of its members: when at least
half of them are behind (more than :data:`~chat.relay.peer.PACE_MARK` waiting), the relay reads
the room's senders no further until it has caught up, and TCP slows them. So a stalled minority
never delays the others, and a room that is slow as a whole loses nobody.

Every join is challenged (the protocol's proof of possession): a valid ``join`` gets a fresh
``challenge``, and only a ``prove`` within ``prove_timeout`` that the configured
:class:`~chat.relay.config.Admission` accepts gets the seat and the ``welcome``. The relay holds no
key and checks no signature itself: ``python -m chat server`` installs the end-to-end layer's.

What a connection may hold (admission, deadlines, the bound on unfinished frames) is the
:class:`~chat.relay.guard.Guard`'s to say; the configuration is :class:`~chat.relay.config.ServerConfig`.

Bad input costs only the client that sent it: a refused frame gets an ``error`` frame, a frame that
leaves the stream out of step (length above the limit, the connection ending mid-frame) gets an
``error`` frame and the connection closed. Shutting down sends every client a ``shutdown`` frame,
ahead of any backlog, and gives them ``shutdown_grace`` seconds to read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import signal
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from chat.protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from chat.protocol.events import (
    ChallengeFrame,
    ConnectionClosed,
    ErrorFrame,
    Frame,
    JoinFrame,
    KeyBundleFrame,
    LeaveFrame,
    LeftFrame,
    MemberJoinedFrame,
    MemberLeftFrame,
    MessageFrame,
    PingFrame,
    PongFrame,
    ProveFrame,
    RelayedKeyBundleFrame,
    RelayedMessageFrame,
    ShutdownFrame,
    StrMap,
    WelcomeFrame,
)
from chat.protocol.framing import encode_frame
from chat.protocol.limits import CHALLENGE_BYTES
from chat.protocol.state import State
from chat.relay.config import Admission, ServerConfig, Wiretap
from chat.relay.console import WireView
from chat.relay.deadlines import Deadlines
from chat.relay.fanout import SharedPrefix
from chat.relay.guard import Cut, Guard
from chat.relay.peer import Peer
from chat.relay.rooms import Refusal, Room, Rooms
from chat.relay.websocket import WebPeer
from ciphers.rng import SYSTEM

__all__ = ["Admission", "RelayServer", "ServerConfig", "Wiretap", "run_server", "serve"]

BACKLOG = 1024  # connections the kernel may hold for us to accept (a class arriving at once)
FILES_SPARE = 64  # open files besides the connections: the listening socket, logs, the loop's own
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
REFUSALS_SHOWN_EVERY = 10.0  # seconds between the console's summaries of connections refused


@dataclass(frozen=True, slots=True)
class Proving:
    """A join waiting for its proof: the join, and the challenge it was sent."""

    join: JoinFrame
    challenge: bytes


class RelayServer:
    """A running relay. Create it with :func:`serve`; stop it with :meth:`close`."""

    def __init__(self, config: ServerConfig, view: WireView | None) -> None:
        self.config = config
        self.view = view
        self.rooms: Rooms[Peer] = Rooms(config.suite, config.kex, config.limits.max_members)
        self.guard: Guard[Peer] = Guard(config)
        self.peers: set[Peer] = set()  # admitted connections, until the transport reports them lost
        self.dirty: list[Peer] = []  # peers with frames queued, flushed once per round of reads
        self.to_cut: list[Cut[Peer]] = []
        self.proving: dict[Peer, Proving] = {}  # joins challenged, not yet proved
        self.unproved: Deadlines[Peer] = Deadlines()  # since each of those challenges
        self._refused: dict[str, int] = {}  # addresses refused at the door: refusals not yet shown
        self.internal_errors = 0  # bugs caught at a connection's edge; tests require 0
        self.host = config.host
        self.port = config.port
        self.web_port: int | None = None  # the HTTP and WebSocket port, once listening
        self._loop = asyncio.get_running_loop()
        self._server: asyncio.Server | None = None
        self._web_server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._closing = False
        self._flush_pending = False
        self._all_gone = asyncio.Event()
        self._closed = asyncio.Event()
        self._show_frames = view is not None and view.frames
        self._handlers: dict[type[Frame], Callable[[Peer, Any], None]] = {
            MessageFrame: self._relay_message,
            KeyBundleFrame: self._relay_key_bundle,
            JoinFrame: self._join,
            ProveFrame: self._prove,
            LeaveFrame: self._leave,
            PingFrame: self._ping,
        }

    async def start(self) -> None:
        config = self.config
        self._server = await self._loop.create_server(
            lambda: Peer(self), config.host, config.port, backlog=BACKLOG
        )
        self.host, self.port = self._server.sockets[0].getsockname()[:2]
        if config.web_port is not None:
            site = config.site
            self._web_server = await self._loop.create_server(
                lambda: WebPeer(self, site), config.host, config.web_port, backlog=BACKLOG
            )
            self.web_port = self._web_server.sockets[0].getsockname()[1]
        self._sweeper = asyncio.create_task(self._sweep())

    async def __aenter__(self) -> RelayServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- connections ----------------------------------------------------------------------------

    def admit(self, peer: Peer) -> None:
        """A new connection: count it in, or refuse it with ``server_full`` (one frame, then closed)."""
        address = peer.transport.get_extra_info("peername")
        if isinstance(address, tuple):
            peer.address, peer.label = str(address[0]), f"{address[0]}:{address[1]}"
        else:
            peer.address = peer.label = str(address)
        verdict = (
            "server shutting down" if self._closing else self.guard.admission(peer.address, len(self.peers))
        )
        if isinstance(verdict, Peer):  # the oldest connection not in a room makes way
            self.drop(
                verdict, ErrorCode.SERVER_FULL, "server full: a newcomer takes the place of this connection"
            )
            verdict.transport.abort()
        elif verdict is not None:
            self._log_refused_at_the_door(peer, verdict)
            peer.closed = True
            peer.transport.write(encode_frame(ErrorFrame(ErrorCode.SERVER_FULL, verdict, True).to_dict()))
            peer.transport.close()
            self._abort_later(peer, self.config.shutdown_grace)
            return
        peer.admitted = True
        peer.bound_buffers()
        self.peers.add(peer)
        self.guard.admitted(peer, peer.address, self._loop.time())
        if self.view is not None and peer.shown:
            self.view.connected(peer.label)

    # --- what a browser's connection adds (chat.relay.websocket) ----------------------------------

    def opened(self, peer: Peer) -> None:
        """``peer``'s WebSocket is open: from now on it is a chat connection like a TCP one."""
        peer.shown = True
        if self.view is not None:
            self.view.connected(peer.label)

    def progressed(self, peer: Peer) -> None:
        """Bytes came that are not yet a frame nor a request: the frame clock and bound see them."""
        if not peer.closed:
            self.to_cut += self.guard.received(peer, 0, peer.buffered, self._loop.time())
            self.flush_soon()

    def serving(self, peer: Peer) -> None:
        """``peer`` sent a whole HTTP request and gets a file: its join deadline is met, its request
        is no longer an unfinished frame (a download may take longer; the stall deadline times it)."""
        self.guard.joined(peer)
        self.to_cut += self.guard.received(peer, 1, 0, self._loop.time())

    def served(self, peer: Peer) -> None:
        """The file's last bytes are with the transport: close once written (abort after ``linger``)."""
        peer.closed = True
        self._close(peer, self.config.linger)

    def refused(self, peer: Peer, message: str) -> None:
        """Show the operator a refusal the protocol's error frames do not carry (a refused handshake)."""
        self._log_refused(peer.label, ErrorCode.UNAUTHORIZED, message)

    def _log_refused_at_the_door(self, peer: Peer, refusal: str) -> None:
        """The first refusal from an address is shown; the next ones are counted, shown as one line
        every :data:`REFUSALS_SHOWN_EVERY` seconds (a flood must not flood the operator's console)."""
        if peer.address in self._refused:
            self._refused[peer.address] += 1
            return
        self._refused[peer.address] = 0
        self._log_refused(peer.label, ErrorCode.SERVER_FULL, refusal)

    def _show_refusals(self) -> None:
        for address, count in self._refused.items():
            if count:
                message = f"{count} more connections refused in {REFUSALS_SHOWN_EVERY:g} s"
                self._log_refused(address, ErrorCode.SERVER_FULL, message)
        self._refused.clear()

    def received(self, peer: Peer, data: bytes) -> None:
        """Bytes from ``peer`` (``b""``: the end of its input); a bug of ours costs this connection only.

        A sender in a congested room is held: what it sent waits, unread, until the room catches up.
        """
        if peer.closed:
            return
        wiretap = self.config.wiretap
        if wiretap is not None and data:
            wiretap(peer.label, "in", data)
        try:
            peer.conn.receive_data(data)
            room = peer.room
            if room is not None and (peer in room.held or room.congested):
                self._hold(peer, room)
                return
            self._handle_events(peer)
        except Exception as exc:
            self._internal_error(peer, exc)
        self.flush_soon()

    def _handle_events(self, peer: Peer) -> None:
        """Handle the whole frames ``peer``'s connection holds, unless its room becomes congested."""
        conn = peer.conn
        handlers = self._handlers
        frames = 0
        while not peer.closed:
            room = peer.room
            if room is not None and room.congested:
                self._hold(peer, room)
                return
            try:
                event = conn.next_event()
            except RemoteProtocolError as exc:
                frames += 1
                self._refuse(peer, exc)
                continue
            if event is None:
                break
            frames += 1
            if type(event) is ConnectionClosed:
                if self.view is not None and peer.shown:
                    self.view.disconnected(peer.label, "closed by the client")
                self._finish(peer)
                return
            handlers[type(event)](peer, event)
        if not peer.closed:
            self.to_cut += self.guard.received(peer, frames, peer.buffered, self._loop.time())

    def _internal_error(self, peer: Peer, exc: Exception) -> None:
        self.internal_errors += 1
        self.drop(peer, ErrorCode.INTERNAL, f"internal error: {type(exc).__name__}: {exc}")

    def _refuse(self, peer: Peer, exc: RemoteProtocolError) -> None:
        """Answer a frame the protocol refused; close the connection if the stream is out of step."""
        if exc.fatal:
            self.drop(peer, exc.code, exc.message, ref=exc.ref)
            return
        self._log_refused(peer.label, exc.code, exc.message)
        peer.send(self._error(exc.code, exc.message, ref=exc.ref))

    def _error(
        self, code: ErrorCode, message: str, *, fatal: bool = False, ref: str | None = None
    ) -> ErrorFrame:
        return ErrorFrame(code, message[: self.config.limits.max_message], fatal, ref)

    def _log_refused(self, label: str, code: ErrorCode, message: str) -> None:
        if self.view is not None:
            self.view.refused(label, code.value, message)

    def cut(self, peer: Peer, code: ErrorCode, message: str) -> None:
        """Drop ``peer`` once the current round is handled (so that no drop runs inside a fan-out)."""
        if not peer.doomed:
            peer.doomed = True
            self.to_cut.append(Cut(peer, code, message))

    def drop(self, peer: Peer, code: ErrorCode, message: str, *, ref: str | None = None) -> None:
        """Disconnect ``peer`` with an ``error`` frame saying why, and tell its room.

        A client that is behind (its transport paused) loses its backlog, so the error is the next
        frame it reads; otherwise the error follows what was queued.
        """
        if peer.closed:
            return
        self._log_refused(peer.label, code, message)
        peer.reason = code.value
        self._depart(peer)
        peer.closed = True
        if peer.paused:
            peer.outbox.clear()
        with contextlib.suppress(LocalProtocolError):
            error = peer.conn.send(self._error(code, message, fatal=True, ref=ref))
            peer.outbox.put(error, len(error))
        self._close(peer, self.config.linger)

    def _finish(self, peer: Peer) -> None:
        """The client ended its side cleanly: it leaves its room and gets what was queued for it."""
        peer.reason = "disconnected"
        self._depart(peer)
        peer.closed = True
        self._close(peer, self.config.linger)

    def _close(self, peer: Peer, grace: float) -> None:
        """Write what is queued, close once written, and abort if it is not read within ``grace``."""
        self.guard.forget(peer)
        peer.write_all()
        peer.transport.close()
        self._abort_later(peer, grace)

    def _abort_later(self, peer: Peer, grace: float) -> None:
        if not peer.lost and peer.abort_handle is None:
            peer.abort_handle = self._loop.call_later(grace, self._abort, peer)

    @staticmethod
    def _abort(peer: Peer) -> None:
        peer.abort_handle = None
        if not peer.lost:
            peer.transport.abort()

    def lost(self, peer: Peer, exc: Exception | None) -> None:
        """The transport is gone: forget the connection entirely."""
        if peer.abort_handle is not None:
            peer.abort_handle.cancel()
            peer.abort_handle = None
        peer.outbox.clear()
        if not peer.admitted:
            return
        if not peer.closed:
            if self.view is not None and not self._closing and peer.shown:
                self.view.disconnected(peer.label, type(exc).__name__ if exc else "connection lost")
            peer.reason = "disconnected"
            self._depart(peer)
            peer.closed = True
            self.guard.forget(peer)
        self.peers.discard(peer)
        self.guard.gone(peer.address)
        if self._closing and not self.peers:
            self._all_gone.set()
        self.flush_soon()

    def flush_soon(self) -> None:
        """Flush once the connections the event loop found readable in this round are all read, so
        that each recipient gets one write for everything they brought."""
        if not self._flush_pending:
            self._flush_pending = True
            self._loop.call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._flush_pending = False
        try:
            self.flush()
        except Exception:  # a bug of ours: counted (tests require none), never an event-loop traceback
            self.internal_errors += 1

    def flush(self) -> None:
        """Cut off the clients ordered cut (which may order others), then feed every transport."""
        for _ in range(len(self.peers) + 2):
            if self.to_cut:
                to_cut, self.to_cut = self.to_cut, []
                for order in to_cut:
                    self.drop(order.peer, order.code, order.message)
                continue
            if not self.dirty:
                return
            dirty, self.dirty = self.dirty, []
            for peer in dirty:
                if peer.closed:
                    peer.dirty = False
                else:
                    peer.feed()

    def writing_paused(self, peer: Peer) -> None:
        """``peer``'s transport is full: from now on it must take some of it within ``stall_timeout``."""
        if not peer.closed:
            self.guard.writing_paused(peer, peer.transport.get_write_buffer_size(), self._loop.time())

    def writing_resumed(self, peer: Peer) -> None:
        self.guard.writing_resumed(peer)

    # --- pacing: a room moves at the pace of most of its members ---------------------------------

    def _hold(self, peer: Peer, room: Room[Peer]) -> None:
        """Read no more from ``peer`` until its room has caught up (TCP then slows the sender)."""
        if peer not in room.held:
            room.held.add(peer)
            peer.transport.pause_reading()

    def release(self, senders: Iterable[Peer]) -> None:
        """Read held senders again, starting with what they sent while held."""
        for peer in senders:
            if not peer.closed:
                peer.transport.resume_reading()
                self._loop.call_soon(self._resume, peer)

    def _resume(self, peer: Peer) -> None:
        room = peer.room
        if peer.closed or (room is not None and peer in room.held):
            return
        try:
            self.guard.restart_frame(peer, self._loop.time())
            self._handle_events(peer)
        except Exception as exc:
            self._internal_error(peer, exc)
        self.flush_soon()

    # --- deadlines ------------------------------------------------------------------------------

    async def _sweep(self) -> None:
        tick = self.config.tick
        show_refusals_at = self._loop.time() + REFUSALS_SHOWN_EVERY
        while not self._closing:
            await asyncio.sleep(tick)
            try:
                now = self._loop.time()
                self.to_cut += self.guard.expired(now, self._waiting)
                for peer in self.unproved.expired(now, self.config.prove_timeout):
                    self._unproved(peer)
                self.flush()
                if now >= show_refusals_at:
                    self._show_refusals()
                    show_refusals_at = now + REFUSALS_SHOWN_EVERY
            except Exception:  # a bug of ours: counted, and the sweeping goes on
                self.internal_errors += 1

    @staticmethod
    def _waiting(peer: Peer) -> tuple[int, int]:
        buffered = peer.transport.get_write_buffer_size()
        return buffered, buffered + peer.outbox.size

    # --- the protocol's events ------------------------------------------------------------------

    def _join(self, peer: Peer, join: JoinFrame) -> None:
        """Answer a valid ``join`` with a fresh challenge; the seat waits for the proof (:meth:`_prove`)."""
        challenge = SYSTEM.bytes(CHALLENGE_BYTES)
        self.proving[peer] = Proving(join, challenge)  # replaces a join refused while it was proving
        self.unproved.start(peer, self._loop.time())
        peer.send(ChallengeFrame(challenge))
        if self.view is not None:
            self.view.challenged(peer.label, join.room, join.alias, challenge)

    def _prove(self, peer: Peer, proof: ProveFrame) -> None:
        """Ask the admission hook about the proof; seat the joiner, or refuse it with the reason."""
        proving = self.proving.pop(peer)  # the state machine admits prove only after a challenge
        self.unproved.stop(peer)
        join = proving.join
        admission = self.config.admission
        if admission is not None:
            reason = admission.check(join, proving.challenge, proof)
            if reason is not None:
                self._refuse_join(peer, ErrorCode.UNAUTHORIZED, reason)
                return
        try:
            room = self.rooms.join(join, peer)
        except Refusal as refusal:
            self._refuse_join(peer, refusal.code, refusal.message)
            return
        self.guard.joined(peer)
        others = room.others(join.alias)
        welcome_members = tuple(seat.member for seat in others)
        peer.room, peer.alias = room, join.alias
        peer.send(WelcomeFrame(room.name, room.suite, room.kex, join.alias, welcome_members))
        joined = MemberJoinedFrame(join.member)
        frame = encode_frame(joined.to_dict())
        for seat in others:
            seat.peer.send(joined, frame, len(frame))
        if self.view is not None:
            self.view.joined(peer.label, room.name, join.alias, room.suite, room.kex, join.identity)

    def _unproved(self, peer: Peer) -> None:
        """The deadline of ``peer``'s challenge passed without a proof: the join is refused."""
        proving = self.proving.pop(peer, None)
        self.unproved.stop(peer)
        if proving is None or peer.closed or peer.conn.state is not State.PROVING:
            return  # a join already refused (by an error frame sent while proving)
        timeout = self.config.prove_timeout
        self._refuse_join(peer, ErrorCode.UNAUTHORIZED, f"no proof of possession within {timeout:g} s")

    def _refuse_join(self, peer: Peer, code: ErrorCode, message: str) -> None:
        self._log_refused(peer.label, code, message)
        peer.send(self._error(code, message, ref="join"))

    def _leave(self, peer: Peer, _leave: LeaveFrame) -> None:
        room = peer.room
        assert room is not None  # the state machine admits leave only in a room
        peer.reason = "left"
        self._depart(peer)
        peer.reason = "disconnected"
        peer.send(LeftFrame(room.name))

    def _depart(self, peer: Peer) -> None:
        """Take ``peer`` out of its room and tell the others (unless the whole server is stopping)."""
        self.proving.pop(peer, None)
        self.unproved.stop(peer)
        room = peer.room
        if room is None:
            return
        peer.room = None
        self.rooms.leave(room.name, peer.alias)  # no longer behind in it, nor held
        self.release(room.release())
        if self.view is not None:
            self.view.left(room.name, peer.alias, peer.reason)
        if self._closing or not room.seats:
            return
        left = MemberLeftFrame(peer.alias, peer.reason)
        frame = encode_frame(left.to_dict())
        for seat in list(room.seats.values()):
            seat.peer.send(left, frame, len(frame))

    def _ping(self, peer: Peer, ping: PingFrame) -> None:
        peer.send(PongFrame(ping.data))

    def _relay_message(self, peer: Peer, message: MessageFrame) -> None:
        room = peer.room
        assert room is not None  # the state machine admits message only in a room
        if message.payloads is not None:
            self._relay_each(peer, room, message, message.payloads, None)
            return
        event = RelayedMessageFrame(peer.alias, message.body)
        try:
            frame = encode_frame(event.to_dict(), self.config.limits.max_frame)
        except LocalProtocolError as exc:
            self._refuse_relayed(peer, exc, event.type)
            return
        count = 0
        for seat in list(room.seats.values()):
            if seat.peer is not peer:
                seat.peer.send(event, frame, len(frame))
                count += 1
        if self._show_frames and self.view is not None:
            self.view.relayed(room.name, peer.alias, event.type, len(frame), count, message.body)

    def _relay_key_bundle(self, peer: Peer, bundle: KeyBundleFrame) -> None:
        room = peer.room
        assert room is not None  # the state machine admits key_bundle only in a room
        self._relay_each(peer, room, bundle, bundle.payloads, bundle.key_id)

    def _relay_each(
        self,
        peer: Peer,
        room: Room[Peer],
        event: MessageFrame | KeyBundleFrame,
        payloads: Mapping[str, StrMap],
        key_id: str | None,
    ) -> None:
        """Deliver to each recipient named in ``payloads`` the common body and its own entry only."""
        common: RelayedMessageFrame | RelayedKeyBundleFrame = (
            RelayedMessageFrame(peer.alias, event.body)
            if key_id is None
            else RelayedKeyBundleFrame(peer.alias, key_id, {}, event.body)
        )
        shared = SharedPrefix(common, self.config.limits.max_frame)
        missing: list[str] = []
        size = 0
        delivered = 0
        for alias, payload in payloads.items():
            seat = room.seat(alias)
            if seat is None or seat.peer is peer:
                missing.append(alias)
                continue
            relayed: RelayedMessageFrame | RelayedKeyBundleFrame = (
                RelayedMessageFrame(peer.alias, event.body, payload)
                if key_id is None
                else RelayedKeyBundleFrame(peer.alias, key_id, payload, event.body)
            )
            try:
                frame, frame_size = shared.frame(payload)
            except LocalProtocolError as exc:
                self._refuse_relayed(peer, exc, relayed.type)
                return
            seat.peer.send(relayed, frame, frame_size)
            size += frame_size
            delivered += 1
        if self._show_frames and self.view is not None:
            self.view.relayed(
                room.name, peer.alias, event.type, size, delivered, event.body, payloads, key_id
            )
        if missing:
            names = ", ".join(repr(alias) for alias in missing[:8])
            message = f"not delivered to {names}: no such other member in room {room.name!r}"
            self._log_refused(peer.label, ErrorCode.UNKNOWN_MEMBER, message)
            peer.send(self._error(ErrorCode.UNKNOWN_MEMBER, message, ref=event.type))

    def _refuse_relayed(self, peer: Peer, exc: LocalProtocolError, kind: str) -> None:
        self._log_refused(peer.label, exc.code, exc.message)
        peer.send(self._error(exc.code, exc.message, ref=kind))

    # --- stopping -------------------------------------------------------------------------------

    async def close(self, reason: str = "server shutting down") -> None:
        """Stop accepting, send every client ``shutdown``, give them the grace to read it, close."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        for listening in (self._server, self._web_server):
            if listening is not None:
                listening.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        self.flush()
        peers = [peer for peer in self.peers if not peer.closed]
        for peer in self.peers:  # dropped before, and lingering: they get the shutdown's grace only
            if peer.closed and peer.abort_handle is not None:
                peer.abort_handle.cancel()
                peer.abort_handle = None
                self._abort_later(peer, self.config.shutdown_grace)
        if self.view is not None:
            self.view.stopping(len(peers))
        shutdown = ShutdownFrame(reason[: self.config.limits.max_short])
        frame = encode_frame(shutdown.to_dict())
        for peer in peers:
            self._depart(peer)
            peer.closed = True
            peer.outbox.clear()  # the shutdown frame goes ahead of any backlog
            with contextlib.suppress(LocalProtocolError):
                peer.conn.send(shutdown, encoded=frame)
                peer.outbox.put(frame, len(frame))
            self._close(peer, self.config.shutdown_grace)
        if self.peers:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.shutdown_grace + 1.0):
                    await self._all_gone.wait()
        for peer in list(self.peers):
            self._abort(peer)
        await asyncio.sleep(0)  # the transports report their connections lost
        for listening in (self._server, self._web_server):
            if listening is not None:
                await listening.wait_closed()
        self._closed.set()

    async def wait_closed(self) -> None:
        """Until :meth:`close` has finished."""
        await self._closed.wait()


async def serve(config: ServerConfig, view: WireView | None = None) -> RelayServer:
    """Start a relay listening on ``config.host``/``config.port``; ``.port`` tells the port it got."""
    server = RelayServer(config, view)
    await server.start()
    return server


def raise_open_file_limit(wanted: int) -> int:
    """Raise this process's soft limit on open files towards ``wanted`` (the hard limit caps it).

    Returns the limit now in force. Each connection is an open file; the common default of 1024
    would refuse a lecture hall with "too many open files" before ``max_connections`` is reached.
    """
    try:
        import resource
    except ImportError:  # not on POSIX: nothing to raise
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return wanted if soft == resource.RLIM_INFINITY else soft
    new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        return new
    return soft


def return_large_blocks_to_the_system(threshold: int = 256 * 1024) -> bool:
    """On glibc, allocate every block of ``threshold`` bytes or more with mmap, so that it goes back
    to the system when freed. Whether it could be set.

    glibc raises that threshold by itself each time it frees such a block (up to 32 MiB), and from
    then on serves large blocks from the heap, which seldom shrinks: after a flood of unfinished
    1 MiB frames was cut off, the relay kept 50 MB it no longer used. Fixing the threshold (``mallopt``,
    ``M_MMAP_THRESHOLD``) turns that off; frame buffers and queues are then returned as they are freed.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))


def run_server(
    config: ServerConfig,
    view: WireView | None = None,
    announce: Callable[[RelayServer], None] | None = None,
) -> int:
    """Run a relay until SIGINT (Ctrl-C) or SIGTERM, then shut down cleanly. Returns the exit status."""
    return_large_blocks_to_the_system()
    files = raise_open_file_limit(config.max_connections + FILES_SPARE)
    if files < config.max_connections + FILES_SPARE:
        most = max(files - FILES_SPARE, 1)
        print(
            f"note: the open-file limit is {files}: at most {most} connections (ulimit -n to raise it)",
            file=sys.stderr,
        )
        config = replace(config, max_connections=most)

    async def main() -> None:
        server = await serve(config, view)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if announce is not None:
            announce(server)
        await stop.wait()
        await server.close()

    asyncio.run(main())
    return 0

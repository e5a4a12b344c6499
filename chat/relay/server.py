"""The relay server: a thin asyncio loop around the sans-IO protocol.

Each client gets a :class:`~chat.protocol.connection.Connection`; bytes read go in, events come
out and are handled synchronously (join, leave, relay, ping), and the bytes to send go straight to
the recipients' transports. The relay never decrypts: it stamps the sender's alias on what it
forwards, hands each recipient only its own payload, and shows the operator what it sees
(:mod:`chat.relay.console`).

Every join is challenged (the protocol's proof of possession): a valid ``join`` gets a fresh
``challenge``, and only a ``prove`` within ``prove_timeout`` that the configured
:class:`Admission` accepts gets the seat and the ``welcome``. The relay holds no key and checks
no signature itself: ``python -m chat server`` installs the end-to-end layer's admission.

Bad input costs only the client that sent it: a refused frame gets an ``error`` frame, a frame that
leaves the stream out of step (length above the limit, the connection ending mid-frame) gets an
``error`` frame and the connection closed. Each client's send queue is its transport's write
buffer, bounded by ``queue_bytes``: a client whose queue would pass the bound, or that stays above
a quarter of it for ``stall_timeout`` seconds while others send, is disconnected as a slow reader,
and the room is told why. Shutting down sends every client a ``shutdown`` frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from chat.protocol.connection import Connection
from chat.protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from chat.protocol.events import (
    ChallengeFrame,
    ConnectionClosed,
    ErrorFrame,
    Frame,
    JoinFrame,
    KexName,
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
    SuiteName,
    WelcomeFrame,
)
from chat.protocol.framing import encode_frame
from chat.protocol.limits import CHALLENGE_BYTES, DEFAULT_LIMITS, KiB, Limits, MiB
from chat.protocol.state import Role, State
from chat.relay.console import WireView
from chat.relay.rooms import Refusal, Room, Rooms
from ciphers.rng import SYSTEM

Wiretap = Callable[[str, str, bytes], None]


class Admission(Protocol):
    """Whether a joiner that answered its challenge may enter (``ServerConfig.admission``)."""

    def check(self, join: JoinFrame, challenge: bytes, proof: ProveFrame) -> str | None:
        """None admits ``join``; otherwise the one-line reason it is refused (sent as ``unauthorized``)."""
        ...


@dataclass(frozen=True)
class ServerConfig:
    """Everything the relay needs; port 0 picks a free port (tests)."""

    host: str = "127.0.0.1"
    port: int = 5050
    suite: SuiteName = "3des"  # for rooms whose first client asks for none
    kex: KexName = "rsa"
    limits: Limits = DEFAULT_LIMITS
    queue_bytes: int = 4 * MiB  # bound of each client's send queue
    stall_timeout: float = 5.0  # how long a sender waits for a recipient above a quarter of the bound
    idle_timeout: float | None = 600.0  # nothing received for this long: disconnected (clients ping)
    max_connections: int = 256
    read_size: int = 64 * KiB
    shutdown_grace: float = 2.0  # how long shutdown waits for clients to take their last frames
    prove_timeout: float = 10.0  # how long a joiner has to answer its challenge
    # Asked on each proof; None seats anyone who answers (tests of the relay alone).
    admission: Admission | None = None
    # Called with (peer, "in" or "out", bytes) for every chunk read and written (whole frames out).
    wiretap: Wiretap | None = None


class Peer:
    """One client connection: its protocol state, its transport, and where it sits."""

    __slots__ = (
        "alias",
        "closed",
        "conn",
        "high_water",
        "label",
        "last_seen",
        "pending",
        "queue_bytes",
        "reason",
        "room",
        "server",
        "task",
        "transport",
        "wiretap",
        "writer",
    )

    def __init__(self, server: RelayServer, writer: asyncio.StreamWriter, label: str) -> None:
        config = server.config
        self.server = server
        self.conn = Connection(Role.SERVER, config.limits)
        self.writer = writer
        self.transport = writer.transport
        self.queue_bytes = config.queue_bytes
        self.high_water = config.queue_bytes // 4
        self.wiretap = config.wiretap
        self.label = label
        self.room: Room[Peer] | None = None
        self.alias = ""
        self.closed = False
        self.reason = "disconnected"  # what the room is told when this client goes
        self.last_seen = asyncio.get_running_loop().time()
        self.task: asyncio.Task[None] | None = None
        self.pending: list[bytes] = []

    def send(self, event: Frame, encoded: bytes | None = None) -> None:
        """Queue ``event`` (``encoded`` once for a fan-out) unless the client is gone.

        Frames wait in ``pending`` until the server flushes, once per batch of frames read, so a
        client gets one write per batch rather than one per frame.
        """
        if self.closed:
            return
        data = self.conn.send(event, encoded=encoded)
        if not self.pending:
            self.server.dirty.append(self)
        self.pending.append(data)

    def flush(self) -> None:
        """Write what is pending. The send queue is the transport's write buffer: a client whose queue
        is already past ``queue_bytes`` is dropped instead; one past a quarter of it holds the
        current sender (see :meth:`RelayServer._wait_for_readers`).
        """
        pending = self.pending
        if self.closed or not pending:
            pending.clear()
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        transport = self.transport
        if transport.is_closing():  # the connection is going; its reader will see to the rest
            return
        queued = transport.get_write_buffer_size()
        if queued > self.queue_bytes:
            message = f"send queue full ({queued} bytes): the client is not reading"
            self.server.drop(self, ErrorCode.SLOW_READER, message)
            return
        if self.wiretap is not None:
            self.wiretap(self.label, "out", data)
        transport.write(data)
        if queued + len(data) > self.high_water:
            self.server.stalled.append(self)


@dataclass(frozen=True, slots=True)
class Proving:
    """A join waiting for its proof: the join, the challenge it was sent, and the deadline's timer."""

    join: JoinFrame
    challenge: bytes
    deadline: asyncio.TimerHandle


class RelayServer:
    """A running relay. Create it with :func:`serve`; stop it with :meth:`close`."""

    def __init__(self, config: ServerConfig, view: WireView | None) -> None:
        self.config = config
        self.view = view
        self.rooms: Rooms[Peer] = Rooms(config.suite, config.kex, config.limits.max_members)
        self.peers: set[Peer] = set()
        self.dirty: list[Peer] = []  # peers with frames pending, flushed after each batch read
        self.stalled: list[Peer] = []
        self.proving: dict[Peer, Proving] = {}  # joins challenged, not yet proved
        self.internal_errors = 0  # bugs caught at a connection's edge; tests require 0
        self.host = config.host
        self.port = config.port
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._closing = False
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
        self._server = await asyncio.start_server(self._serve_client, self.config.host, self.config.port)
        self.host, self.port = self._server.sockets[0].getsockname()[:2]
        if self.config.idle_timeout is not None:
            self._sweeper = asyncio.create_task(self._sweep_idle(self.config.idle_timeout))

    async def __aenter__(self) -> RelayServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- connections ----------------------------------------------------------------------------

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = writer.get_extra_info("peername")
        label = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
        peer = Peer(self, writer, label)
        if self._closing or len(self.peers) >= self.config.max_connections:
            code, message = (
                (ErrorCode.SERVER_FULL, f"server full ({self.config.max_connections} connections)")
                if not self._closing
                else (ErrorCode.SERVER_FULL, "server shutting down")
            )
            self._log_refused(label, code, message)
            writer.write(peer.conn.send(ErrorFrame(code, message, fatal=True)))
            writer.close()
            return
        peer.task = asyncio.current_task()
        self.peers.add(peer)
        if self.view is not None:
            self.view.connected(label)
        try:
            await self._read_loop(peer, reader)
        except (ConnectionError, OSError) as exc:
            peer.reason = "disconnected"
            if self.view is not None and not peer.closed:
                self.view.disconnected(label, type(exc).__name__)
        except Exception as exc:  # a bug of ours: this connection alone pays for it
            self.internal_errors += 1
            self.drop(peer, ErrorCode.INTERNAL, f"internal error: {type(exc).__name__}: {exc}")
        finally:
            self._depart(peer)
            peer.closed = True
            self.peers.discard(peer)
            self.flush()
            writer.close()
            self._abort_later(writer)

    async def _read_loop(self, peer: Peer, reader: asyncio.StreamReader) -> None:
        conn = peer.conn
        loop = asyncio.get_running_loop()
        read_size = self.config.read_size
        wiretap = self.config.wiretap
        handlers = self._handlers
        while not peer.closed:
            data = await reader.read(read_size)
            peer.last_seen = loop.time()
            if wiretap is not None and data:
                wiretap(peer.label, "in", data)
            conn.receive_data(data)
            while not peer.closed:
                try:
                    event = conn.next_event()
                except RemoteProtocolError as exc:
                    self._refuse(peer, exc)
                    continue
                if event is None:
                    break
                if type(event) is ConnectionClosed:
                    if self.view is not None and not self._closing:
                        self.view.disconnected(peer.label, "closed by the client")
                    return
                handlers[type(event)](peer, event)
            self.flush()
            if self.stalled:
                stalled, self.stalled = self.stalled, []
                await self._wait_for_readers(stalled)

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

    def drop(self, peer: Peer, code: ErrorCode, message: str, *, ref: str | None = None) -> None:
        """Disconnect ``peer`` with an ``error`` frame saying why, and tell its room."""
        if peer.closed:
            return
        self._log_refused(peer.label, code, message)
        peer.reason = code.value
        self._depart(peer)
        peer.closed = True
        if code is ErrorCode.SLOW_READER:
            peer.pending.clear()
        with contextlib.suppress(LocalProtocolError):
            peer.pending.append(peer.conn.send(self._error(code, message, fatal=True, ref=ref)))
        peer.transport.write(b"".join(peer.pending))  # past the bound: we are closing
        peer.pending.clear()
        peer.writer.close()
        self._abort_later(peer.writer)

    def flush(self) -> None:
        """Write every client's pending frames (dropping a client may queue more: loop until none)."""
        for _ in range(len(self.peers) + 1):
            if not self.dirty:
                return
            dirty, self.dirty = self.dirty, []
            for peer in dirty:
                peer.flush()

    def _abort_later(self, writer: asyncio.StreamWriter) -> None:
        """Closing waits for the queue to flush; a client that never reads is cut off after the grace."""
        loop = asyncio.get_running_loop()
        loop.call_later(self.config.shutdown_grace, writer.transport.abort)

    async def _wait_for_readers(self, stalled: list[Peer]) -> None:
        """Hold the sender until its recipients read (TCP then slows it); drop those that do not."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.stall_timeout
        for peer in dict.fromkeys(stalled):
            if peer.closed:
                continue
            try:
                async with asyncio.timeout(max(deadline - loop.time(), 0.0)):
                    await peer.writer.drain()
            except TimeoutError:
                self.drop(peer, ErrorCode.SLOW_READER, f"did not read for {self.config.stall_timeout:g} s")
                self.flush()
            except (ConnectionError, OSError):
                continue

    async def _sweep_idle(self, idle_timeout: float) -> None:
        loop = asyncio.get_running_loop()
        period = min(max(idle_timeout / 4, 0.01), 30.0)
        while not self._closing:
            await asyncio.sleep(period)
            now = loop.time()
            for peer in [p for p in self.peers if now - p.last_seen > idle_timeout]:
                self.drop(peer, ErrorCode.IDLE_TIMEOUT, f"nothing received for {idle_timeout:g} s")
            self.flush()

    # --- the protocol's events ------------------------------------------------------------------

    def _join(self, peer: Peer, join: JoinFrame) -> None:
        """Answer a valid ``join`` with a fresh challenge; the seat waits for the proof (:meth:`_prove`)."""
        challenge = SYSTEM.bytes(CHALLENGE_BYTES)
        self._forget_proof(peer)  # an earlier join of this connection, refused while it was proving
        timer = asyncio.get_running_loop().call_later(self.config.prove_timeout, self._unproved, peer)
        self.proving[peer] = Proving(join, challenge, timer)
        peer.send(ChallengeFrame(challenge))
        if self.view is not None:
            self.view.challenged(peer.label, join.room, join.alias, challenge)

    def _prove(self, peer: Peer, proof: ProveFrame) -> None:
        """Ask the admission hook about the proof; seat the joiner, or refuse it with the reason."""
        proving = self.proving.pop(peer)  # the state machine admits prove only after a challenge
        proving.deadline.cancel()
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
        others = room.others(join.alias)
        welcome_members = tuple(seat.member for seat in others)
        peer.room, peer.alias = room, join.alias
        peer.send(WelcomeFrame(room.name, room.suite, room.kex, join.alias, welcome_members))
        joined = MemberJoinedFrame(join.member)
        frame = encode_frame(joined.to_dict())
        for seat in others:
            seat.peer.send(joined, frame)
        if self.view is not None:
            self.view.joined(peer.label, room.name, join.alias, room.suite, room.kex, join.identity)

    def _unproved(self, peer: Peer) -> None:
        """The deadline of ``peer``'s challenge passed without a proof: the join is refused."""
        if self.proving.pop(peer, None) is None or peer.closed or peer.conn.state is not State.PROVING:
            return
        timeout = self.config.prove_timeout
        self._refuse_join(peer, ErrorCode.UNAUTHORIZED, f"no proof of possession within {timeout:g} s")
        self.flush()

    def _forget_proof(self, peer: Peer) -> None:
        proving = self.proving.pop(peer, None)
        if proving is not None:
            proving.deadline.cancel()

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
        self._forget_proof(peer)
        room = peer.room
        if room is None:
            return
        peer.room = None
        self.rooms.leave(room.name, peer.alias)
        if self.view is not None:
            self.view.left(room.name, peer.alias, peer.reason)
        if self._closing or not room.seats:
            return
        left = MemberLeftFrame(peer.alias, peer.reason)
        frame = encode_frame(left.to_dict())
        for seat in list(room.seats.values()):
            seat.peer.send(left, frame)

    def _ping(self, peer: Peer, ping: PingFrame) -> None:
        peer.send(PongFrame(ping.data))

    def _relay_message(self, peer: Peer, message: MessageFrame) -> None:
        room = peer.room
        assert room is not None  # the state machine admits message only in a room
        if message.payloads is not None:
            self._relay_each(peer, room, message, message.payloads, None)
            return
        event = RelayedMessageFrame(peer.alias, message.body)
        frame = self._encode_relayed(peer, event)
        if frame is None:
            return
        count = 0
        for seat in list(room.seats.values()):
            if seat.peer is not peer:
                seat.peer.send(event, frame)
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
            frame = self._encode_relayed(peer, relayed)
            if frame is None:
                return
            seat.peer.send(relayed, frame)
            size += len(frame)
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

    def _encode_relayed(self, peer: Peer, event: Frame) -> bytes | None:
        try:
            return encode_frame(event.to_dict(), self.config.limits.max_frame)
        except LocalProtocolError as exc:
            self._log_refused(peer.label, exc.code, exc.message)
            peer.send(self._error(exc.code, exc.message, ref=event.type))
            return None

    # --- stopping -------------------------------------------------------------------------------

    async def close(self, reason: str = "server shutting down") -> None:
        """Stop accepting, send every client ``shutdown``, give them the grace to read it, close."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        if self._server is not None:
            self._server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        self.flush()
        peers = list(self.peers)
        if self.view is not None:
            self.view.stopping(len(peers))
        shutdown = ShutdownFrame(reason[: self.config.limits.max_short])
        frame = encode_frame(shutdown.to_dict())
        for peer in peers:
            if not peer.closed:
                with contextlib.suppress(LocalProtocolError):
                    peer.writer.transport.write(peer.conn.send(shutdown, encoded=frame))
                peer.closed = True
            peer.writer.close()
        tasks = [peer.task for peer in peers if peer.task is not None and not peer.task.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.config.shutdown_grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        for peer in peers:
            peer.writer.transport.abort()
        if self._server is not None:
            await self._server.wait_closed()
        self._closed.set()

    async def wait_closed(self) -> None:
        """Until :meth:`close` has finished."""
        await self._closed.wait()


async def serve(config: ServerConfig, view: WireView | None = None) -> RelayServer:
    """Start a relay listening on ``config.host``/``config.port``; ``.port`` tells the port it got."""
    server = RelayServer(config, view)
    await server.start()
    return server


def run_server(
    config: ServerConfig,
    view: WireView | None = None,
    announce: Callable[[RelayServer], None] | None = None,
) -> int:
    """Run a relay until SIGINT (Ctrl-C) or SIGTERM, then shut down cleanly. Returns the exit status."""

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

"""The chat client core: asyncio over the sans-IO protocol and the pure end-to-end session.

Used by the line-mode client, the Textual client, the notebooks and the tests::

    client = ChatClient("alice")                  # or ChatClient("alice", Identity.load(dir))
    await client.connect("127.0.0.1", 5050)
    joined = await client.join("lobby", suite="3des", kex="rsa")
    await client.send("hello")
    async for event in client.events():           # MessageReceived, MemberJoined, WarningEvent, ...
        ...
    await client.close()                          # leaves the room first, then disconnects

Everything cryptographic happens in :class:`~chat.e2e.session.RoomSession`; this module moves frames.
Three outputs, all bounded:

* :meth:`ChatClient.events` — the chat's events (:mod:`chat.client.events`) through a queue of
  ``events_size``. When it is full the client stops reading the socket (back-pressure) rather
  than drop anything; a client that never reads its events is eventually cut off by the server.
* :attr:`ChatClient.trace` — a :class:`~chat.client.feed.Feed` of :class:`~chat.e2e.session.TraceRecord`:
  each seal/open/wrap/unwrap/reject step with key id, IV, ciphertext, MAC, signature and checks.
* :attr:`ChatClient.wire` — a Feed of :class:`~chat.client.feed.WireFrame`: every frame sent and
  received, bytes as on the socket, i.e. what the relay sees.

Messages sealed under a key whose bundle has not arrived (the race when we join) are held by the
session; after ``hold_timeout`` seconds whatever is still held becomes an ``unknown_key`` warning.
After a :class:`~chat.client.events.Disconnected` event, :meth:`connect` and :meth:`join` may be
called again (reconnection policy belongs to the caller); the identity, and so the fingerprint,
stays the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any

from chat.client import events as ev
from chat.client.errors import ClientError, ConnectError, ConnectionLost, JoinError
from chat.client.event_queue import EventQueue, QueueEnded
from chat.client.events import MemberView
from chat.client.feed import Feed, WireFrame
from chat.client.handlers import Eligibility, RoomHandlers
from chat.client.reports import sent_event
from chat.client.streams import ByteWriter, Connector, open_tcp
from chat.e2e.identity import Identity, PublicIdentity, safety_number
from chat.e2e.session import EMPTY, Outgoing, Result, RoomSession, Sent, TraceRecord
from chat.e2e.trust import KnownPeers, TrustState
from chat.protocol.connection import Connection
from chat.protocol.errors import LocalProtocolError
from chat.protocol.events import (
    KEX_NAMES,
    SUITE_NAMES,
    Frame,
    JoinFrame,
    KeyBundleFrame,
    LeaveFrame,
    MessageFrame,
    PingFrame,
)
from chat.protocol.limits import DEFAULT_LIMITS, JOIN_NONCE_BYTES, Limits
from chat.protocol.names import name_key, name_problem
from chat.protocol.state import Role, State
from ciphers.rng import RNG, SYSTEM

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5050
CLIENT_NAME = "cipherchat"


class ChatClient(RoomHandlers):
    """One user's connection to a relay, in at most one room at a time (see the module notes)."""

    def __init__(
        self,
        alias: str,
        identity: Identity | None = None,
        *,
        rng: RNG = SYSTEM,
        known_peers: KnownPeers | None = None,
        limits: Limits = DEFAULT_LIMITS,
        events_size: int = 1024,
        trace_size: int = 1024,
        wire_size: int = 1024,
        hold_timeout: float = 3.0,
        ping_interval: float | None = 60.0,
        client_name: str = CLIENT_NAME,
        certificate: str | None = None,
        eligibility: Eligibility | None = None,
        connector: Connector = open_tcp,
    ) -> None:
        problem = name_problem(alias, "alias")
        if problem is not None:
            raise ValueError(problem)
        self.alias = alias
        self.identity = identity if identity is not None else Identity.generate(rng=rng)
        self.rng = rng
        self.known_peers = known_peers
        self.eligibility = eligibility  # who may have our keys (None: every member), asked before wrapping
        self.limits = limits
        self.hold_timeout = hold_timeout
        self.ping_interval = ping_interval
        self.client_name = client_name
        self.certificate = certificate  # sent with each join, for servers and members that check it
        self.connector = connector  # TCP, or the browser's WebSocket (chat.client.streams)
        self.trace: Feed[TraceRecord] = Feed(trace_size)
        self.wire: Feed[WireFrame] = Feed(wire_size)
        self.host: str | None = None
        self.port: int | None = None
        self.session: RoomSession | None = None
        self._events: EventQueue[ev.ChatEvent] = EventQueue(events_size)
        self._send_lock = asyncio.Lock()  # sealed frames go out in the order they were sealed
        self._conn: Connection | None = None
        self._writer: ByteWriter | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reader_task: asyncio.Task[None] | None = None
        self._ping_task: asyncio.Task[None] | None = None
        self._join_waiter: asyncio.Future[ev.Joined] | None = None
        # The last join, with our join nonce: what the proof covers and the session is bound to.
        self._join_sent: JoinFrame | None = None
        self._leave_waiter: asyncio.Future[None] | None = None
        self._declining = False
        self._trust: dict[str, TrustState] = {}
        self._certificates: dict[str, str] = {}
        self._closing = False
        self._closed = False
        self._connected = False
        self._hanging_up = False  # we are closing the connection: its end is ours, not the server's

    # --- state ----------------------------------------------------------------------------------

    @property
    def fingerprint(self) -> str:
        """Our identity's fingerprint, as digit groups."""
        return self.identity.fingerprint.digits

    @property
    def connected(self) -> bool:
        """Whether a connection is open."""
        return self._connected

    @property
    def room(self) -> str | None:
        """The room we are in (None when in none)."""
        return None if self.session is None else self.session.room

    @property
    def in_room(self) -> bool:
        """Whether we are in a room and may send."""
        return self._conn is not None and self._conn.state is State.IN_ROOM and self.session is not None

    @property
    def members(self) -> tuple[MemberView, ...]:
        """The other members of our room with their fingerprints and trust, in the order they came."""
        if self.session is None:
            return ()
        return tuple(self._view(info.alias) for info in self.session.members)

    def _view(self, alias: str) -> MemberView:
        assert self.session is not None
        info = self.session.member(alias)
        if info is None:
            return MemberView(alias, None)
        key = name_key(alias)
        return MemberView(
            info.alias,
            info.fingerprint,
            self._trust.get(key),
            info.key_id,
            info.problem,
            self._certificates.get(key),
        )

    def member_identity(self, alias: str) -> PublicIdentity | None:
        """The public identity ``alias`` joined with, if usable."""
        info = None if self.session is None else self.session.member(alias)
        return None if info is None else info.identity

    def safety_number(self, alias: str) -> str:
        """The 60-digit number to compare with ``alias`` out of band (``/verify``)."""
        identity = self.member_identity(alias)
        if identity is None:
            raise ClientError(f"no member {alias!r} with a usable identity in this room", "unknown_member")
        return safety_number(self.alias, self.identity.public, alias, identity)

    async def set_eligible(self, alias: str, eligible: bool) -> None:
        """The application changed its mind on ``alias`` having our keys: hand it our chain now, or
        start a new one without it (:meth:`~chat.e2e.session.RoomSession.set_eligible`)."""
        if self.session is not None:
            await self._apply(self.session.set_eligible(alias, eligible))

    def trust(self, alias: str) -> None:
        """Accept ``alias``'s current key as verified (``/trust``), in the known-peers store if any."""
        identity = self.member_identity(alias)
        if identity is None:
            raise ClientError(f"no member {alias!r} with a usable identity in this room", "unknown_member")
        if self.known_peers is not None:
            self.known_peers.trust(alias, identity.fingerprint)
        self._trust[name_key(alias)] = TrustState.VERIFIED

    # --- connecting -----------------------------------------------------------------------------

    async def connect(
        self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, timeout: float = 10.0
    ) -> None:
        """Open a connection to the relay; :class:`ConnectError` in one line if it cannot."""
        if self._connected:
            raise ClientError("already connected")
        if self._closed:
            raise ClientError("this client is closed")
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await self.connector(host, port)
        except TimeoutError:
            raise ConnectError(f"cannot connect to {host}:{port}: no answer within {timeout:g} s") from None
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__
            raise ConnectError(f"cannot connect to {host}:{port}: {reason.lower()}") from None
        self.host, self.port = host, port
        self._conn = Connection(Role.CLIENT, self.limits, on_payload=self._record_received)
        self._writer = writer
        self._connected = True
        self._hanging_up = False
        self._declining = False
        self._trust = {}
        self._certificates = {}
        self._reader_task = self._spawn(self._read_loop(reader))
        if self.ping_interval is not None:
            self._ping_task = self._spawn(self._ping_loop(self.ping_interval))
        await self._emit(ev.Connected(host, port))

    async def join(
        self, room: str, suite: str | None = None, kex: str | None = None, *, timeout: float = 10.0
    ) -> ev.Joined:
        """Join ``room``; :class:`JoinError` if refused.

        ``suite``/``kex`` are what a new room gets; once asked for, they are required: a room with
        another (the relay chooses) is left at once, before any key is drawn, and the join fails
        with code ``downgrade``. Asking for neither accepts the room's. Each join draws a new join
        nonce, and the relay's challenge is answered with the proof of possession of our identity
        key (:mod:`chat.e2e.admission`) before the ``welcome``.
        """
        if suite is not None and suite not in SUITE_NAMES:
            raise ValueError(f"unknown cipher suite {suite!r}; choose from {', '.join(SUITE_NAMES)}")
        if kex is not None and kex not in KEX_NAMES:
            raise ValueError(f"unknown key exchange {kex!r}; choose from {', '.join(KEX_NAMES)}")
        conn = self._require_connection()
        if conn.state is not State.IDLE:
            raise ClientError(f"cannot join while {conn.state.value}; leave the room first", "bad_state")
        join = JoinFrame(
            alias=self.alias,
            room=room,
            identity=self.identity.public.to_wire(),
            suite=suite,
            kex=kex,
            client=self.client_name,
            certificate=self.certificate,
            nonce=self.rng.bytes(JOIN_NONCE_BYTES),
        )
        self._join_sent = join
        waiter: asyncio.Future[ev.Joined] = asyncio.get_running_loop().create_future()
        self._join_waiter = waiter
        try:
            await self._send_frame(join)
            async with asyncio.timeout(timeout):
                return await waiter
        except TimeoutError:
            raise ClientError(f"no answer to join within {timeout:g} s", "timeout") from None
        except JoinError as refused:
            if refused.code == "downgrade":
                await self._left_declined(timeout)
            raise
        finally:
            self._join_waiter = None

    async def _left_declined(self, timeout: float) -> None:
        """Wait (bounded) until the relay confirms we left the room we refused: a new join may follow."""
        waiter = self._leave_waiter
        if waiter is not None:
            with contextlib.suppress(ClientError, TimeoutError):
                async with asyncio.timeout(timeout):
                    await waiter
        self._leave_waiter = None

    async def leave(self, *, timeout: float = 10.0) -> None:
        """Leave the room (the connection stays open); returns once the server confirmed."""
        conn = self._require_connection()
        if conn.state is not State.IN_ROOM:
            raise ClientError("not in a room", "not_in_room")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._leave_waiter = waiter
        try:
            await self._send_frame(LeaveFrame())
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            raise ClientError(f"no answer to leave within {timeout:g} s", "timeout") from None
        finally:
            self._leave_waiter = None

    async def close(self, *, timeout: float = 5.0) -> None:
        """Leave the room if in one, disconnect, and end :meth:`events`. Safe to call twice."""
        if self._closed:
            return
        self._closing = True
        if self.in_room:
            with contextlib.suppress(ClientError):
                await self.leave(timeout=timeout)
        await self._hang_up(timeout)
        await self._disconnected("closed by the client", by_us=True)
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.trace.close()
        self.wire.close()
        self._end_events()

    async def disconnect(self, *, timeout: float = 5.0) -> None:
        """Drop the connection without leaving first (as a crash would); :meth:`connect` may follow."""
        await self._hang_up(timeout)
        await self._disconnected("closed by the client", by_us=True)

    async def _hang_up(self, timeout: float) -> None:
        writer = self._writer
        if writer is None:
            return
        self._hanging_up = True
        writer.close()
        with contextlib.suppress(OSError, TimeoutError, asyncio.CancelledError):
            async with asyncio.timeout(timeout):
                await writer.wait_closed()
        task = self._reader_task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # --- sending --------------------------------------------------------------------------------

    async def send(self, text: str) -> ev.MessageSent:
        """Seal ``text`` for the room and send it. ValueError if too long; ClientError if not in a room."""
        session = self._require_room()
        return await self._send_sealed(session.seal(text))

    async def send_data(self, data: bytes, content_type: str) -> ev.MessageSent:
        """Seal ``data`` of ``content_type`` (e.g. a file chunk) for the room and send it."""
        session = self._require_room()
        return await self._send_sealed(session.seal_data(data, content_type))

    async def send_data_many(self, items: Sequence[tuple[bytes, str]]) -> list[ev.MessageSent]:
        """:meth:`send_data` of each (data, content type), sealed together (a hybrid suite encrypts
        them side by side) and written in order before the socket is drained, so nothing of ours
        comes between them. The sealing is a job of segments of about a tenth of a second
        (:meth:`~chat.e2e.session.RoomSession.seal_data_many_job`), with the event loop free between
        them; the send lock is held from the reservation to the last frame, so whatever is sealed
        meanwhile (a line typed, a key handed out) goes out after these frames, in sealing order."""
        session = self._require_room()
        async with self._send_lock:
            job = session.seal_data_many_job(items)
            while True:
                try:
                    next(job)
                except StopIteration as stop:
                    results: list[Result] = stop.value
                    break
                await asyncio.sleep(0)
            if self.session is not session:
                raise ClientError("left the room while the messages were sealed", "not_in_room")
            merged = EMPTY
            for result in results:
                merged += result
            await self._apply(merged, batched=True, locked=True)
        sent = [next(e for e in r.events if isinstance(e, Sent)) for r in results]
        return [sent_event(event, self.room or "") for event in sent]

    async def _send_sealed(self, result: Result) -> ev.MessageSent:
        sent = next(e for e in result.events if isinstance(e, Sent))
        await self._apply(result)
        return sent_event(sent, self.room or "")

    def _require_connection(self) -> Connection:
        if not self._connected or self._conn is None:
            raise ClientError("not connected", "not_connected")
        return self._conn

    def _require_room(self) -> RoomSession:
        conn = self._require_connection()
        if conn.state is not State.IN_ROOM or self.session is None:
            raise ClientError("not in a room", "not_in_room")
        return self.session

    async def _send_frame(self, event: Frame, *, drain: bool = True) -> None:
        """Encode, record on the wire view and write ``event``; then wait for the socket to drain
        (unless ``drain`` is False: a later frame's send drains)."""
        conn, writer = self._conn, self._writer
        if conn is None or writer is None or not self._connected:
            raise ClientError("not connected", "not_connected")
        try:
            data = conn.send(event)
        except LocalProtocolError as exc:
            raise ClientError(exc.message, exc.code.value) from None
        self.wire.publish(WireFrame("sent", data, event.to_dict()))
        writer.write(data)
        if not drain:
            return
        try:
            await writer.drain()
        except (ConnectionError, OSError) as exc:
            raise ConnectionLost(
                f"connection lost: {exc.strerror or type(exc).__name__}", "disconnected"
            ) from None

    async def _send_outgoing(self, out: Outgoing, *, drain: bool = True) -> None:
        frame: Frame
        if out.kind == "message":
            frame = MessageFrame(out.body, out.payloads)
        else:
            assert out.key_id is not None and out.payloads is not None
            frame = KeyBundleFrame(out.key_id, out.payloads, out.body)
        await self._send_frame(frame, drain=drain)

    async def _ping_loop(self, interval: float) -> None:
        while self._connected:
            await asyncio.sleep(interval)
            with contextlib.suppress(ClientError):
                await self._send_frame(PingFrame())

    # --- events ---------------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[ev.ChatEvent]:
        """The client's events in order, until :meth:`close` (a Disconnected event does not end it)."""
        async for event in self._events:
            yield event

    async def next_event(self, timeout: float | None = None) -> ev.ChatEvent:
        """The next event; TimeoutError after ``timeout`` seconds, ClientError once closed."""
        try:
            return await self._events.get(timeout)
        except QueueEnded:
            raise ClientError("the client is closed", "closed") from None

    async def _emit(self, event: ev.ChatEvent) -> None:
        if self._closed:
            return
        await self._events.put(event)

    def _end_events(self) -> None:
        self._events.end()

    def _spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _disconnected(self, reason: str, *, by_us: bool = False) -> None:
        if not self._connected:
            return
        self._connected = False
        self.session = None
        if self._ping_task is not None:
            self._ping_task.cancel()
            self._ping_task = None
        lost = ConnectionLost(reason, "disconnected")
        for waiter in (self._join_waiter, self._leave_waiter):
            if waiter is not None and not waiter.done():
                waiter.set_exception(lost)
        if self._writer is not None:
            self._writer.close()
        self._writer = None
        await self._emit(ev.Disconnected(reason, by_us))


__all__ = ["CLIENT_NAME", "DEFAULT_HOST", "DEFAULT_PORT", "ChatClient"]

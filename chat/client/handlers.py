"""What the relay's frames do to a client's room: the read loop and frame handlers of ChatClient.

The read loop feeds the socket's bytes to the sans-IO :class:`~chat.protocol.connection.Connection`;
each whole frame from the server then goes to one handler (the table :data:`RoomHandlers._handlers`), which
updates the end-to-end :class:`~chat.e2e.session.RoomSession` and applies what it returns: frames
to send, trace records to publish, events to report (:mod:`chat.client.reports`). The public API,
the socket and the event queue are :mod:`chat.client.chat_client`'s; this mixin only handles.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from chat.client import events as ev
from chat.client.errors import ClientError, ConnectionLost, JoinError
from chat.client.feed import Feed, WireFrame
from chat.client.read_ahead import ReadAhead
from chat.client.reports import identity_changed, report
from chat.client.streams import ByteReader
from chat.e2e.admission import prove_join
from chat.e2e.identity import Identity
from chat.e2e.session import Arrival, Held, Outgoing, Reason, Rejected, Result, RoomSession, TraceRecord
from chat.e2e.suites import suite as suite_info
from chat.e2e.trust import KnownPeers, TrustState
from chat.protocol.connection import Connection
from chat.protocol.errors import RemoteProtocolError
from chat.protocol.events import (
    ChallengeFrame,
    ConnectionClosed,
    ErrorFrame,
    Frame,
    JoinFrame,
    LeaveFrame,
    LeftFrame,
    Member,
    MemberJoinedFrame,
    MemberLeftFrame,
    PongFrame,
    ProveFrame,
    RelayedKeyBundleFrame,
    RelayedMessageFrame,
    ShutdownFrame,
    WelcomeFrame,
)
from chat.protocol.framing import frame_payload
from chat.protocol.limits import Limits
from chat.protocol.names import name_key
from ciphers.rng import RNG

#: Frames of a batch written between two pauses of the event loop (each is encoded as it is written).
WRITTEN_PER_PAUSE = 32
#: The application's key hand-out policy: may (alias, identity map, certificate text or None) have
#: our keys? Asked for each member before the session wraps anything to it (:mod:`chat.app`).
Eligibility = Callable[[str, Mapping[str, str], str | None], bool]
REFUSED_JOINS = frozenset({Reason.DUPLICATE_MEMBER, Reason.REPLAYED_JOIN, Reason.MALFORMED})


def downgrade(join: JoinFrame, welcome: WelcomeFrame) -> str | None:
    """Why ``welcome`` must be refused: it names a suite or kex other than the one ``join`` asked for.

    The relay chooses a room's suite and key exchange (issue 10, point 2), so what was asked is
    compared with what is offered; a join that asked for neither accepts the room's.
    """
    if (join.suite or welcome.suite) == welcome.suite and (join.kex or welcome.kex) == welcome.kex:
        return None
    asked = f"{join.suite}/{join.kex}" if join.suite and join.kex else join.suite or f"kex {join.kex}"
    return (
        f"the relay offered {welcome.suite}/{welcome.kex} for room {welcome.room!r}, but you asked for "
        f"{asked}: refused, as the relay could be downgrading the room (join without asking to accept "
        "the room's)"
    )


class RoomHandlers:
    """The frame handlers and the session's results; mixed into ChatClient, whose state they use."""

    alias: str
    identity: Identity
    rng: RNG
    limits: Limits
    known_peers: KnownPeers | None
    eligibility: Eligibility | None
    hold_timeout: float
    trace: Feed[TraceRecord]
    wire: Feed[WireFrame]
    session: RoomSession | None
    _trust: dict[str, TrustState]  # by case-folded alias
    _certificates: dict[str, str]  # the text each member joined with, by case-folded alias
    _join_waiter: asyncio.Future[ev.Joined] | None
    _join_sent: JoinFrame | None
    _leave_waiter: asyncio.Future[None] | None
    _declining: bool  # we are leaving a room we refused (downgrade): its ``left`` is not news
    _connected: bool
    _hanging_up: bool  # we are closing the connection: its end is ours, not the server's
    _conn: Connection | None
    _send_lock: asyncio.Lock  # held from sealing to writing a batch (ChatClient.send_data_many)

    if TYPE_CHECKING:  # provided by ChatClient

        @property
        def room(self) -> str | None: ...
        @property
        def members(self) -> tuple[ev.MemberView, ...]: ...
        def _view(self, alias: str) -> ev.MemberView: ...
        async def _emit(self, event: ev.ChatEvent) -> None: ...
        async def _send_outgoing(self, out: Outgoing, *, drain: bool = True) -> None: ...
        async def _send_frame(self, event: Frame) -> None: ...
        def _spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task[Any]: ...
        async def _disconnected(self, reason: str, *, by_us: bool = False) -> None: ...

    async def _read_loop(self, reader: ByteReader) -> None:
        """Handle frames until the connection ends, then report why (Disconnected); the socket is
        read ahead of the handlers meanwhile (:mod:`chat.client.read_ahead`)."""
        conn = self._conn
        assert conn is not None
        reason = "the server closed the connection"
        reading = ReadAhead(reader, conn)
        try:
            while True:
                stop = await self._drain_events(conn, reading)
                if stop is not None:
                    reason = stop
                    break
                if reading.done:
                    reason = reading.ended or reason
                    break
                await reading.more()
        except ConnectionLost as exc:
            reason = exc.message
        except Exception as exc:  # a bug of ours: report it as the end of the connection, not a hang
            reason = f"internal error: {type(exc).__name__}: {exc}"
        finally:
            await reading.stop()
        if self._hanging_up:
            await self._disconnected("closed by the client", by_us=True)
        else:
            await self._disconnected(reason)

    async def _drain_events(self, conn: Connection, reading: ReadAhead) -> str | None:
        """Handle every whole event received; a reason string when the connection is over."""
        while True:
            try:
                event = conn.next_event()
            except RemoteProtocolError as exc:
                await self._emit(
                    ev.ErrorEvent(
                        exc.code.value, f"the server sent an invalid frame: {exc.message}", exc.fatal
                    )
                )
                if exc.fatal:
                    return f"the server broke the protocol: {exc.message}"
                continue
            if event is None:
                return None
            if isinstance(event, ConnectionClosed):
                return "the server closed the connection"
            if isinstance(event, ShutdownFrame):
                return f"server shutting down: {event.reason}"
            await self._handle(event)
            await reading.taken()

    def _record_received(self, payload: bytes, obj: dict[str, Any] | None) -> None:
        """The wire view of a received frame, exactly as it crossed the network."""
        self.wire.publish(WireFrame("received", frame_payload(payload), obj))

    async def _handle(self, frame: Frame) -> None:
        handler = self._handlers.get(type(frame))
        if handler is not None:
            await handler(self, frame)

    async def _on_challenge(self, challenge: ChallengeFrame) -> None:
        """Prove possession of our identity key for the join we sent (the relay then admits or refuses)."""
        join = self._join_sent
        assert join is not None  # the state machine admits a challenge only after our join
        proof = prove_join(self.identity, challenge.nonce, join.alias, join.room, join.nonce, rng=self.rng)
        await self._send_frame(ProveFrame(proof))

    async def _on_welcome(self, welcome: WelcomeFrame) -> None:
        join = self._join_sent
        assert join is not None  # the state machine admits a welcome only after our join
        refusal = downgrade(join, welcome)
        if refusal is not None:
            await self._decline(refusal)
            return
        session = RoomSession(
            self.identity,
            welcome.you,
            welcome.room,
            welcome.suite,
            welcome.kex,
            nonce=join.nonce,
            rng=self.rng,
            max_text=self.limits.max_text,
            max_members=self.limits.max_members,
        )
        self.session = session
        self._certificates = {name_key(m.alias): m.certificate for m in welcome.members if m.certificate}
        result = session.start([self._arrival(m) for m in welcome.members])
        warnings = [self._check_trust(m.alias) for m in welcome.members]
        info = suite_info(welcome.suite)
        joined = ev.Joined(
            welcome.room,
            welcome.you,
            welcome.suite,
            welcome.kex,
            self.identity.fingerprint,
            self.members,
            info.insecure,
            info.describe(welcome.kex),
        )
        waiter = self._join_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(joined)
        await self._emit(joined)
        for warning in warnings:
            if warning is not None:
                await self._emit(warning)
        await self._apply(result)

    async def _decline(self, refusal: str) -> None:
        """Leave the room the relay put us in, before any key is drawn, and fail the join."""
        self._declining = True
        self._leave_waiter = asyncio.get_running_loop().create_future()
        await self._send_frame(LeaveFrame())
        waiter = self._join_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(JoinError(refusal, "downgrade"))

    async def _on_error(self, error: ErrorFrame) -> None:
        waiter = self._join_waiter
        if error.ref == "join" and waiter is not None and not waiter.done():
            waiter.set_exception(JoinError(error.message, error.code.value))
            return
        await self._emit(ev.ErrorEvent(error.code.value, error.message, error.fatal))

    async def _on_member_joined(self, frame: MemberJoinedFrame) -> None:
        if self.session is None:
            return
        member = frame.member
        result = self.session.add_member(self._arrival(member))
        if self.session.member(member.alias) is None or any(
            isinstance(e, Rejected) and e.reason in REFUSED_JOINS for e in result.events
        ):
            await self._apply(result)  # refused (a duplicate or a replayed join): the warning only
            return
        if member.certificate:
            self._certificates[name_key(member.alias)] = member.certificate
        warning = self._check_trust(member.alias)
        view = self._view(member.alias)
        await self._emit(ev.MemberJoined(member.alias, view.fingerprint, view.trust))
        if warning is not None:
            await self._emit(warning)
        await self._apply(result)

    async def _on_member_left(self, frame: MemberLeftFrame) -> None:
        if self.session is None:
            return
        result = self.session.remove_member(frame.alias)
        self._trust.pop(name_key(frame.alias), None)
        self._certificates.pop(name_key(frame.alias), None)
        await self._emit(ev.MemberLeft(frame.alias, frame.reason))
        await self._apply(result)

    async def _on_message(self, frame: RelayedMessageFrame) -> None:
        if self.session is not None:
            await self._apply(self.session.open_message(frame.sender, frame.body, frame.payload))

    async def _on_key_bundle(self, frame: RelayedKeyBundleFrame) -> None:
        if self.session is not None:
            await self._apply(self.session.open_bundle(frame.sender, frame.key_id, frame.body, frame.payload))

    async def _on_left(self, frame: LeftFrame) -> None:
        self.session = None
        self._trust = {}
        self._certificates = {}
        waiter = self._leave_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._declining:
            self._declining = False
            return
        await self._emit(ev.Left(frame.room))

    async def _on_pong(self, _frame: PongFrame) -> None:
        return

    _handlers: ClassVar[dict[type[Frame], Callable[[RoomHandlers, Any], Awaitable[None]]]] = {
        ChallengeFrame: _on_challenge,
        WelcomeFrame: _on_welcome,
        ErrorFrame: _on_error,
        MemberJoinedFrame: _on_member_joined,
        MemberLeftFrame: _on_member_left,
        RelayedMessageFrame: _on_message,
        RelayedKeyBundleFrame: _on_key_bundle,
        LeftFrame: _on_left,
        PongFrame: _on_pong,
    }

    def _arrival(self, member: Member) -> Arrival:
        """``member`` as the session takes it, with the application's say on our keys (``eligibility``)."""
        policy = self.eligibility
        eligible = policy is None or policy(member.alias, member.identity, member.certificate)
        return Arrival(member.alias, member.identity, member.nonce, eligible)

    def _check_trust(self, alias: str) -> ev.WarningEvent | None:
        """Compare ``alias``'s key with the known-peers store; a warning if it changed."""
        info = None if self.session is None else self.session.member(alias)
        if info is None or info.fingerprint is None or self.known_peers is None:
            return None
        remembered = self.known_peers.remembered(alias)
        state = self.known_peers.check(alias, info.fingerprint)
        self._trust[name_key(alias)] = state
        if state is not TrustState.CHANGED:
            return None
        return identity_changed(alias, info.fingerprint, remembered)

    # --- results of the session -----------------------------------------------------------------

    async def _apply(self, result: Result, *, batched: bool = False, locked: bool = False) -> None:
        """Send the session's frames, publish its trace, and report its events. ``batched``: write
        every frame before draining the socket once, so that nothing else goes out between them.
        Frames are written under the send lock (``locked``: the caller holds it), so a batch being
        sealed in segments goes out before what was sealed after it."""
        for record in result.trace:
            self.trace.publish(dataclasses.replace(record, time=time.time()))
        if result.outgoing and not locked:
            async with self._send_lock:
                await self._write(result, batched=batched)
        elif result.outgoing:
            await self._write(result, batched=batched)
        for event in result.events:
            if isinstance(event, Held):
                self._schedule_expiry(event.sender, event.key_id)
                continue
            reported = report(event, self.room or "", self.alias, self._trust)
            if reported is not None:
                await self._emit(reported)

    async def _write(self, result: Result, *, batched: bool) -> None:
        """Write the frames in order (a batch: the loop runs other tasks every :data:`WRITTEN_PER_PAUSE`
        frames, and the socket is drained after the last)."""
        last = len(result.outgoing) - 1
        for i, out in enumerate(result.outgoing):
            if batched and i and not i % WRITTEN_PER_PAUSE:
                await asyncio.sleep(0)
            await self._send_outgoing(out, drain=not batched or i == last)

    def _schedule_expiry(self, sender: str, key_id: str) -> None:
        """After ``hold_timeout`` seconds, what is still held for ``key_id`` becomes a warning."""
        session = self.session

        async def expire() -> None:
            await asyncio.sleep(self.hold_timeout)
            if self.session is session and session is not None and self._connected:
                with contextlib.suppress(ClientError):
                    await self._apply(session.expire_held(sender, key_id))

        self._spawn(expire())

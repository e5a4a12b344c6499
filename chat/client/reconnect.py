"""Staying in the room when the connection drops: backoff, reconnect, rejoin, rekey, and a send queue.

:class:`ResilientClient` wraps a :class:`~chat.client.chat_client.ChatClient` with the same calls and events,
plus its own (all in :mod:`chat.client.events`)::

    client = ResilientClient(ChatClient("alice", identity), Backoff(max_attempts=8, max_total=60))
    await client.connect("127.0.0.1", 5050)
    await client.join("lobby", "3des")
    await client.send("hello")                    # MessageSent, or None when queued (MessageQueued)
    async for event in client.events():           # ChatClient's events + Reconnecting, Reconnected,
        ...                                       # GaveUp, MessageQueued, MessagesUnsent
    await client.wait_sent(timeout=30)            # before quitting: the queue sent, or reported
    await client.close()

When the server goes away (a :class:`~chat.client.events.Disconnected` that we did not cause),
the event is passed on, then attempts follow after :class:`~chat.client.backoff.Backoff` delays
(exponential, with random jitter, bounded in attempts and in total time), each one announced by
:class:`Reconnecting`. An attempt connects again with the same ChatClient — so the same identity
and fingerprint — and rejoins the same room with the same alias, suite and key exchange. The
join builds a new :class:`~chat.e2e.session.RoomSession`, which draws a fresh session key from the
RNG and sends it to every member (a ``start`` rekey): no key from before the gap is used after
it, and the members, who saw us leave, have dropped our old keys too. (The direct suites have no
session keys; every message is encrypted afresh to each member.)

Messages sent while the connection is down are queued (:class:`MessageQueued`), and after the
rejoin sent in order, each exactly once — first waiting up to ``rejoin_grace`` seconds for the
members who were there before the drop to come back, since after a server restart they are
reconnecting too. If the bound runs out, :class:`GaveUp` is followed by :class:`MessagesUnsent`
listing every queued text; :meth:`ResilientClient.close` reports (and returns) what is still
queued the same way. Nothing typed is dropped without an event saying so.

One limit, inherent in protocol v1: the relay sends no delivery receipts, so a message the socket
accepted in the instant the server died (before the client saw the connection end) cannot be
told from one that was relayed. Messages sent after the client noticed are always queued, and so
is a message whose write failed (it is sent again after the rejoin).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from enum import StrEnum

from chat.client import events as ev
from chat.client.backoff import Backoff
from chat.client.chat_client import ChatClient
from chat.client.errors import ClientError, ConnectError, JoinError
from chat.client.event_queue import EventQueue, QueueEnded
from chat.client.events import GaveUp, MessageQueued, MessagesUnsent, Reconnected, Reconnecting
from chat.protocol.names import name_key
from ciphers.rng import RNG, SYSTEM

# Join refusals that may clear up by themselves: our old connection still holds the alias until the
# server notices it is gone, the room may have a free seat later, the server may have room later.
RETRYABLE_JOIN = frozenset({"alias_taken", "room_full", "server_full", "internal_error", "timeout"})

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


class ConnectionState(StrEnum):
    """Where a ResilientClient stands."""

    OFFLINE = "offline"  # not connected yet
    ONLINE = "online"
    RECONNECTING = "reconnecting"
    GAVE_UP = "gave_up"
    CLOSED = "closed"


class _Retry(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Fatal(_Retry):
    pass


class ResilientClient:
    """A ChatClient that reconnects, rejoins and keeps what is typed meanwhile (see the module notes).

    ``rejoin_grace``: seconds to wait after a rejoin for the members present before the drop,
    before sending the queue. ``max_queued``: texts kept while offline (more raise ClientError).
    ``sleep`` and ``clock`` may be replaced in tests (a fake clock); ``rng`` draws the jitter.
    The wrapped client stays reachable as :attr:`client` (members, trace, wire, trust...).
    """

    def __init__(
        self,
        client: ChatClient,
        backoff: Backoff | None = None,
        *,
        rng: RNG = SYSTEM,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        rejoin_grace: float = 3.0,
        max_queued: int = 256,
        connect_timeout: float = 5.0,
        join_timeout: float = 10.0,
        events_size: int = 1024,
    ) -> None:
        self.client = client
        self.backoff = backoff if backoff is not None else Backoff()
        self.rng = rng
        self.rejoin_grace = rejoin_grace
        self.max_queued = max_queued
        self.connect_timeout = connect_timeout
        self.join_timeout = join_timeout
        self.state = ConnectionState.OFFLINE
        self._sleep = sleep
        self._clock = clock
        self._events: EventQueue[ev.ChatEvent] = EventQueue(events_size)
        self._queue: deque[str] = deque()
        self._host: str | None = None
        self._port: int | None = None
        self._target: tuple[str, str, str] | None = None  # room, suite, kex to rejoin
        self._last_members: tuple[str, ...] = ()
        self._pump_task: asyncio.Task[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._flush_lock = asyncio.Lock()
        self._flushing = False
        self._settled = asyncio.Event()  # set when the queue is empty or reported unsent
        self._settled.set()
        self._unsent_count = 0  # texts reported unsent so far

    # --- state ----------------------------------------------------------------------------------

    @property
    def queued(self) -> tuple[str, ...]:
        """The texts waiting for the connection, in order."""
        return tuple(self._queue)

    @property
    def alias(self) -> str:
        return self.client.alias

    @property
    def room(self) -> str | None:
        """The room we are in, or the one we will rejoin while reconnecting."""
        if self.client.room is not None:
            return self.client.room
        return None if self._target is None else self._target[0]

    # --- the calls of ChatClient ----------------------------------------------------------------

    async def connect(self, host: str, port: int, *, timeout: float | None = None) -> None:
        """Connect (no retry for this first one: ConnectError says why at once)."""
        await self.client.connect(host, port, timeout=timeout or self.connect_timeout)
        self._host, self._port = host, port
        self.state = ConnectionState.ONLINE
        if self._pump_task is None:
            self._pump_task = asyncio.ensure_future(self._pump())

    async def join(
        self, room: str, suite: str | None = None, kex: str | None = None, *, timeout: float | None = None
    ) -> ev.Joined:
        """Join ``room``; remembered (with the room's actual suite and kex) for rejoining."""
        joined = await self.client.join(room, suite, kex, timeout=timeout or self.join_timeout)
        self._target = (joined.room, joined.suite, joined.kex)
        return joined

    async def leave(self) -> None:
        """Leave the room; no rejoin after a drop from now on."""
        self._target = None
        await self.client.leave()

    async def send(self, text: str) -> ev.MessageSent | None:
        """Send ``text`` now, or queue it while the connection is down (None, and a MessageQueued event).

        ValueError if it is too long; ClientError when not in a room, when we gave up reconnecting
        (code ``offline``) or when the queue is full (``queue_full``).
        """
        limit = self.client.limits.max_text
        if len(text) > limit:
            raise ValueError(f"message of {len(text)} characters is above the limit of {limit}")
        if self.state is ConnectionState.CLOSED:
            raise ClientError("the client is closed", "closed")
        if self.state is ConnectionState.GAVE_UP:
            raise ClientError("offline: reconnecting gave up; reconnect to try again", "offline")
        if self.state is ConnectionState.ONLINE and not self._queue and not self._flushing:
            try:
                return await self.client.send(text)
            except ClientError:
                if self.client.connected or self._target is None:
                    raise  # not a lost connection (not in a room, for instance)
        if self.state is ConnectionState.OFFLINE:
            raise ClientError("not connected", "not_connected")
        if self._target is None:
            raise ClientError("not in a room", "not_in_room")
        await self._enqueue(text)
        return None

    async def _enqueue(self, text: str) -> None:
        if len(self._queue) >= self.max_queued:
            raise ClientError(
                f"{self.max_queued} messages wait already; this one was not queued", "queue_full"
            )
        self._queue.append(text)
        self._settled.clear()
        await self._put(MessageQueued(text, len(self._queue)))

    @property
    def _reconnecting(self) -> bool:
        return self._reconnect_task is not None and not self._reconnect_task.done()

    async def wait_sent(self, timeout: float | None = None) -> bool:
        """Until the queue is empty. True when it was all sent and we are online; False when some
        was reported unsent meanwhile (the bound ran out, the client closed), when we are offline,
        or when ``timeout`` seconds passed first.
        """
        reported = self._unsent_count
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._settled.wait()
        online = self.state is ConnectionState.ONLINE
        return online and not self._queue and self._unsent_count == reported

    async def reconnect(self) -> None:
        """Start reconnecting now (after GaveUp, say); returns at once, events tell the rest."""
        if self.state is ConnectionState.CLOSED or self._host is None or self._reconnecting:
            return
        if self.client.connected:
            return
        self._start_reconnect("reconnecting on request")

    async def close(self, *, timeout: float = 5.0) -> tuple[str, ...]:
        """Stop reconnecting, report what is still queued (MessagesUnsent, and returned), close."""
        if self.state is ConnectionState.CLOSED:
            return ()
        self.state = ConnectionState.CLOSED
        task = self._reconnect_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        unsent = self._report_unsent_now("the client closed before they could be sent")
        await self.client.close(timeout=timeout)
        if self._pump_task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                async with asyncio.timeout(timeout):
                    await asyncio.shield(self._pump_task)
            if not self._pump_task.done():  # nobody reads our events: stop passing them on
                self._pump_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._pump_task
        else:
            self._end_events()
        return unsent

    # --- events ---------------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[ev.ChatEvent]:
        """The wrapped client's events and ours, in order, until :meth:`close`."""
        async for event in self._events:
            yield event

    async def next_event(self, timeout: float | None = None) -> ev.ChatEvent:
        """The next event; TimeoutError after ``timeout`` seconds, ClientError once closed."""
        try:
            return await self._events.get(timeout)
        except QueueEnded:
            raise ClientError("the client is closed", "closed") from None

    async def _put(self, event: ev.ChatEvent) -> None:
        await self._events.put(event)

    def _put_now(self, event: ev.ChatEvent) -> None:
        """Queue ``event`` without waiting; if nobody reads, the oldest event makes room."""
        self._events.put_dropping_oldest(event)

    def _end_events(self) -> None:
        self._events.end()

    async def _pump(self) -> None:
        """Pass the client's events on; a drop we did not cause starts the reconnection."""
        client = self.client
        try:
            async for event in client.events():
                if client.in_room:
                    self._last_members = tuple(m.alias for m in client.members)
                if (
                    isinstance(event, ev.Disconnected | ev.Connected)
                    and self.state is ConnectionState.RECONNECTING
                ):
                    continue  # the attempts' own connections: Reconnecting and Reconnected say it
                if isinstance(event, ev.Disconnected) and client.connected:
                    continue  # the end of an attempt's connection, read after a newer one opened
                if (
                    isinstance(event, ev.Disconnected)
                    and not event.by_us
                    and self.state is ConnectionState.ONLINE
                ):
                    await self._put(event)
                    self._start_reconnect(event.reason)
                    continue
                await self._put(event)
        finally:
            self._end_events()

    # --- reconnecting ---------------------------------------------------------------------------

    def _start_reconnect(self, reason: str) -> None:
        self.state = ConnectionState.RECONNECTING
        self._reconnect_task = asyncio.ensure_future(self._reconnect(reason))

    async def _reconnect(self, reason: str) -> None:
        try:
            await self._reconnect_rounds(reason)
        except Exception as exc:  # a bug of ours must end in GaveUp, not in a silent hang
            await self._give_up(f"internal error while reconnecting: {type(exc).__name__}: {exc}", 0, 0.0)

    async def _reconnect_rounds(self, reason: str) -> None:
        previous = self._last_members
        start = self._clock()
        last = reason
        attempt = 0
        while True:
            attempt += 1
            delay = self.backoff.delay(attempt, self.rng)
            elapsed = self._clock() - start
            if not self.backoff.allows(attempt, elapsed, delay):
                tries = attempt - 1
                await self._give_up(
                    f"no connection after {tries} attempt{'s' * (tries != 1)} in {elapsed:.1f} s: {last}",
                    tries,
                    elapsed,
                )
                return
            await self._put(Reconnecting(attempt, delay, last, self.backoff.max_attempts))
            await self._sleep(delay)
            try:
                await self._attempt()
            except _Fatal as exc:
                await self._give_up(exc.reason, attempt, self._clock() - start)
                return
            except _Retry as exc:
                last = exc.reason
                continue
            break
        self.state = ConnectionState.ONLINE
        await self._put(Reconnected(attempt, self._clock() - start, self.client.room, len(self._queue)))
        await self._settle(previous)
        await self._flush()

    async def _attempt(self) -> None:
        """One attempt: connect, and rejoin the room. _Retry or _Fatal when it fails."""
        client = self.client
        assert self._host is not None and self._port is not None
        if client.connected:
            await client.disconnect()
        try:
            await client.connect(self._host, self._port, timeout=self.connect_timeout)
        except ConnectError as exc:
            raise _Retry(exc.message) from None
        except ClientError as exc:
            raise _Fatal(exc.message) from None
        if self._target is None:
            return
        room, suite, kex = self._target
        try:
            await client.join(room, suite, kex, timeout=self.join_timeout)
        except JoinError as exc:
            await client.disconnect()
            message = f"rejoining {room} refused: {exc.message}"
            raise (_Retry if exc.code in RETRYABLE_JOIN else _Fatal)(message) from None
        except ClientError as exc:
            await client.disconnect()
            raise _Retry(f"rejoining {room} failed: {exc.message}") from None

    async def _settle(self, previous: tuple[str, ...]) -> None:
        """Give the members who were here before the drop ``rejoin_grace`` seconds to come back."""
        if not self._queue or not previous or self.rejoin_grace <= 0:
            return
        wanted = {name_key(alias) for alias in previous}
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.rejoin_grace):
                while not wanted <= {name_key(m.alias) for m in self.client.members}:
                    if not self.client.in_room:
                        return
                    await asyncio.sleep(0.02)

    async def _flush(self) -> None:
        """Send the queue in order; what a new drop interrupts stays queued for the next rejoin."""
        async with self._flush_lock:
            self._flushing = True
            try:
                while self._queue and self.state is ConnectionState.ONLINE:
                    text = self._queue[0]
                    try:
                        await self.client.send(text)
                    except ClientError:
                        if not self.client.connected:
                            return  # dropped again: the pump starts another round
                        self._queue.popleft()
                        self._report_unsent_now("not in a room", [text])
                        continue
                    self._queue.popleft()
            finally:
                self._flushing = False
                if not self._queue:
                    self._settled.set()

    async def _give_up(self, reason: str, attempts: int, elapsed: float) -> None:
        self.state = ConnectionState.GAVE_UP
        await self._put(GaveUp(reason, attempts, elapsed))
        texts = tuple(self._queue)
        self._queue.clear()
        if texts:
            self._unsent_count += len(texts)
            await self._put(MessagesUnsent(texts, reason))
        self._settled.set()

    def _report_unsent_now(self, reason: str, texts: list[str] | None = None) -> tuple[str, ...]:
        unsent = tuple(self._queue) if texts is None else tuple(texts)
        if texts is None:
            self._queue.clear()
        if unsent:
            self._unsent_count += len(unsent)
            self._put_now(MessagesUnsent(unsent, reason))
        if not self._queue:
            self._settled.set()
        return unsent


__all__ = ["RETRYABLE_JOIN", "ConnectionState", "ResilientClient"]

"""The application core: one chat session, the same under the line client and the Textual app.

::

    session = ChatSession.for_alias(SessionOptions("alice", port=5050))
    await session.open("lobby", suite="3des")        # ConnectError / JoinError, one line each
    async for event in session.events():             # chat.client.events; words in chat.ui.text
        ...
    await session.say("hello")                       # queued (MessageQueued) while reconnecting
    await session.send_file("notes.pdf")             # TransferError if it cannot start
    session.answer_offer("1", accept=True)           # /accept 1: an offer the policy asked about
    session.who(), session.verify("bob"), session.trust("bob"), session.certificate("bob")
    unsent = await session.close()                   # the texts that never left

:class:`ChatSession` wires a :class:`~chat.client.chat_client.ChatClient` (with the known-peers
store of this alias on this server: trust on first use), a
:class:`~chat.client.reconnect.ResilientClient` (reconnection and the queue of what is typed
meanwhile), a :class:`~chat.transfer.manager.TransferManager` (files) and a
:class:`~chat.app.roster.Roster` (the members with their trust and, under ``--ca``, certificate
states). It never renders anything: what happens comes out of :meth:`ChatSession.events`, each
command's answer is an event returned to the caller, and a failure is a ClientError or
TransferError with a one-line message.

The policies (:mod:`chat.app.policy`) attach in two places. Before anything is handed out: file
offers are received as ``options.files`` says (:class:`~chat.transfer.policy.OfferPolicy`:
consent, asked or given, and quotas), and those from a member the core would not give its key
to are refused (:meth:`~chat.app.roster.Roster.vet`). After: what the user sees of each event
from the connection is decided in :meth:`ChatSession._react`: file messages are the transfers'
business, an insecure suite gets a warning, a first contact says it is trusted on first use,
each arriving member gets its certificate check.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from chat.app.ca_checks import CertificateChecks
from chat.app.policy import first_contact, insecure_warning, join_refusal
from chat.app.roster import Roster
from chat.client import events as ev
from chat.client.backoff import Backoff
from chat.client.chat_client import CLIENT_NAME, DEFAULT_HOST, DEFAULT_PORT, ChatClient
from chat.client.errors import ClientError, JoinError
from chat.client.event_queue import EventQueue
from chat.client.feed import Feed, WireFrame
from chat.client.reconnect import ConnectionState, ResilientClient
from chat.client.store import alias_identity, known_peers
from chat.e2e.certificates import Certificate
from chat.e2e.identity import Identity
from chat.e2e.session import TraceRecord
from chat.transfer.manager import TransferManager
from chat.transfer.outgoing import OutgoingTransfer
from chat.transfer.policy import OfferPolicy
from ciphers.des import DESTrace
from ciphers.rsa.keys import RSAPublicKey

CLOSE_TIMEOUT = 3.0  # seconds for each step of closing


@dataclass(frozen=True)
class SessionOptions:
    """Who we are, where, and what we check: what both user interfaces start the core with."""

    alias: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    identity_dir: str | None = None  # --identity DIR; None: per alias in the config store
    ephemeral: bool = False  # fresh identity keys, never saved
    ca: RSAPublicKey | None = None  # --ca: check every member's certificate against this key
    certificate: Certificate | None = None  # --cert: presented with each join
    downloads: str | None = None  # where received files go (None: the default folder)
    files: OfferPolicy = dataclasses.field(default_factory=OfferPolicy)  # offers accepted (default: none)
    hold_timeout: float = 3.0
    client_name: str = CLIENT_NAME
    backoff: Backoff | None = None  # when to reconnect (None: Backoff's defaults)

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


def connection_state(link: ConnectionState, connected: bool, in_room: bool) -> str:
    """What a status line says: ``reconnecting``, ``offline``, ``connected`` or ``online`` (in a room)."""
    if link is ConnectionState.RECONNECTING:
        return "reconnecting"
    if link is ConnectionState.GAVE_UP or not connected:
        return "offline"
    return "online" if in_room else "connected"


class ChatSession:
    """One alias on one server, in at most one room at a time (see the module notes).

    ``identity``: the keys to use (fresh ones if None; :meth:`for_alias` takes the alias's from the
    store). ``client_options`` and ``resilience`` go to ChatClient and ResilientClient as they are.
    StoreError (one line) if the known-peers file of this alias and server is unreadable.
    """

    def __init__(
        self,
        options: SessionOptions,
        identity: Identity | None = None,
        *,
        client_options: Mapping[str, Any] | None = None,
        resilience: Mapping[str, Any] | None = None,
        events_size: int = 1024,
    ) -> None:
        self.options = options
        certificate = None if options.certificate is None else options.certificate.encode()
        self.client = ChatClient(
            options.alias,
            identity,
            known_peers=known_peers(options.alias, options.host, options.port),
            hold_timeout=options.hold_timeout,
            client_name=options.client_name,
            certificate=certificate,
            **(client_options or {}),
        )
        self.link = ResilientClient(self.client, options.backoff, **(resilience or {}))
        checks = None if options.ca is None else CertificateChecks(options.ca)
        self.roster = Roster(self.client, checks, options.certificate)
        self.client.eligibility = self.roster.eligible  # decided before any key is wrapped
        self.transfers = TransferManager(
            self.client, options.downloads, policy=options.files, vet=self.roster.vet
        )
        self.joined: ev.Joined | None = None  # the room we are in, as we joined it
        self.unsent: list[str] = []  # every text reported unsent
        self._sending: set[OutgoingTransfer] = set()
        self._events: EventQueue[ev.ChatEvent] = EventQueue(events_size)
        self._pump: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    def for_alias(cls, options: SessionOptions, **kwargs: Any) -> ChatSession:
        """A session with the alias's identity keys from the store (created on first use; fresh and
        unsaved when ``options.ephemeral``). StoreError in one line if they cannot be kept."""
        identity = alias_identity(options.alias, options.identity_dir, ephemeral=options.ephemeral)
        return cls(options, identity, **kwargs)

    # --- state ----------------------------------------------------------------------------------

    @property
    def alias(self) -> str:
        return self.client.alias

    @property
    def fingerprint(self) -> str:
        """Our identity's fingerprint, as digit groups."""
        return self.client.fingerprint

    @property
    def room(self) -> str | None:
        """The room we are in, or the one we rejoin while reconnecting."""
        return self.link.room

    @property
    def in_room(self) -> bool:
        return self.client.in_room

    @property
    def state(self) -> str:
        """The connection as a status line says it (:func:`connection_state`)."""
        return connection_state(self.link.state, self.client.connected, self.client.in_room)

    @property
    def trace(self) -> Feed[TraceRecord]:
        """How each message was sealed and checked (:class:`~chat.e2e.session.TraceRecord`)."""
        return self.client.trace

    @property
    def wire(self) -> Feed[WireFrame]:
        """Every frame as it crossed the socket: what the relay sees."""
        return self.client.wire

    # --- the room -------------------------------------------------------------------------------

    async def open(self, room: str, suite: str | None = None, kex: str | None = None) -> ev.Joined:
        """Connect and join ``room`` (``suite``/``kex`` if it is new), then start the events.

        On failure the session is closed and the error raised: ConnectError, JoinError (with a hint
        when the server wants a certificate), ClientError, ValueError (an unknown suite or kex).
        """
        try:
            await self.link.connect(self.options.host, self.options.port)
            joined = await self.link.join(room, suite, kex)
        except JoinError as exc:
            await self.close()
            raise JoinError(join_refusal(exc, self.options.certificate is not None), exc.code) from None
        except Exception:
            await self.close()
            raise
        self._pump = asyncio.ensure_future(self._pump_all())
        return joined

    async def join(self, room: str, suite: str | None = None, kex: str | None = None) -> ev.Joined:
        """Leave the room we are in (if any) and join ``room``; connect again first if we are offline."""
        if self.link.state is ConnectionState.RECONNECTING:
            raise ClientError("reconnecting: /join once the connection is back", "reconnecting")
        if not self.client.connected:
            await self.link.connect(self.options.host, self.options.port)
        if self.client.in_room:
            await self.link.leave()
        try:
            return await self.link.join(room, suite, kex)
        except JoinError as exc:
            refusal = join_refusal(exc, self.options.certificate is not None)
            raise JoinError(f"cannot join #{room}: {refusal}", exc.code) from None

    async def leave(self) -> None:
        """Leave the room; the connection stays open."""
        await self.link.leave()

    async def say(self, text: str) -> ev.MessageSent | None:
        """Send ``text`` to the room, or queue it while reconnecting (None, and a MessageQueued event).

        ValueError if it is too long; ClientError when not in a room or offline for good.
        """
        if self.link.room is None:
            raise ClientError("not in a room; /join ROOM first", "not_in_room")
        return await self.link.send(text)

    async def send_file(self, path: str | os.PathLike[str]) -> OutgoingTransfer:
        """Offer the file at ``path`` to the room; it goes in the background (TransferError if not)."""
        transfer = await self.transfers.send_file(path)
        self._sending.add(transfer)
        return transfer

    def answer_offer(self, which: str | None, accept: bool) -> None:
        """``/accept`` or ``/refuse`` the file offer numbered (or keyed) ``which``, the only one when
        None; what follows is a transfer event. TransferError (one line) if no such offer waits."""
        self.transfers.answer(which, accept)

    def cancel_transfers(self, reason: str = "cancelled by the user") -> ev.TransfersCancelled:
        """Cancel every transfer in progress, ours and those we receive, and refuse the offers waiting."""
        keys = [status.transfer for status in self.transfers.active]
        keys += [pending.arrived.key for pending in self.transfers.offers]
        for key in keys:
            self.transfers.cancel(key, reason)
        return ev.TransfersCancelled(len(keys))

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Until what was typed has left: the queue sent and our file transfers finished.

        True when all of it went; False if some was reported unsent or failed, or after ``timeout``.
        """
        done = await self.link.wait_sent(timeout)
        for transfer in list(self._sending):
            try:
                finished = await transfer.wait(timeout)
            except TimeoutError:
                return False
            self._sending.discard(transfer)
            done = done and finished.ok
        return done

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> tuple[str, ...]:
        """Cancel the transfers (no partial file stays), leave, disconnect and end the events, each
        step bounded. Returns the texts still queued for a connection that never came back."""
        if self._closed:
            return ()
        self._closed = True
        with contextlib.suppress(Exception):
            await self.transfers.close(timeout=timeout)
        unsent: tuple[str, ...] = ()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(timeout * 2):
                unsent = await self.link.close(timeout=timeout)
        pump = self._pump
        if pump is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                async with asyncio.timeout(timeout):
                    await asyncio.shield(pump)
            pump.cancel()  # nobody reads the events: stop passing them on
        self._events.end()
        return unsent

    # --- answers --------------------------------------------------------------------------------

    def who(self) -> ev.Members:
        """Us and the other members, with fingerprints, trust and (under ``--ca``) certificates."""
        self._require_room()
        return self.roster.who()

    def verify(self, alias: str) -> ev.SafetyNumber:
        """The safety number to compare with ``alias`` out of band (ClientError if no such member)."""
        client = self._require_room()
        number = client.safety_number(alias)
        identity = client.member_identity(alias)
        assert identity is not None  # safety_number found it
        return ev.SafetyNumber(alias, number, identity.fingerprint, client.identity.fingerprint)

    async def trust(self, alias: str) -> ev.Trusted:
        """Accept ``alias``'s current key as verified, in the known-peers store; a member whose key
        CHANGED then gets our chain (unless, under ``--ca``, its certificate does not hold)."""
        client = self._require_room()
        client.trust(alias)
        identity = client.member_identity(alias)
        assert identity is not None  # trust found it
        await client.set_eligible(alias, self.roster.exclusion(alias) is None)
        return ev.Trusted(alias, identity.fingerprint)

    def certificate(self, alias: str | None = None) -> ev.CertificateDetails:
        """``alias``'s certificate and its state under ``--ca`` (ours when ``alias`` is None)."""
        if alias is not None:
            self._require_room()
        return self.roster.details(alias)

    def round_trace(self, record: TraceRecord) -> list[DESTrace] | None:
        """The 16 DES rounds of ``record``'s first block, while its session key is current."""
        session = self.client.session
        return None if session is None else session.round_trace(record)

    # --- events ---------------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[ev.ChatEvent]:
        """Everything the user sees, in order, until :meth:`close`."""
        async for event in self._events:
            yield event

    async def _pump_all(self) -> None:
        try:
            await asyncio.gather(self._pump_link(), self._pump_transfers())
        finally:
            self._events.end()

    async def _pump_link(self) -> None:
        async for event in self.link.events():
            if self.transfers.handle(event):
                continue  # a file message: the transfer's own events say what happened
            for shown in self._react(event):
                await self._events.put(shown)

    async def _pump_transfers(self) -> None:
        async for event in self.transfers.events():
            await self._events.put(event)

    def _react(self, event: ev.ChatEvent) -> tuple[ev.ChatEvent, ...]:
        """What the user sees of ``event`` from the connection: itself, and what follows from it."""
        if isinstance(event, ev.Joined):
            self.joined = event
            shown: list[ev.ChatEvent | None] = [event]
            if event.insecure:
                shown.append(insecure_warning(event.suite))
            shown.extend(first_contact(m.alias, m.fingerprint, m.trust) for m in event.members)
            own = self.roster.own_status()
            if own is not None:
                shown.append(ev.CertificateChecked(self.alias, own, own=True))
                shown.extend(self.roster.checked(member.alias) for member in event.members)
            return tuple(item for item in shown if item is not None)
        if isinstance(event, ev.MemberJoined):
            found = first_contact(event.alias, event.fingerprint, event.trust)
            checked = self.roster.checked(event.alias)
            return tuple(item for item in (event, found, checked) if item is not None)
        if isinstance(event, ev.KeyWithheld) and event.why == "policy":
            return (dataclasses.replace(event, reason=self.roster.exclusion(event.alias) or ""),)
        if isinstance(event, ev.Left):
            self.joined = None
        elif isinstance(event, ev.MessagesUnsent):
            self.unsent.extend(event.texts)
        return (event,)

    # --- helpers --------------------------------------------------------------------------------

    def _require_room(self) -> ChatClient:
        if self.client.room is None:
            raise ClientError("not in a room: /join ROOM", "not_in_room")
        return self.client

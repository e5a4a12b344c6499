"""One room's end-to-end state, pure: sender chains, key bundles, views, sealing and opening.

No I/O and no clock: each method takes what arrived and returns a :class:`Result` holding the
frames to send (:class:`Outgoing`), what happened (:data:`SessionEvent`) and the steps as data
(:class:`TraceRecord`) for the trace view (:mod:`chat.e2e.results`). The asyncio client
(:mod:`chat.client.chat_client`) is a thin loop around it; tests drive it directly. The bytes are
specified in :mod:`chat.e2e.sealed`.

A session is one join: ``nonce`` is the 16-byte join nonce we drew for it, and every member comes
with the nonce it joined with (:class:`Arrival`). Everything we accept is bound to the current
joins: a frame carries its sender's nonce, and each bundle or direct message names its
recipient's, so what was recorded before either side rejoined is refused (``stale_session``). A
member announced while present is refused (``duplicate_member``), and so is a join seen before
during ours (``replayed_join``): otherwise a fake leave and a replayed join would reopen a
member's old frames. The nonces come from the protocol: ours in our ``join``, each member's in
its member entry (:mod:`chat.protocol`).

The room's suite decides the path its messages take: the hybrid suites (:mod:`chat.e2e.hybrid`)
give each sender a chain (:mod:`chat.e2e.chain`) handed over in key bundles; the direct suites
(:mod:`chat.e2e.direct`) encrypt each message to each recipient, key id ``alias/0``. Membership:

* on ``welcome`` (:meth:`RoomSession.start`) we start our chain and hand it to our view;
* on ``member_joined`` (:meth:`RoomSession.add_member`) we hand the newcomer our chain at its
  current index: it can read what we send from now on, and nothing before;
* on ``member_left`` (:meth:`RoomSession.remove_member`) we start a new chain for those who
  remain, so the leaver, who holds the old one, cannot read what follows;
* :meth:`RoomSession.set_eligible` is the application's key hand-out policy (:mod:`chat.app`):
  nothing of ours is ever wrapped or encrypted to an ineligible member (:class:`Withheld`);
  becoming eligible hands it our chain, becoming ineligible starts a new chain without it.

Views (:mod:`chat.e2e.views`): each frame signs whom it is for (epoch, view digest, and the changes
since the sender's previous message; bundles and direct messages the whole view). Each receiver
rebuilds the sender's view, compares it with its own (everyone it sees, itself included, the
sender excluded) and reports each new difference (:class:`ViewDiffers`: a ghost, a hidden member,
a sender still sending to a leaver, another identity or join for an alias, a view it cannot
rebuild). A signed departure from a current member that the relay did not tell us of makes us
forget the leaver and start a new chain without it (:class:`Departed`).

Receiving. A frame is accepted only if every check passes, in this order: known sender with a
usable identity, well formed (and within the bounds of a room of ``max_members``), for the room's
suite and kex (``suite_mismatch`` names the sender), from the sender's current join, key id naming
the sender, key known (a message under a chain whose bundle has not arrived yet is *held*, up to
``max_held`` per sender, the oldest dropped and counted beyond that, until the bundle comes;
:meth:`expire_held` turns what is still held, and the count of what was dropped, into warnings),
index or counter usable (not replayed, at most :data:`~chat.e2e.chain.MAX_SKIP` ahead; below the
index the chain was handed to us at, it was sealed before we were given the chain, so not for us:
once its signature checks, it is dropped without a warning, :class:`Earlier`, and so are held
messages dropped meanwhile that were all below it), then the MAC (hybrid) or the signed digest of
our payload (direct), then the sender's signature, then decryption. A failure is a
:class:`Rejected` event with a :class:`Reason`; no text of a rejected frame is ever returned.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from chat.e2e.direct import DirectPath
from chat.e2e.families import Family
from chat.e2e.hybrid import HybridPath
from chat.e2e.identity import Identity
from chat.e2e.results import (
    EMPTY,
    Delivered,
    Departed,
    Difference,
    DifferenceKind,
    Earlier,
    Held,
    KeyDrawn,
    KeyReceived,
    Outgoing,
    Reason,
    Rejected,
    Result,
    Sent,
    SessionEvent,
    TraceRecord,
    ViewDiffers,
    Withheld,
)
from chat.e2e.room import Arrival, HeldMessage, Member, MemberInfo, RoomState
from chat.e2e.sealed import CONTENT_TYPE, LEFT, NONCE_SIZE, TEXT, WITHHELD
from chat.e2e.suites import HybridSuite, Suite, kex, suite
from chat.e2e.views import Evidence
from chat.protocol.limits import DEFAULT_LIMITS
from ciphers import des
from ciphers.jobs import Job, done, run
from ciphers.rng import RNG, SYSTEM

MAX_TEXT = 4096
MAX_DATA = 256 * 1024
MAX_HELD = 32


class RoomSession:
    """The end-to-end state of one client in one join of one room (see the module notes)."""

    def __init__(
        self,
        identity: Identity,
        alias: str,
        room: str,
        suite_name: str,
        kex_name: str,
        *,
        nonce: bytes,
        rng: RNG = SYSTEM,
        max_held: int = MAX_HELD,
        max_text: int = MAX_TEXT,
        max_data: int = MAX_DATA,
        max_members: int = DEFAULT_LIMITS.max_members,
    ) -> None:
        if len(nonce) != NONCE_SIZE:
            raise ValueError(f"a join nonce is {NONCE_SIZE} bytes, not {len(nonce)}")
        chosen = suite(suite_name)
        exchange = kex(kex_name)
        family = chosen.family(exchange.name)
        self._room = RoomState(identity, alias, room, chosen, exchange, family, rng, nonce, max_members)
        self._path: HybridPath | DirectPath = (
            HybridPath(self._room, chosen, self._observe, max_held=max_held)
            if isinstance(chosen, HybridSuite)
            else DirectPath(self._room, chosen, self._observe)
        )
        self.max_text = max_text
        self.max_data = max_data

    # --- what the session knows -----------------------------------------------------------------

    @property
    def identity(self) -> Identity:
        """Our identity keys."""
        return self._room.identity

    @property
    def alias(self) -> str:
        """Our alias in the room."""
        return self._room.alias

    @property
    def room(self) -> str:
        """The room's name."""
        return self._room.room

    @property
    def nonce(self) -> bytes:
        """Our join nonce for this join."""
        return self._room.nonce

    @property
    def suite(self) -> Suite:
        """The room's suite."""
        return self._room.suite

    @property
    def kex(self) -> Family:
        """The room's key exchange: the family that wraps chain keys."""
        return self._room.kex

    @property
    def family(self) -> Family:
        """The family that signs (and, in a direct suite, encrypts) in this room."""
        return self._room.family

    @property
    def key_id(self) -> str | None:
        """Our current chain's key id (None for the direct suites, or before :meth:`start`)."""
        return self._path.key_id

    @property
    def members(self) -> tuple[MemberInfo, ...]:
        """The other members, in the order they were added."""
        return tuple(m.info() for m in self._room.members.values())

    def member(self, alias: str) -> MemberInfo | None:
        """The member called ``alias`` (ignoring case), if any."""
        found = self._room.member(alias)
        return None if found is None else found.info()

    @property
    def recipients(self) -> tuple[str, ...]:
        """The members our messages are for (our view): eligible, with a usable identity."""
        return tuple(m.alias for m in self._room.recipients())

    # --- membership -----------------------------------------------------------------------------

    def start(self, members: Iterable[Arrival]) -> Result:
        """We joined (``welcome``): learn the members; in a hybrid suite, start our chain for them."""
        room = self._room
        room.clock += 1
        result, entries = EMPTY, []
        for arrival in members:
            arrived, member = room.arrive(arrival)
            result += arrived
            entry = None if member is None else member.entry
            if member is not None and entry is not None and member.eligible:
                entries.append(entry)
        room.view.set(entries)
        return result + self._path.started()

    def add_member(self, arrival: Arrival) -> Result:
        """``member_joined``: hand the newcomer our chain at its current index (if it is eligible)."""
        room = self._room
        room.clock += 1
        result, member = room.arrive(arrival)
        if member is None or member.entry is None or not member.eligible:
            return result
        room.view.add(member.entry)
        return result + self._path.handed(member, "join")

    def set_eligible(self, alias: str, eligible: bool) -> Result:
        """The application's policy for ``alias``: hand it our chain, or start a new one without it."""
        room = self._room
        member = room.member(alias)
        if member is None or member.eligible == eligible:
            return EMPTY
        member.eligible = eligible
        entry = member.entry
        if entry is None:
            return EMPTY
        if eligible:
            room.view.add(entry)
            return self._path.handed(member, "eligible")
        result = Result(events=(Withheld(member.alias, "policy"),))
        if room.view.remove(member.key, WITHHELD):
            result += self._path.rekeyed("ineligible")
        return result

    def remove_member(self, alias: str) -> Result:
        """``member_left``: forget them; in a hybrid suite, start a new chain for those who remain."""
        member = self._room.member(alias)
        return EMPTY if member is None else self._forget(member, "leave")

    def _forget(self, member: Member, why: str, witness: str | None = None) -> Result:
        room = self._room
        room.clock += 1
        result = EMPTY if witness is None else Result(events=(Departed(member.alias, witness),))
        for key_id, _, _ in member.held:
            result += room.reject(member.alias, Reason.UNKNOWN_KEY, f"left before key {key_id} arrived")
        self._path.forgotten(member)
        room.forget(member)
        if room.view.remove(member.key, LEFT):
            result += self._path.rekeyed(why)
        return result

    def _observe(self, sender: Member, evidence: Evidence) -> Result:
        """What an accepted frame showed of ``sender``'s view: departures first, then differences."""
        result = EMPTY
        for gone in self._room.departures(sender, evidence.changes):
            result += self._forget(gone, "departed", sender.alias)
        return result + self._room.check_view(sender, evidence)

    # --- sending --------------------------------------------------------------------------------

    def seal(self, text: str) -> Result:
        """Seal a text message for the room. ValueError if it is longer than ``max_text`` characters."""
        if len(text) > self.max_text:
            raise ValueError(f"message of {len(text)} characters is above the limit of {self.max_text}")
        return self.seal_data(text.encode("utf-8"), TEXT)

    def seal_data(self, data: bytes, content_type: str) -> Result:
        """Seal ``data`` of ``content_type`` (e.g. a file chunk; ``text`` must be UTF-8) for the room."""
        self._check_data(data, content_type)
        return self._path.seal(data, content_type)

    def seal_data_many(self, items: Sequence[tuple[bytes, str]]) -> list[Result]:
        """:meth:`seal_data` of each (data, content type), in order: the same messages, one Result
        each, but a hybrid suite encrypts them side by side (file chunks: see :mod:`chat.transfer`).
        Every item is checked before any is sealed."""
        return run(self.seal_data_many_job(items))

    def seal_data_many_job(self, items: Sequence[tuple[bytes, str]]) -> Job[list[Result]]:
        """:meth:`seal_data_many` as a :data:`~ciphers.jobs.Job`, for a caller that runs other
        things between its segments (:meth:`HybridPath.seal_many` says what is reserved at once;
        frames must go out in the order they were sealed). Every item is checked now. A direct
        suite seals every item now, one at a time, and the job has nothing left to do."""
        for data, content_type in items:
            self._check_data(data, content_type)
        if isinstance(self._path, HybridPath):
            return self._path.seal_many(items)
        return done([self._path.seal(data, content_type) for data, content_type in items])

    def _check_data(self, data: bytes, content_type: str) -> None:
        if not CONTENT_TYPE.fullmatch(content_type):
            raise ValueError(f"content type must match {CONTENT_TYPE.pattern}: {content_type[:40]!r}")
        if len(data) > self.max_data:
            raise ValueError(f"message of {len(data)} bytes is above the limit of {self.max_data}")
        if content_type == TEXT:
            data.decode("utf-8")

    # --- receiving ------------------------------------------------------------------------------

    def open_message(
        self, sender: str, body: Mapping[str, str], payload: Mapping[str, str] | None = None
    ) -> Result:
        """A relayed ``message`` from ``sender``: Delivered, Held or Rejected (see the module notes)."""
        member = self._room.sender(sender, "message")
        if isinstance(member, Result):
            return member
        return self._path.open(member, body, payload)

    def open_bundle(
        self, sender: str, key_id: str, body: Mapping[str, str], payload: Mapping[str, str]
    ) -> Result:
        """A relayed ``key_bundle``: install ``sender``'s chain (releasing held messages) or reject it."""
        member = self._room.sender(sender, "key_bundle")
        if isinstance(member, Result):
            return member
        return self._path.open_bundle(member, key_id, body, payload)

    def expire_held(self, sender: str, key_id: str | None = None) -> Result:
        """Reject what is still held from ``sender`` (under ``key_id``, or all): its key never came."""
        member = self._room.member(sender)
        if member is None:
            return EMPTY
        result = EMPTY
        kept: deque[HeldMessage] = deque()
        for item in member.held:
            if key_id is None or item[0] == key_id:
                result += self._room.reject(
                    member.alias, Reason.UNKNOWN_KEY, f"key {item[0]} never arrived", key_id=item[0]
                )
            else:
                kept.append(item)
        member.held = kept
        for dropped_id in [k for k in member.dropped if key_id is None or k == key_id]:
            _, count, _ = member.dropped.pop(dropped_id)
            result += self._room.reject(
                member.alias,
                Reason.UNKNOWN_KEY,
                f"key {dropped_id} never arrived; {count} more under it dropped while waiting",
                key_id=dropped_id,
            )
        return result

    def held_count(self, sender: str | None = None) -> int:
        """How many messages wait for a key (from ``sender``, or in all)."""
        members = self._room.members.values() if sender is None else [self._room.member(sender)]
        return sum(len(m.held) for m in members if m is not None)

    # --- teaching -------------------------------------------------------------------------------

    def chain_key(self, key_id: str) -> tuple[bytes, int] | None:
        """(chain key, index) of a current chain, ours or a member's, where it stands: for teaching
        and tests only. It opens the messages from that index on, none before; never send it."""
        return self._path.chain_key(key_id)

    def round_trace(self, record: TraceRecord) -> list[des.DESTrace] | None:
        """The DES rounds of ``record``'s first block (three passes for 3DES).

        Only for the latest message of a current chain, whose cipher key the session keeps for this
        view alone (every other message key is forgotten once used); None otherwise, and for the
        direct suites or records without a first block.
        """
        return self._path.round_trace(record)


__all__ = [
    "EMPTY",
    "Arrival",
    "Delivered",
    "Departed",
    "Difference",
    "DifferenceKind",
    "Earlier",
    "Held",
    "KeyDrawn",
    "KeyReceived",
    "MemberInfo",
    "Outgoing",
    "Reason",
    "Rejected",
    "Result",
    "RoomSession",
    "Sent",
    "SessionEvent",
    "TraceRecord",
    "ViewDiffers",
    "Withheld",
]

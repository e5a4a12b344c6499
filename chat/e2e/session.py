"""One room's end-to-end state, pure: session keys per sender, key bundles, sealing and opening, replay.

No I/O and no clock: each method takes what arrived and returns a :class:`Result` holding the
frames to send (:class:`Outgoing`), what happened (:data:`SessionEvent`) and the steps as data
(:class:`TraceRecord`) for the trace view (:mod:`chat.e2e.results`). The asyncio client
(:mod:`chat.client.chat_client`) is a thin loop around it; tests drive it directly.

The room's suite decides the path its messages take, and the session delegates to it: the hybrid
suites (:mod:`chat.e2e.hybrid`) give each sender a session key (cipher key + MAC key, from
:mod:`ciphers.rng`) sent in key bundles; the direct suites (:mod:`chat.e2e.direct`) encrypt each
message to each recipient, with key id generation 0 (``alice/0``). Key ids name (sender,
generation): ``alice/3``. Membership:

* on ``welcome`` (:meth:`RoomSession.start`) we draw our key and send it to every member;
* on ``member_joined`` we send our *current* key to the newcomer only (with ``rekey_on_join`` we
  draw a new key for everyone instead, so a newcomer who recorded earlier traffic cannot read it);
* on ``member_left`` we draw a new key and send it to those who remain, so the leaver, who knows
  every old key, cannot read what follows; we also forget the leaver's key.

Receiving. A frame is accepted only if every check passes, in this order: known sender, well
formed, key id naming the sender, key known (a message under a key whose bundle has not arrived
yet is *held*, up to ``max_held`` per sender, and released when it comes; :meth:`expire_held`
turns what is still held into warnings), counter or generation not seen before (replay), then the
MAC (hybrid) or the signed digest of our payload (direct), then the sender's signature, then
decryption. A failure is a :class:`Rejected` event with a :class:`Reason`; no text of a rejected
frame is ever returned. Counters are per key for hybrid messages (from 1), per sender for direct
messages; a key bundle must carry a higher generation than the one we hold from that sender.

What is signed (see :mod:`chat.e2e.sealed` for the exact bytes): room, sender, key id, counter and the
ciphertext (with the MAC), under a domain-separation tag, in a length-prefixed encoding.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from chat.e2e.direct import DirectPath
from chat.e2e.families import Family
from chat.e2e.hybrid import HybridPath
from chat.e2e.identity import Identity
from chat.e2e.results import (
    EMPTY,
    Delivered,
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
)
from chat.e2e.room import HeldMessage, MemberInfo, RoomState
from chat.e2e.sealed import CONTENT_TYPE, TEXT
from chat.e2e.suites import HybridSuite, Suite, kex, suite
from chat.protocol.names import name_key
from ciphers import des
from ciphers.rng import RNG, SYSTEM

MAX_TEXT = 4096
MAX_DATA = 256 * 1024
MAX_HELD = 32


class RoomSession:
    """The end-to-end state of one client in one room (see the module notes)."""

    def __init__(
        self,
        identity: Identity,
        alias: str,
        room: str,
        suite_name: str,
        kex_name: str,
        *,
        rng: RNG = SYSTEM,
        rekey_on_join: bool = False,
        max_held: int = MAX_HELD,
        max_text: int = MAX_TEXT,
        max_data: int = MAX_DATA,
    ) -> None:
        chosen = suite(suite_name)
        exchange = kex(kex_name)
        self._room = RoomState(identity, alias, room, chosen, exchange, chosen.family(exchange.name), rng)
        self._path: HybridPath | DirectPath = (
            HybridPath(self._room, chosen, rekey_on_join=rekey_on_join, max_held=max_held)
            if isinstance(chosen, HybridSuite)
            else DirectPath(self._room, chosen)
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
    def suite(self) -> Suite:
        """The room's suite."""
        return self._room.suite

    @property
    def kex(self) -> Family:
        """The room's key exchange: the family that wraps session keys."""
        return self._room.kex

    @property
    def family(self) -> Family:
        """The family that signs (and, in a direct suite, encrypts) in this room."""
        return self._room.family

    @property
    def key_id(self) -> str | None:
        """Our current session key id (None for the direct suites, or before :meth:`start`)."""
        key = self._path.key
        return None if key is None else key.key_id

    @property
    def members(self) -> tuple[MemberInfo, ...]:
        """The other members, in the order they were added."""
        return tuple(m.info() for m in self._room.members.values())

    def member(self, alias: str) -> MemberInfo | None:
        """The member called ``alias`` (ignoring case), if any."""
        found = self._room.member(alias)
        return None if found is None else found.info()

    # --- membership -----------------------------------------------------------------------------

    def start(self, members: Iterable[tuple[str, Mapping[str, str]]]) -> Result:
        """We joined (``welcome``): learn the members; in a hybrid suite, draw our key and send it to all."""
        result = EMPTY
        for alias, identity in members:
            result += self._room.add(alias, identity)
        return result + self._path.started()

    def add_member(self, alias: str, identity: Mapping[str, str]) -> Result:
        """``member_joined``: hand the newcomer our current key (or rekey for all with ``rekey_on_join``)."""
        result = self._room.add(alias, identity)
        member = self._room.member(alias)
        assert member is not None
        return result + self._path.member_added(member)

    def remove_member(self, alias: str) -> Result:
        """``member_left``: forget them; in a hybrid suite, draw a new key for those who remain."""
        member = self._room.members.pop(name_key(alias), None)
        if member is None:
            return EMPTY
        result = EMPTY
        for key_id, _, _ in member.held:
            result += self._room.reject(member.alias, Reason.UNKNOWN_KEY, f"left before key {key_id} arrived")
        return result + self._path.member_removed()

    # --- sending --------------------------------------------------------------------------------

    def seal(self, text: str) -> Result:
        """Seal a text message for the room. ValueError if it is longer than ``max_text`` characters."""
        if len(text) > self.max_text:
            raise ValueError(f"message of {len(text)} characters is above the limit of {self.max_text}")
        return self.seal_data(text.encode("utf-8"), TEXT)

    def seal_data(self, data: bytes, content_type: str) -> Result:
        """Seal ``data`` of ``content_type`` (e.g. a file chunk; ``text`` must be UTF-8) for the room."""
        if not CONTENT_TYPE.fullmatch(content_type):
            raise ValueError(f"content type must match {CONTENT_TYPE.pattern}: {content_type[:40]!r}")
        if len(data) > self.max_data:
            raise ValueError(f"message of {len(data)} bytes is above the limit of {self.max_data}")
        if content_type == TEXT:
            data.decode("utf-8")
        return self._path.seal(data, content_type)

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
        """A relayed ``key_bundle``: install ``sender``'s key (releasing held messages) or reject it."""
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
        return result

    def held_count(self, sender: str | None = None) -> int:
        """How many messages wait for a key (from ``sender``, or in all)."""
        members = self._room.members.values() if sender is None else [self._room.member(sender)]
        return sum(len(m.held) for m in members if m is not None)

    # --- teaching -------------------------------------------------------------------------------

    def session_key(self, key_id: str) -> tuple[bytes, bytes] | None:
        """(cipher key, MAC key) of a current key id, ours or a member's: for teaching and tests only.

        Showing it is how a notebook proves the relay never had it; never send it anywhere.
        """
        key = self._path.find_key(key_id)
        return None if key is None else (key.cipher_key, key.mac_key)

    def round_trace(self, record: TraceRecord) -> list[des.DESTrace] | None:
        """The DES rounds of ``record``'s first block (three passes for 3DES), while its key is current.

        None for the direct suites, for records without a first block, or once the key is replaced.
        """
        return self._path.round_trace(record)


__all__ = [
    "EMPTY",
    "Delivered",
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
]

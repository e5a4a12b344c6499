"""The relay's room bookkeeping, pure: who is in which room, under which suite, and who is behind.

A room is created by its first join, with the suite and key exchange that client asked for (or
the server's defaults), and removed when its last member leaves. Aliases are unique per room
ignoring case (:func:`~chat.protocol.names.name_key`). ``P`` is whatever handle the server keeps
for a member's connection; this module never looks inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from chat.protocol.errors import ErrorCode
from chat.protocol.events import JoinFrame, KexName, Member, SuiteName
from chat.protocol.names import name_key

P = TypeVar("P")


class Refusal(Exception):
    """A join the room cannot take, with the code for the ``error`` frame."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Seat(Generic[P]):
    """One member of a room and the handle of its connection."""

    member: Member
    peer: P

    @property
    def alias(self) -> str:
        return self.member.alias


@dataclass(slots=True)
class Room(Generic[P]):
    """A room: its name as first written, its suite and key exchange, its members by folded alias.

    For the server's flow control it also knows which members are ``behind`` (too much waits for
    them) and which senders are ``held`` (not read until the room has caught up): a room with at
    least half its members behind is :attr:`congested`, slow as a whole rather than for one reader.
    """

    name: str
    suite: SuiteName
    kex: KexName
    seats: dict[str, Seat[P]] = field(default_factory=dict)
    behind: set[P] = field(default_factory=set)
    held: set[P] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.seats)

    def seat(self, alias: str) -> Seat[P] | None:
        """The member called ``alias`` (ignoring case), if any."""
        return self.seats.get(name_key(alias))

    def others(self, alias: str) -> list[Seat[P]]:
        """Every member but ``alias``, in the order they joined."""
        key = name_key(alias)
        return [seat for k, seat in self.seats.items() if k != key]

    @property
    def congested(self) -> bool:
        """At least half the members are behind: the room, not one reader, is too slow."""
        return bool(self.behind) and 2 * len(self.behind) >= len(self.seats)

    def caught_up(self, peer: P) -> set[P]:
        """``peer`` is no longer behind; the senders to read again if the room has caught up."""
        self.behind.discard(peer)
        return self.release()

    def release(self) -> set[P]:
        """The held senders, if the room is no longer congested (they are held no more)."""
        if not self.held or self.congested:
            return set()
        released, self.held = self.held, set()
        return released


class Rooms(Generic[P]):
    """Every room of one server."""

    def __init__(self, suite: SuiteName, kex: KexName, max_members: int) -> None:
        self.suite = suite
        self.kex = kex
        self.max_members = max_members
        self._rooms: dict[str, Room[P]] = {}

    def __len__(self) -> int:
        return len(self._rooms)

    def get(self, name: str) -> Room[P] | None:
        """The room called ``name`` (ignoring case), if it exists."""
        return self._rooms.get(name_key(name))

    def names(self) -> list[str]:
        """The names of the rooms that exist."""
        return [room.name for room in self._rooms.values()]

    def join(self, join: JoinFrame, peer: P) -> Room[P]:
        """Seat ``peer`` in the room ``join`` names, creating it; raises Refusal when it cannot."""
        key = name_key(join.room)
        room = self._rooms.get(key)
        if room is None:
            room = Room(join.room, join.suite or self.suite, join.kex or self.kex)
        alias_key = name_key(join.alias)
        if alias_key in room.seats:
            raise Refusal(ErrorCode.ALIAS_TAKEN, f"alias {join.alias!r} is taken in room {room.name!r}")
        if len(room.seats) >= self.max_members:
            raise Refusal(ErrorCode.ROOM_FULL, f"room {room.name!r} is full ({self.max_members} members)")
        room.seats[alias_key] = Seat(join.member, peer)
        self._rooms[key] = room
        return room

    def leave(self, room_name: str, alias: str) -> Room[P] | None:
        """Take ``alias`` out of its room, removing the room if it is now empty; the room, if found."""
        key = name_key(room_name)
        room = self._rooms.get(key)
        seat = None if room is None else room.seats.pop(name_key(alias), None)
        if room is None or seat is None:
            return None
        room.behind.discard(seat.peer)
        room.held.discard(seat.peer)
        if not room.seats:
            del self._rooms[key]
        return room

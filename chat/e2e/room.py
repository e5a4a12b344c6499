"""One room as a client's session knows it: who we are, the room's suite and families, each member.

:class:`RoomState` is what the session (:mod:`chat.e2e.session`) and its message path
(:mod:`chat.e2e.hybrid` or :mod:`chat.e2e.direct`) share: the members (identity, join nonce,
eligibility, the chain we hold from each, the view each one signs), our own view, who left, the
joins seen during our join, and the steps every path takes alike (rejecting a frame, signing,
checking the fields every body carries, checking our entry in a signed recipient list, checking
a sender's view against ours).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from chat.e2e import sealed
from chat.e2e.bodies import Common
from chat.e2e.chain import ReceivingChain
from chat.e2e.errors import IdentityError
from chat.e2e.families import Family
from chat.e2e.identity import Fingerprint, Identity, PublicIdentity
from chat.e2e.results import (
    EMPTY,
    Difference,
    DifferenceKind,
    Reason,
    Rejected,
    Result,
    TraceRecord,
    ViewDiffers,
    Withheld,
)
from chat.e2e.sealed import LEFT, NONCE_SIZE, Change, Entry
from chat.e2e.suites import Suite
from chat.e2e.views import Evidence, Facts, OurView, View, compare, rebuild
from chat.protocol.names import name_key
from ciphers import strict_base64
from ciphers.errors import VerificationError
from ciphers.rng import RNG

Frame = Literal["message", "key_bundle", "member"]
Checks = tuple[tuple[str, bool], ...]
HeldMessage = tuple[str, int, Mapping[str, str]]  # key id, generation, body
MAX_SEEN_JOINS = 1 << 16
"""Joins remembered during one join of ours (to refuse replayed ones); past it, joins are refused."""


@dataclass(frozen=True)
class Arrival:
    """A member entry as the end-to-end layer takes it: alias, the opaque identity map, the join
    nonce it joined with, and whether the application lets it have our keys (:mod:`chat.app`)."""

    alias: str
    identity: Mapping[str, str]
    nonce: bytes
    eligible: bool = True


@dataclass(frozen=True)
class MemberInfo:
    """A member as the session knows it: identity fingerprint (None if unusable), the key id of its
    chain we hold, its join nonce and whether it gets our keys."""

    alias: str
    identity: PublicIdentity | None
    fingerprint: Fingerprint | None
    key_id: str | None
    problem: str | None = None
    nonce: bytes = b""
    eligible: bool = True


@dataclass
class Member:
    """A member's state: identity, join, eligibility, its chain, what we accepted, its view."""

    alias: str
    identity: PublicIdentity | None
    nonce: bytes
    eligible: bool = True
    problem: str | None = None
    chain: ReceivingChain | None = None
    generation: int = 0  # highest chain generation accepted from this member
    direct_counter: int = 0  # highest direct-suite counter accepted
    held: deque[HeldMessage] = field(default_factory=deque)
    # Held messages dropped to make room, by key id: (generation, how many, their highest index).
    dropped: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    view: View | None = None  # whom it sends to, as rebuilt from its signed frames
    view_epoch: int = -1
    reported: frozenset[Difference] = frozenset()
    changed_at: int = 0  # our membership clock when it arrived
    heard_at: int = 0  # our membership clock when we last accepted a frame from it

    @property
    def key(self) -> str:
        """The folded alias."""
        return name_key(self.alias)

    @property
    def entry(self) -> Entry | None:
        """Its entry in a view (None without a usable identity)."""
        if self.identity is None:
            return None
        return Entry(self.key, self.identity.fingerprint.digest, self.nonce)

    def info(self) -> MemberInfo:
        """What the session tells about this member."""
        identity = self.identity
        return MemberInfo(
            self.alias,
            identity,
            None if identity is None else identity.fingerprint,
            None if self.chain is None else self.chain.key_id,
            self.problem,
            self.nonce,
            self.eligible,
        )


@dataclass(frozen=True)
class ToEach:
    """One value encrypted to each recipient: the payloads, their digests by folded alias, the trace."""

    payloads: dict[str, dict[str, str]]
    digests: dict[str, bytes]
    fields: dict[str, str]


@dataclass
class RoomState:
    """Our identity, alias and join nonce, the room, its suite, kex and signing family, the members."""

    identity: Identity
    alias: str
    room: str
    suite: Suite
    kex: Family
    family: Family
    rng: RNG
    nonce: bytes
    max_members: int
    members: dict[str, Member] = field(default_factory=dict)
    view: OurView = field(init=False)
    clock: int = 0  # counts the membership changes we saw
    left: OrderedDict[str, tuple[Entry, int]] = field(default_factory=OrderedDict)
    seen: set[tuple[str, bytes]] = field(default_factory=set)  # (folded alias, nonce) of each join

    def __post_init__(self) -> None:
        self.view = OurView(self.max_members)

    def member(self, alias: str) -> Member | None:
        """The member called ``alias``, ignoring case as the protocol's names do."""
        return self.members.get(name_key(alias))

    @property
    def entry(self) -> Entry:
        """Our own entry in the others' views."""
        return Entry(name_key(self.alias), self.identity.fingerprint.digest, self.nonce)

    # --- membership -----------------------------------------------------------------------------

    def arrive(self, arrival: Arrival) -> tuple[Result, Member | None]:
        """Learn a member, or refuse it (changing nothing): a duplicate, a replayed join, a full room.

        An unusable identity is kept, rejected and withheld: its frames are refused.
        """
        alias, key = arrival.alias, name_key(arrival.alias)
        if len(arrival.nonce) != NONCE_SIZE:
            return self.reject(
                alias, Reason.MALFORMED, f"join nonce is not {NONCE_SIZE} bytes", "member"
            ), None
        if key == name_key(self.alias) or key in self.members:
            return self.reject(
                alias, Reason.DUPLICATE_MEMBER, f"{alias!r} is already in the room", "member"
            ), None
        if (key, arrival.nonce) in self.seen:
            return self.reject(
                alias, Reason.REPLAYED_JOIN, f"this join of {alias!r} was seen before", "member"
            ), None
        if len(self.members) >= self.max_members - 1 or len(self.seen) >= MAX_SEEN_JOINS:
            return self.reject(alias, Reason.MALFORMED, "more members than a room holds", "member"), None
        try:
            identity: PublicIdentity | None = PublicIdentity.from_wire(arrival.identity)
            problem = None
        except IdentityError as exc:
            identity, problem = None, str(exc)
        self.seen.add((key, arrival.nonce))
        member = Member(alias, identity, arrival.nonce, arrival.eligible, problem)
        member.changed_at = member.heard_at = self.clock
        self.members[key] = member
        if problem is not None:
            rejected = self.reject(alias, Reason.BAD_IDENTITY, problem, "member")
            return rejected + Result(events=(Withheld(alias, "bad_identity"),)), member
        if not arrival.eligible:
            return Result(events=(Withheld(alias, "policy"),)), member
        return EMPTY, member

    def forget(self, member: Member) -> None:
        """``member`` is gone: remember who it was, for the views that still show it."""
        self.members.pop(member.key, None)
        entry = member.entry
        if entry is not None:
            self.left[member.key] = (entry, self.clock)
            while len(self.left) > self.max_members:
                self.left.popitem(last=False)

    def recipients(self) -> list[Member]:
        """The members our view holds (eligible, with a usable identity), in the order they came."""
        return [m for m in self.members.values() if m.key in self.view]

    def sender(self, alias: str, frame: Literal["message", "key_bundle"]) -> Member | Result:
        """The member a relayed frame comes from, or the rejection if it is unknown or unusable."""
        member = self.member(alias)
        if member is None:
            return self.reject(alias, Reason.UNKNOWN_SENDER, f"{alias!r} is not a member of this room", frame)
        if member.identity is None:
            return self.reject(alias, Reason.UNKNOWN_SENDER, f"{alias!r} has no usable identity", frame)
        return member

    def reject(
        self,
        sender: str,
        reason: Reason,
        detail: str,
        frame: Frame = "message",
        *,
        key_id: str = "",
        counter: int = 0,
        checks: Checks = (),
        fields: dict[str, str] | None = None,
    ) -> Result:
        """A :class:`Rejected` event and its trace record; nothing of the frame's text."""
        record = TraceRecord(
            "reject",
            self.suite.name,
            sender,
            key_id,
            counter,
            fields=fields or {},
            checks=checks,
            detail=f"{frame} rejected: {reason.value}: {detail}",
        )
        return Result((), (Rejected(sender, reason, detail, frame),), (record,))

    # --- checks every path makes ----------------------------------------------------------------

    def common_problem(self, member: Member, common: Common) -> tuple[Reason, str] | None:
        """Why a frame's clear suite, kex or sender nonce is not what we hold, or None."""
        if (common.suite, common.kex) != (self.suite.name, self.kex.name):
            return Reason.SUITE_MISMATCH, (
                f"{member.alias}'s frame is for {common.suite}/{common.kex}, "
                f"this room is {self.suite.name}/{self.kex.name} as we joined it"
            )
        if common.nonce != member.nonce:
            return Reason.STALE_SESSION, f"from another join of {member.alias}'s than the current one"
        return None

    def our_row_problem(
        self, rows: Mapping[str, tuple[bytes, ...]], ours: bytes, what: str
    ) -> tuple[Reason, str, Checks] | None:
        """Why the signed list's row for us (``..., nonce, digest``) is not our join and payload."""
        row = rows.get(name_key(self.alias))
        if row is None:
            return Reason.NOT_FOR_US, "we are not among the signed recipients", ()
        if row[-2] != self.nonce:
            return Reason.STALE_SESSION, f"this {what} is for an earlier join of ours", ()
        if row[-1] != hashlib.sha256(ours).digest():
            return Reason.BAD_DIGEST, f"our {what} does not match the signed digest", (("digest", False),)
        return None

    def sign(self, data: bytes) -> bytes:
        """Our signature of ``data`` in the room's family."""
        return self.family.sign(self.identity, data, rng=self.rng)

    def signed_by(self, member: Member, data: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is ``member``'s signature of ``data``."""
        assert member.identity is not None
        try:
            self.family.verify(member.identity, data, signature)
        except VerificationError:
            return False
        return True

    def to_each(
        self,
        recipients: Sequence[Member],
        header: bytes,
        encrypt: Callable[[PublicIdentity, bytes], bytes],
        name: str,
        traced_as: str,
    ) -> ToEach:
        """``encrypt(identity, context)`` for each recipient's current join: payload, digest, hex."""
        to_each = ToEach({}, {}, {})
        for member in recipients:
            assert member.identity is not None
            value = encrypt(member.identity, sealed.recipient_context(header, member.alias, member.nonce))
            to_each.payloads[member.alias] = {name: strict_base64.encode(value)}
            to_each.digests[member.key] = hashlib.sha256(value).digest()
            to_each.fields[f"{traced_as}[{member.alias}]"] = value.hex()
        return to_each

    # --- their views ----------------------------------------------------------------------------

    def departures(self, witness: Member, changes: tuple[Change, ...]) -> list[Member]:
        """The members (this very join of each) that ``witness``'s signed changes show leaving."""
        gone = []
        for change in changes:
            member = self.members.get(change.alias)
            if (
                change.op == LEFT
                and member is not None
                and member is not witness
                and member.entry == change.entry
            ):
                gone.append(member)
        return gone

    def ours_for(self, sender: Member) -> View:
        """Our view of the room as ``sender``'s should be: everyone we see but it, ourselves included."""
        view = {self.entry.alias: self.entry}
        for member in self.members.values():
            entry = member.entry
            if member is not sender and entry is not None:
                view[entry.alias] = entry
        return view

    def check_view(self, sender: Member, evidence: Evidence) -> Result:
        """Rebuild ``sender``'s view from an accepted frame and report how it differs from ours."""
        if evidence.epoch < sender.view_epoch:
            return EMPTY  # a late frame: its view is older than the one we hold
        ours = self.ours_for(sender)
        if evidence.full is not None:
            view: View | None = dict(evidence.full)
        else:
            assert evidence.digest is not None
            view = rebuild(sender.view, evidence.changes, evidence.digest, ours)
        sender.view, sender.view_epoch = view, evidence.epoch
        if view is None:
            found = {Difference(sender.alias, DifferenceKind.VIEW_UNKNOWN)}
        else:
            found = compare(view, ours, self._facts(sender))
        new = found - sender.reported
        sender.reported = frozenset(found)
        sender.heard_at = self.clock
        if not new:
            return EMPTY
        ordered = tuple(sorted(new, key=lambda d: (name_key(d.member), d.kind.value)))
        return Result(events=(ViewDiffers(sender.alias, ordered),))

    def _facts(self, sender: Member) -> Facts:
        def changed_at(alias: str) -> int:
            member = self.members.get(alias)
            if member is not None:
                return member.changed_at
            return self.left[alias][1] if alias in self.left else -1

        def alias_of(alias: str) -> str:
            if alias == name_key(self.alias):
                return self.alias
            member = self.members.get(alias)
            return alias if member is None else member.alias

        return Facts(
            {alias: entry for alias, (entry, _) in self.left.items()},
            frozenset(m.key for m in self.members.values() if m.identity is None),
            lambda alias: changed_at(alias) > sender.heard_at,
            alias_of,
        )

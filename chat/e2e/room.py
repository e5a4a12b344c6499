"""One room as a client's session knows it: who we are, the room's suite and families, each member.

:class:`RoomState` is what the session (:mod:`chat.e2e.session`) and its message path
(:mod:`chat.e2e.hybrid` or :mod:`chat.e2e.direct`) share: the members with their identity, their
current session key and the counters seen from them, and the steps every path takes alike
(rejecting a frame, signing, checking a signed recipient list).
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from chat.e2e import sealed
from chat.e2e.errors import IdentityError
from chat.e2e.families import Family
from chat.e2e.identity import Fingerprint, Identity, PublicIdentity
from chat.e2e.results import EMPTY, Reason, Rejected, Result, TraceRecord
from chat.e2e.suites import Suite
from chat.protocol.names import name_key
from ciphers import strict_base64
from ciphers.blockcipher import BlockCipher
from ciphers.errors import VerificationError
from ciphers.rng import RNG

Frame = Literal["message", "key_bundle", "member"]
Checks = tuple[tuple[str, bool], ...]
HeldMessage = tuple[str, int, Mapping[str, str]]  # key id, generation, body


@dataclass(frozen=True)
class MemberInfo:
    """A member as the session knows it: identity fingerprint (None if unusable) and current key id."""

    alias: str
    identity: PublicIdentity | None
    fingerprint: Fingerprint | None
    key_id: str | None
    problem: str | None = None


@dataclass
class SessionKey:
    """A session key: cipher key, MAC key, the block cipher built on it, and a message counter."""

    key_id: str
    generation: int
    cipher_key: bytes
    mac_key: bytes
    cipher: BlockCipher
    counter: int = 0  # ours: the last counter used; theirs: the last counter accepted


@dataclass
class Member:
    """A member's state: identity (None if unusable), current key, what we accepted, held messages."""

    alias: str
    identity: PublicIdentity | None
    problem: str | None = None
    key: SessionKey | None = None
    generation: int = 0  # highest key generation accepted from this member
    direct_counter: int = 0  # highest direct-suite counter accepted
    held: deque[HeldMessage] = field(default_factory=deque)

    def info(self) -> MemberInfo:
        """What the session tells about this member."""
        identity = self.identity
        return MemberInfo(
            self.alias,
            identity,
            None if identity is None else identity.fingerprint,
            None if self.key is None else self.key.key_id,
            self.problem,
        )


@dataclass(frozen=True)
class ToEach:
    """One value encrypted to each recipient: the payloads, the signed digests, and hex for the trace."""

    payloads: dict[str, dict[str, str]]
    digests: dict[str, bytes]
    fields: dict[str, str]


@dataclass
class RoomState:
    """Our identity and alias, the room, its suite, kex and signing family, and the other members."""

    identity: Identity
    alias: str
    room: str
    suite: Suite
    kex: Family
    family: Family
    rng: RNG
    members: dict[str, Member] = field(default_factory=dict)

    def member(self, alias: str) -> Member | None:
        """The member called ``alias``, ignoring case as the protocol's names do."""
        return self.members.get(name_key(alias))

    def add(self, alias: str, wire_identity: Mapping[str, str]) -> Result:
        """Learn a member from its announced identity; an unusable identity is kept, and rejected."""
        try:
            identity: PublicIdentity | None = PublicIdentity.from_wire(wire_identity)
            problem = None
        except IdentityError as exc:
            identity, problem = None, str(exc)
        self.members[name_key(alias)] = Member(alias, identity, problem)
        if problem is None:
            return EMPTY
        return self.reject(alias, Reason.BAD_IDENTITY, problem, "member")

    def recipients(self) -> list[Member]:
        """The members we can encrypt to (their identity is usable)."""
        return [m for m in self.members.values() if m.identity is not None]

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

    # --- signatures and recipient lists ---------------------------------------------------------

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
        """``encrypt(identity, context)`` for each recipient: payload field ``name``, its digest, its hex."""
        to_each = ToEach({}, {}, {})
        for member in recipients:
            assert member.identity is not None
            value = encrypt(member.identity, sealed.recipient_context(header, member.alias))
            to_each.payloads[member.alias] = {name: strict_base64.encode(value)}
            to_each.digests[name_key(member.alias)] = hashlib.sha256(value).digest()
            to_each.fields[f"{traced_as}[{member.alias}]"] = value.hex()
        return to_each

    def our_digest_problem(
        self, digests: Mapping[str, bytes], ours: bytes, what: str
    ) -> tuple[Reason, str, Checks] | None:
        """Why our payload ``ours`` is not the one the sender signed for us, or None if it is."""
        digest = digests.get(name_key(self.alias))
        if digest is None:
            return Reason.NOT_FOR_US, "we are not among the signed recipients", ()
        if digest != hashlib.sha256(ours).digest():
            return Reason.BAD_DIGEST, f"our {what} does not match the signed digest", (("digest", False),)
        return None

"""Key bundles: handing over a chain at its current index, and checking one that arrives.

:func:`make` wraps our chain key, as it stands, to each recipient's current join and signs one
list binding each (alias, join nonce) to the digest of its payload, with our full view and the
changes since our previous message (:mod:`chat.e2e.sealed` has the bytes). :func:`read` accepts a
bundle only if it names its sender, is for the room's suite and kex, comes from the sender's
current join, carries a higher generation than the one we hold, lists our current join with the
digest of our wrapped chain key, is signed by the sender and unwraps to a 32-byte chain key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chat.e2e import bodies, sealed
from chat.e2e.chain import ReceivingChain, SendingChain
from chat.e2e.errors import FieldError
from chat.e2e.identity import PublicIdentity
from chat.e2e.results import Outgoing, Reason, Result, TraceRecord
from chat.e2e.room import Checks, Member, RoomState
from chat.e2e.sealed import CHAIN_KEY_SIZE
from chat.e2e.suites import HybridSuite
from chat.e2e.views import Evidence
from chat.protocol.names import name_key
from ciphers import strict_base64
from ciphers.errors import DecryptionError


def make(
    room: RoomState, suite: HybridSuite, chain: SendingChain, recipients: list[Member], why: str
) -> Result:
    """The bundle handing ``chain`` at its current index to ``recipients`` (``why`` it is sent)."""
    view = room.view
    header = sealed.bundle_header(
        suite.name,
        room.kex.name,
        room.room,
        room.alias,
        room.nonce,
        chain.key_id,
        chain.index,
        why,
        view.epoch,
        view.digest,
    )
    chain_key = chain.chain_key

    def wrap(identity: PublicIdentity, context: bytes) -> bytes:
        return room.kex.wrap(identity, chain_key, context, rng=room.rng)

    wrapped = room.to_each(recipients, header, wrap, "wrapped", "wrapped")
    rows = {m.key: (m.nonce, wrapped.digests[m.key]) for m in recipients}
    changes = view.changes()
    signature = room.sign(sealed.signed_manifest(header, rows, changes))
    body = {
        "suite": suite.name,
        "kex": room.kex.name,
        "nonce": strict_base64.encode(room.nonce),
        "idx": str(chain.index),
        "why": why,
        "epoch": str(view.epoch),
        "members": bodies.view_text(view.entries.values()),
        "changes": bodies.changes_text(changes),
        "to": bodies.rows_text(rows),
        "sig": strict_base64.encode(signature),
    }
    record = TraceRecord(
        "wrap",
        suite.name,
        room.alias,
        chain.key_id,
        chain.index,
        tuple(wrapped.payloads),
        {**wrapped.fields, "signature": signature.hex()},
        detail=f"{room.kex.wrapping_detail}; chain at index {chain.index}; {why}",
    )
    return Result((Outgoing("key_bundle", body, wrapped.payloads, chain.key_id),), (), (record,))


@dataclass(frozen=True)
class Opened:
    """A bundle that passed every check: the chain it hands us, its trace, what it shows of the view."""

    chain: ReceivingChain
    record: TraceRecord
    evidence: Evidence


def read(
    room: RoomState,
    suite: HybridSuite,
    member: Member,
    key_id: str,
    body: Mapping[str, str],
    payload: Mapping[str, str],
) -> Opened | Result:
    """Check a relayed bundle from ``member``: what it hands over, or the rejection."""
    sender = member.alias
    try:
        fields = bodies.parse_bundle(key_id, body, payload, room.max_members)
    except FieldError as exc:
        return room.reject(sender, Reason.MALFORMED, str(exc), "key_bundle", key_id=key_id[:64])
    generation = fields.generation
    hexes = {"wrapped": fields.wrapped.hex(), "signature": fields.signature.hex()}

    def reject(reason: Reason, detail: str, checks: Checks = ()) -> Result:
        return room.reject(
            sender,
            reason,
            detail,
            "key_bundle",
            key_id=key_id,
            counter=fields.index,
            checks=checks,
            fields=hexes,
        )

    if name_key(fields.key_owner) != member.key:
        return reject(Reason.WRONG_SENDER, f"key {key_id} is not {sender}'s")
    common = room.common_problem(member, fields.common)
    if common is not None:
        return reject(*common)
    if generation <= member.generation:
        return reject(Reason.REPLAY, f"key generation {generation} already seen (last {member.generation})")
    problem = room.our_row_problem(fields.manifest, fields.wrapped, "wrapped key")
    if problem is not None:
        return reject(*problem)
    header = sealed.bundle_header(
        suite.name,
        room.kex.name,
        room.room,
        sender,
        member.nonce,
        key_id,
        fields.index,
        fields.why,
        fields.epoch,
        sealed.view_digest(fields.members.values()),
    )
    signed = sealed.signed_manifest(header, fields.manifest, fields.changes)
    if not room.signed_by(member, signed, fields.signature):
        return reject(
            Reason.BAD_SIGNATURE,
            f"not signed by {sender}'s identity key",
            (("digest", True), ("signature", False)),
        )
    checks = (("digest", True), ("signature", True))
    context = sealed.recipient_context(header, room.alias, room.nonce)
    try:
        chain_key = room.kex.unwrap(room.identity, fields.wrapped, context)
    except DecryptionError:
        return reject(Reason.UNDECRYPTABLE, "authentic but the chain key does not unwrap", checks)
    if len(chain_key) != CHAIN_KEY_SIZE:
        return reject(Reason.UNDECRYPTABLE, f"unwrapped chain key has {len(chain_key)} bytes", checks)
    record = TraceRecord(
        "unwrap",
        suite.name,
        sender,
        key_id,
        fields.index,
        (room.alias,),
        hexes,
        checks,
        detail=f"{room.kex.wrapping_detail}; chain at index {fields.index}; {fields.why}",
    )
    chain = ReceivingChain(key_id, generation, chain_key, fields.index, fields.index)
    return Opened(chain, record, Evidence(fields.epoch, fields.changes, full=fields.members))

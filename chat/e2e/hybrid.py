"""The hybrid path of a room session: sender chains, key bundles, messages under a block cipher.

Our chain (:mod:`chat.e2e.chain`): started on ``welcome``, and again whenever a member we sent to
leaves, is seen to have left, or becomes ineligible; a newcomer (or a member who becomes eligible)
is handed the current chain at its current index, in a bundle for it alone. Each message takes the
next index; its keys come from the ratchet and are forgotten, except the cipher key of the latest
message of each chain, kept for the teaching view of its DES rounds (:meth:`HybridPath.round_trace`).

Their chains: a bundle (made and checked by :mod:`chat.e2e.bundles`) installs the sender's chain.
A message is accepted only if its key id names the sender, it is for the room's suite and kex,
from the sender's current join, under the chain we hold from it (a message under a newer chain is
*held* until its bundle comes), at an index the chain can give a key for, then the MAC, the
signature, and it decrypts. What an accepted frame shows of its sender's view goes to the session
(``observe``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from chat.e2e import bodies, bundles, sealed
from chat.e2e.chain import MAX_SKIP, NoKey, ReceivingChain, SendingChain, message_keys
from chat.e2e.errors import FieldError
from chat.e2e.results import (
    EMPTY,
    Delivered,
    Earlier,
    Held,
    KeyDrawn,
    KeyReceived,
    Outgoing,
    Reason,
    Result,
    Sent,
    TraceRecord,
)
from chat.e2e.room import Checks, HeldMessage, Member, RoomState
from chat.e2e.sealed import CHAIN_KEY_SIZE, Change
from chat.e2e.suites import HybridSuite
from chat.e2e.views import Evidence
from chat.protocol.names import name_key
from ciphers import des, strict_base64
from ciphers.envelope import Sealed, authenticate
from ciphers.errors import DecryptionError
from ciphers.jobs import Job, run

Observer = Callable[[Member, Evidence], Result]


#: Messages of a batch signed in one segment of :meth:`HybridPath.seal_many`'s job.
SIGNED_PER_SEGMENT = 16


@dataclass(frozen=True)
class _Draft:
    """What one message of a batch reserved: its index and keys, its header and the view it shows."""

    index: int
    cipher_key: bytes
    mac_key: bytes
    header: bytes
    changes: tuple[Change, ...]
    epoch: int
    digest: bytes


class HybridPath:
    """Our chain and the members' chains, for a :class:`~chat.e2e.suites.HybridSuite`."""

    def __init__(self, room: RoomState, suite: HybridSuite, observe: Observer, *, max_held: int) -> None:
        self.room = room
        self.suite = suite
        self.observe = observe
        self.max_held = max_held
        self.chain: SendingChain | None = None
        self._generation = 0
        self._rounds: dict[str, tuple[int, bytes]] = {}  # key id -> (index, cipher key) of its latest message

    @property
    def key_id(self) -> str | None:
        """Our current chain's key id (None before :meth:`started`)."""
        return None if self.chain is None else self.chain.key_id

    # --- membership -----------------------------------------------------------------------------

    def started(self) -> Result:
        """We joined: start our chain and hand it to our view."""
        return self._new_chain("start")

    def handed(self, member: Member, why: str) -> Result:
        """Hand ``member`` (a newcomer, or one now eligible) our chain at its current index."""
        if self.chain is None or member.identity is None:
            return EMPTY
        return self._bundle([member], why)

    def rekeyed(self, why: str) -> Result:
        """Someone who held our chain left or lost it: start a new chain for our view."""
        return EMPTY if self.chain is None else self._new_chain(why)

    def forgotten(self, member: Member) -> None:
        """``member`` is gone, with its chain."""
        if member.chain is not None:
            self._rounds.pop(member.chain.key_id, None)

    # --- our chain ------------------------------------------------------------------------------

    def _new_chain(self, why: str) -> Result:
        room = self.room
        if self.chain is not None:
            self._rounds.pop(self.chain.key_id, None)
        self._generation += 1
        key_id = sealed.make_key_id(room.alias, self._generation)
        self.chain = SendingChain(key_id, self._generation, room.rng.bytes(CHAIN_KEY_SIZE))
        recipients = room.recipients()
        result = Result(events=(KeyDrawn(key_id, why, tuple(m.alias for m in recipients)),))
        if recipients:
            result += self._bundle(recipients, why)
        return result

    def _bundle(self, recipients: list[Member], why: str) -> Result:
        assert self.chain is not None
        return bundles.make(self.room, self.suite, self.chain, recipients, why)

    # --- messages -------------------------------------------------------------------------------

    def seal(self, data: bytes, content_type: str) -> Result:
        """Seal ``data`` under the next key of our chain for the whole room: one body, signed."""
        (result,) = run(self.seal_many([(data, content_type)]))
        return result

    def seal_many(self, items: Sequence[tuple[bytes, str]]) -> Job[list[Result]]:
        """:meth:`seal` of each (data, content type), in order, each under its own index and key:
        the same messages as sealing them one after another, but encrypted side by side (the
        suite's mode runs the independent messages together, each under its own key), as a job.

        Everything a message takes from the session is reserved now, before the job's first
        segment: chain indices and keys, headers (view epoch and digest, the view changes the first
        carries), IVs, recipients. What the session does between segments (another message sealed,
        a member arriving or leaving, a new chain) therefore changes none of these messages; a
        message sealed meanwhile takes the next index, and should be sent after them (the client's
        rule: frames go out in the order they were sealed). Signatures come after the last segment,
        a few messages a segment."""
        room, chain, view, suite = self.room, self.chain, self.room.view, self.suite
        if chain is None:
            raise RuntimeError("no chain yet: call start() first")
        drafts = []
        for _, content_type in items:
            while True:
                index, key = chain.advance()
                cipher_key, mac_key = message_keys(key, suite.name, suite.key_size)
                if not suite.key_is_weak(cipher_key):
                    break
            header = sealed.message_header(
                suite.name,
                room.kex.name,
                room.room,
                room.alias,
                room.nonce,
                chain.key_id,
                index,
                content_type,
                view.epoch,
                view.digest,
            )
            drafts.append(_Draft(index, cipher_key, mac_key, header, view.changes(), view.epoch, view.digest))
            view.sent()
            self._rounds[chain.key_id] = (index, cipher_key)
        boxes = suite.seal_many(
            [
                (suite.new_cipher(d.cipher_key), d.mac_key, d.header, data)
                for d, (data, _) in zip(drafts, items, strict=True)
            ],
            rng=room.rng,
        )
        recipients = tuple(m.alias for m in room.recipients())
        return self._signed(items, drafts, boxes, chain.key_id, recipients)

    def _signed(
        self,
        items: Sequence[tuple[bytes, str]],
        drafts: list[_Draft],
        encryption: Job[list[Sealed]],
        key_id: str,
        recipients: tuple[str, ...],
    ) -> Job[list[Result]]:
        """The encryption's segments, then each message signed and laid out (:data:`SIGNED_PER_SEGMENT`
        a segment)."""
        room, suite = self.room, self.suite
        boxes = yield from encryption
        results = []
        for n, (draft, (data, content_type), box) in enumerate(zip(drafts, items, boxes, strict=True)):
            if n and not n % SIGNED_PER_SEGMENT:
                yield
            signature = room.sign(sealed.signed_message(draft.header, box, draft.changes))
            body = {
                "suite": suite.name,
                "kex": room.kex.name,
                "nonce": strict_base64.encode(room.nonce),
                "kid": key_id,
                "idx": str(draft.index),
                "type": content_type,
                "epoch": str(draft.epoch),
                "view": strict_base64.encode(draft.digest),
                "changes": bodies.changes_text(draft.changes),
                "iv": strict_base64.encode(box.iv),
                "ct": strict_base64.encode(box.ciphertext),
                "mac": strict_base64.encode(box.tag),
                "sig": strict_base64.encode(signature),
            }
            first = suite.first_block(box.iv, data, box.ciphertext, opening=False)
            record = TraceRecord(
                "seal",
                suite.name,
                room.alias,
                key_id,
                draft.index,
                recipients,
                _hexes(box, signature),
                detail=f"{suite.label}; {room.family.signature_detail}",
                first_block=first.hex(),
            )
            sent = Sent(content_type, data, key_id, draft.index, recipients)
            results.append(Result((Outgoing("message", body),), (sent,), (record,)))
        return results

    def open(self, member: Member, body: Mapping[str, str], payload: Mapping[str, str] | None) -> Result:
        """A relayed message: Delivered, Held until its chain arrives, or Rejected."""
        room, sender = self.room, member.alias
        try:
            if payload is not None:
                raise FieldError("a message of this suite carries no per-recipient payload")
            fields = bodies.parse_hybrid_message(body, self.suite, room.max_members)
        except FieldError as exc:
            return room.reject(sender, Reason.MALFORMED, str(exc))
        key_id, generation = fields.key_id, fields.generation
        if name_key(fields.key_owner) != member.key:
            return room.reject(sender, Reason.WRONG_SENDER, f"key {key_id} is not {sender}'s", key_id=key_id)
        problem = room.common_problem(member, fields.common)
        if problem is not None:
            return room.reject(sender, *problem, key_id=key_id, counter=fields.index)
        chain = member.chain
        if chain is None or chain.key_id != key_id:
            if generation > member.generation:
                return self._hold(member, key_id, generation, body)
            current = "none" if chain is None else chain.key_id
            return room.reject(
                sender,
                Reason.UNKNOWN_KEY,
                f"key {key_id} is not {sender}'s current key ({current})",
                key_id=key_id,
            )
        return self._open_with_chain(member, chain, fields)

    def _open_with_chain(self, member: Member, chain: ReceivingChain, fields: bodies.HybridMessage) -> Result:
        room, sender, index, suite = self.room, member.alias, fields.index, self.suite
        hexes = _hexes(fields.box, fields.signature)

        def reject(reason: Reason, detail: str, checks: Checks = ()) -> Result:
            return room.reject(
                sender, reason, detail, key_id=chain.key_id, counter=index, checks=checks, fields=hexes
            )

        header = sealed.message_header(
            suite.name,
            room.kex.name,
            room.room,
            sender,
            member.nonce,
            chain.key_id,
            index,
            fields.content_type,
            fields.epoch,
            fields.view,
        )
        step = chain.step(index)
        if isinstance(step, NoKey) and step.earlier:
            # Sealed before the sender handed us the chain: not for us, if the sender did sign it.
            if not room.signed_by(
                member, sealed.signed_message(header, fields.box, fields.changes), fields.signature
            ):
                return reject(Reason.BAD_SIGNATURE, f"not signed by {sender}'s identity key")
            return Result(events=(Earlier(sender, chain.key_id, index),))
        if isinstance(step, NoKey):
            return reject(Reason.REPLAY if step.replay else Reason.UNKNOWN_KEY, step.detail)
        cipher_key, mac_key = message_keys(step.message_key, suite.name, suite.key_size)
        try:
            authenticate(mac_key, header, fields.box)
        except DecryptionError:
            return reject(Reason.BAD_MAC, "HMAC-SHA256 does not match", (("mac", False),))
        if not room.signed_by(
            member, sealed.signed_message(header, fields.box, fields.changes), fields.signature
        ):
            return reject(
                Reason.BAD_SIGNATURE,
                f"not signed by {sender}'s identity key",
                (("mac", True), ("signature", False)),
            )
        checks = (("mac", True), ("signature", True))
        try:
            data = suite.open(suite.new_cipher(cipher_key), mac_key, header, fields.box)
            if fields.content_type == sealed.TEXT:
                data.decode("utf-8")
        except (DecryptionError, UnicodeDecodeError):
            return reject(Reason.UNDECRYPTABLE, "authentic but does not decrypt", checks)
        chain.commit(step)
        self._rounds[chain.key_id] = (index, cipher_key)
        first = suite.first_block(fields.box.iv, data, fields.box.ciphertext, opening=True)
        record = TraceRecord(
            "open",
            suite.name,
            sender,
            chain.key_id,
            index,
            (room.alias,),
            hexes,
            checks,
            detail=f"{suite.label}; {room.family.signature_detail}",
            first_block=first.hex(),
        )
        delivered = Delivered(sender, fields.content_type, data, chain.key_id, index)
        result = Result((), (delivered,), (record,))
        return result + self.observe(member, Evidence(fields.epoch, fields.changes, digest=fields.view))

    def _hold(self, member: Member, key_id: str, generation: int, body: Mapping[str, str]) -> Result:
        """Keep the message until its chain comes; beyond ``max_held``, drop the oldest and count it
        (whether it was for us is known only once the bundle says where the chain starts)."""
        if len(member.held) >= self.max_held:
            old_id, old_generation, old_body = member.held.popleft()
            _, count, highest = member.dropped.get(old_id, (old_generation, 0, -1))
            member.dropped[old_id] = (old_generation, count + 1, max(highest, int(old_body["idx"])))
        member.held.append((key_id, generation, dict(body)))
        return Result(events=(Held(member.alias, key_id),))

    # --- their chains ---------------------------------------------------------------------------

    def open_bundle(
        self, member: Member, key_id: str, body: Mapping[str, str], payload: Mapping[str, str]
    ) -> Result:
        """A relayed key bundle: install the sender's chain (releasing held messages) or reject it."""
        opened = bundles.read(self.room, self.suite, member, key_id, body, payload)
        if isinstance(opened, Result):
            return opened
        replaced = None if member.chain is None else member.chain.key_id
        self.forgotten(member)
        member.chain, member.generation = opened.chain, opened.chain.generation
        result = Result((), (KeyReceived(member.alias, key_id, replaced),), (opened.record,))
        result += self.observe(member, opened.evidence)
        return result + self._release(member)

    def _release(self, member: Member) -> Result:
        """Open the held messages the new chain unlocks; reject those under older chains; keep newer
        ones. Of those dropped while waiting: under this chain and all below where it was handed to
        us, they were not for us (:class:`Earlier`); otherwise they are lost, and said so."""
        result = EMPTY
        kept: deque[HeldMessage] = deque()
        chain = member.chain
        for key_id, generation, body in member.held:
            if chain is not None and key_id == chain.key_id:
                result += self.open(member, body, None)
            elif chain is not None and generation < chain.generation:
                result += self.room.reject(
                    member.alias, Reason.UNKNOWN_KEY, f"key {key_id} never arrived", key_id=key_id
                )
            else:
                kept.append((key_id, generation, body))
        member.held = kept
        for key_id, (generation, count, highest) in list(member.dropped.items()):
            if chain is None or (key_id != chain.key_id and generation >= chain.generation):
                continue
            del member.dropped[key_id]
            if key_id == chain.key_id and highest < chain.start:
                result += Result(events=(Earlier(member.alias, key_id, highest, count),))
            else:
                result += self.room.reject(
                    member.alias,
                    Reason.UNKNOWN_KEY,
                    f"{_messages(count)} under key {key_id} dropped while waiting for it",
                    key_id=key_id,
                )
        return result

    # --- teaching -------------------------------------------------------------------------------

    def chain_key(self, key_id: str) -> tuple[bytes, int] | None:
        """(chain key, index) of our chain or a member's, where it stands now."""
        if self.chain is not None and self.chain.key_id == key_id:
            return self.chain.chain_key, self.chain.index
        for member in self.room.members.values():
            if member.chain is not None and member.chain.key_id == key_id:
                return member.chain.chain_key, member.chain.next
        return None

    def round_trace(self, record: TraceRecord) -> list[des.DESTrace] | None:
        """The rounds of ``record``'s first block, if it is the latest message of a current chain."""
        kept = self._rounds.get(record.key_id)
        if kept is None or kept[0] != record.counter or record.first_block is None:
            return None
        block = bytes.fromhex(record.first_block)
        return self.suite.round_trace(kept[1], block, opening=record.step == "open")


def _hexes(box: Sealed, signature: bytes) -> dict[str, str]:
    return {
        "iv": box.iv.hex(),
        "ciphertext": box.ciphertext.hex(),
        "mac": box.tag.hex(),
        "signature": signature.hex(),
    }


def _messages(count: int) -> str:
    return f"{count} message{'' if count == 1 else 's'}"


__all__ = ["MAX_SKIP", "HybridPath", "Observer"]

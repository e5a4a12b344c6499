"""The hybrid path of a room session: session keys, key bundles, and messages under a block cipher.

Our key: drawn on ``welcome`` (and after every leave, or every join with ``rekey_on_join``) by the
suite (:meth:`~chat.e2e.suites.HybridSuite.draw_key`), then wrapped for each member by the room's
kex in a signed key bundle. A newcomer otherwise gets our current key alone.

Their keys: a bundle is accepted only if it names its sender, carries a higher generation than the
one we hold, lists us with the digest of our wrapped key, is signed by the sender and unwraps to a
key of the suite's size. A message is accepted only if its key id names the sender, its key is
the sender's current one (a message under a newer key is *held* until its bundle comes), its
counter is new under that key, then the MAC, then the signature, then it decrypts. The suite
seals and opens (:meth:`~chat.e2e.suites.HybridSuite.seal`); this module never asks which one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from chat.e2e import sealed
from chat.e2e.errors import FieldError
from chat.e2e.identity import PublicIdentity
from chat.e2e.results import (
    EMPTY,
    Delivered,
    Held,
    KeyDrawn,
    KeyReceived,
    Outgoing,
    Reason,
    Result,
    Sent,
    TraceRecord,
)
from chat.e2e.room import Checks, HeldMessage, Member, RoomState, SessionKey
from chat.e2e.suites import HybridSuite
from chat.protocol.names import name_key
from ciphers import des, strict_base64
from ciphers.envelope import MAC_KEY_SIZE, Sealed, authenticate
from ciphers.errors import DecryptionError


class HybridPath:
    """Our session key and the members' keys, for a :class:`~chat.e2e.suites.HybridSuite`."""

    def __init__(self, room: RoomState, suite: HybridSuite, *, rekey_on_join: bool, max_held: int) -> None:
        self.room = room
        self.suite = suite
        self.rekey_on_join = rekey_on_join
        self.max_held = max_held
        self.key: SessionKey | None = None
        self._generation = 0

    # --- membership -----------------------------------------------------------------------------

    def started(self) -> Result:
        """We joined: draw our key and send it to everyone."""
        return self._rekey("start")

    def member_added(self, member: Member) -> Result:
        """Hand a newcomer our current key, or draw a new one for all with ``rekey_on_join``."""
        if self.key is None:
            return EMPTY
        if self.rekey_on_join:
            return self._rekey("join")
        if member.identity is None:
            return EMPTY
        return self._bundle(self.key, [member], "join")

    def member_removed(self) -> Result:
        """Someone left, knowing every key so far: draw a new one for those who remain."""
        return EMPTY if self.key is None else self._rekey("leave")

    # --- our session key ------------------------------------------------------------------------

    def _rekey(self, why: str) -> Result:
        self._generation += 1
        cipher_key = self.suite.draw_key(self.room.rng)
        mac_key = self.room.rng.bytes(MAC_KEY_SIZE)
        key_id = sealed.make_key_id(self.room.alias, self._generation)
        key = SessionKey(key_id, self._generation, cipher_key, mac_key, self.suite.new_cipher(cipher_key))
        self.key = key
        recipients = self.room.recipients()
        result = Result(events=(KeyDrawn(key.key_id, why, tuple(m.alias for m in recipients)),))
        if recipients:
            result += self._bundle(key, recipients, why)
        return result

    def _bundle(self, key: SessionKey, recipients: list[Member], why: str) -> Result:
        room = self.room
        header = sealed.bundle_header(
            self.suite.name, room.kex.name, room.room, room.alias, key.key_id, key.generation, why
        )
        material = key.cipher_key + key.mac_key

        def wrap(identity: PublicIdentity, context: bytes) -> bytes:
            return room.kex.wrap(identity, material, context, rng=room.rng)

        wrapped = room.to_each(recipients, header, wrap, "wrapped", "wrapped")
        signature = room.sign(sealed.signed(header, sealed.manifest_bytes(wrapped.digests)))
        body = {
            "why": why,
            "to": sealed.manifest_text(wrapped.digests),
            "sig": strict_base64.encode(signature),
        }
        record = TraceRecord(
            "wrap",
            self.suite.name,
            room.alias,
            key.key_id,
            key.generation,
            tuple(wrapped.payloads),
            {**wrapped.fields, "signature": signature.hex()},
            detail=f"{room.kex.wrapping_detail}; {why}",
        )
        return Result((Outgoing("key_bundle", body, wrapped.payloads, key.key_id),), (), (record,))

    # --- messages -------------------------------------------------------------------------------

    def seal(self, data: bytes, content_type: str) -> Result:
        """Seal ``data`` under our current key for the whole room: one body, signed."""
        room, key = self.room, self.key
        if key is None:
            raise RuntimeError("no session key yet: call start() first")
        key.counter += 1
        header = sealed.message_header(
            self.suite.name, room.room, room.alias, key.key_id, key.counter, content_type
        )
        box = self.suite.seal(key.cipher, key.mac_key, header, data, rng=room.rng)
        signature = room.sign(sealed.signed_message(header, box))
        body = {
            "kid": key.key_id,
            "ctr": str(key.counter),
            "type": content_type,
            "iv": strict_base64.encode(box.iv),
            "ct": strict_base64.encode(box.ciphertext),
            "mac": strict_base64.encode(box.tag),
            "sig": strict_base64.encode(signature),
        }
        first = self.suite.first_block(box.iv, data, box.ciphertext, opening=False)
        recipients = tuple(m.alias for m in room.members.values())
        record = TraceRecord(
            "seal",
            self.suite.name,
            room.alias,
            key.key_id,
            key.counter,
            recipients,
            _hexes(box, signature),
            detail=f"{self.suite.label}; {room.family.signature_detail}",
            first_block=first.hex(),
        )
        sent = Sent(content_type, data, key.key_id, key.counter, recipients)
        return Result((Outgoing("message", body),), (sent,), (record,))

    def open(self, member: Member, body: Mapping[str, str], payload: Mapping[str, str] | None) -> Result:
        """A relayed message: Delivered, Held until its key arrives, or Rejected."""
        sender = member.alias
        try:
            if payload is not None:
                raise FieldError("a message of this suite carries no per-recipient payload")
            fields = sealed.parse_hybrid_message(body, self.suite)
        except FieldError as exc:
            return self.room.reject(sender, Reason.MALFORMED, str(exc))
        key_id, generation = fields.key_id, fields.generation
        if name_key(fields.key_owner) != name_key(sender):
            return self.room.reject(
                sender, Reason.WRONG_SENDER, f"key {key_id} is not {sender}'s", key_id=key_id
            )
        key = member.key
        if key is None or key.key_id != key_id:
            if generation > member.generation:
                return self._hold(member, key_id, generation, body)
            current = "none" if key is None else key.key_id
            return self.room.reject(
                sender,
                Reason.UNKNOWN_KEY,
                f"key {key_id} is not {sender}'s current key ({current})",
                key_id=key_id,
            )
        return self._open_with_key(member, key, fields)

    def _open_with_key(self, member: Member, key: SessionKey, fields: sealed.HybridMessage) -> Result:
        room, sender, counter = self.room, member.alias, fields.counter
        hexes = _hexes(fields.box, fields.signature)

        def reject(reason: Reason, detail: str, checks: Checks = ()) -> Result:
            return room.reject(
                sender, reason, detail, key_id=key.key_id, counter=counter, checks=checks, fields=hexes
            )

        if counter <= key.counter:
            return reject(
                Reason.REPLAY, f"counter {counter} under {key.key_id} already seen (last {key.counter})"
            )
        header = sealed.message_header(
            self.suite.name, room.room, sender, key.key_id, counter, fields.content_type
        )
        try:
            authenticate(key.mac_key, header, fields.box)
        except DecryptionError:
            return reject(Reason.BAD_MAC, "HMAC-SHA256 does not match", (("mac", False),))
        if not room.signed_by(member, sealed.signed_message(header, fields.box), fields.signature):
            return reject(
                Reason.BAD_SIGNATURE,
                f"not signed by {sender}'s identity key",
                (("mac", True), ("signature", False)),
            )
        checks = (("mac", True), ("signature", True))
        try:
            data = self.suite.open(key.cipher, key.mac_key, header, fields.box)
            if fields.content_type == sealed.TEXT:
                data.decode("utf-8")
        except (DecryptionError, UnicodeDecodeError):
            return reject(Reason.UNDECRYPTABLE, "authentic but does not decrypt", checks)
        key.counter = counter
        first = self.suite.first_block(fields.box.iv, data, fields.box.ciphertext, opening=True)
        record = TraceRecord(
            "open",
            self.suite.name,
            sender,
            key.key_id,
            counter,
            (room.alias,),
            hexes,
            checks,
            detail=f"{self.suite.label}; {room.family.signature_detail}",
            first_block=first.hex(),
        )
        delivered = Delivered(sender, fields.content_type, data, key.key_id, counter)
        return Result((), (delivered,), (record,))

    def _hold(self, member: Member, key_id: str, generation: int, body: Mapping[str, str]) -> Result:
        result = EMPTY
        if len(member.held) >= self.max_held:
            old_id, _, _ = member.held.popleft()
            result += self.room.reject(
                member.alias, Reason.UNKNOWN_KEY, f"too many messages waiting for key {old_id}"
            )
        member.held.append((key_id, generation, dict(body)))
        return result + Result(events=(Held(member.alias, key_id),))

    # --- their keys -----------------------------------------------------------------------------

    def open_bundle(
        self, member: Member, key_id: str, body: Mapping[str, str], payload: Mapping[str, str]
    ) -> Result:
        """A relayed key bundle: install the sender's key (releasing held messages) or reject it."""
        room, sender = self.room, member.alias
        try:
            fields = sealed.parse_bundle(key_id, body, payload)
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
                counter=generation,
                checks=checks,
                fields=hexes,
            )

        if name_key(fields.key_owner) != name_key(sender):
            return reject(Reason.WRONG_SENDER, f"key {key_id} is not {sender}'s")
        if generation <= member.generation:
            return reject(
                Reason.REPLAY, f"key generation {generation} already seen (last {member.generation})"
            )
        problem = room.our_digest_problem(fields.digests, fields.wrapped, "wrapped key")
        if problem is not None:
            return reject(*problem)
        header = sealed.bundle_header(
            self.suite.name, room.kex.name, room.room, sender, key_id, generation, fields.why
        )
        if not room.signed_by(
            member, sealed.signed(header, sealed.manifest_bytes(fields.digests)), fields.signature
        ):
            return reject(
                Reason.BAD_SIGNATURE,
                f"not signed by {sender}'s identity key",
                (("digest", True), ("signature", False)),
            )
        checks = (("digest", True), ("signature", True))
        try:
            material = room.kex.unwrap(
                room.identity, fields.wrapped, sealed.recipient_context(header, room.alias)
            )
        except DecryptionError:
            return reject(Reason.UNDECRYPTABLE, "authentic but the key does not unwrap", checks)
        size = self.suite.key_size
        if len(material) != size + MAC_KEY_SIZE:
            return reject(Reason.UNDECRYPTABLE, f"unwrapped key has {len(material)} bytes", checks)
        cipher_key, mac_key = material[:size], material[size:]
        replaced = None if member.key is None else member.key.key_id
        member.key = SessionKey(key_id, generation, cipher_key, mac_key, self.suite.new_cipher(cipher_key))
        member.generation = generation
        record = TraceRecord(
            "unwrap",
            self.suite.name,
            sender,
            key_id,
            generation,
            (room.alias,),
            hexes,
            checks,
            detail=f"{room.kex.wrapping_detail}; {fields.why}",
        )
        result = Result((), (KeyReceived(sender, key_id, replaced),), (record,))
        return result + self._release(member)

    def _release(self, member: Member) -> Result:
        """Open the held messages the new key unlocks; reject those under older keys; keep newer ones."""
        result = EMPTY
        kept: deque[HeldMessage] = deque()
        key = member.key
        assert key is not None
        for key_id, generation, body in member.held:
            if key_id == key.key_id:
                try:
                    fields = sealed.parse_hybrid_message(body, self.suite)
                except FieldError as exc:  # pragma: no cover - parsed once already
                    result += self.room.reject(member.alias, Reason.MALFORMED, str(exc))
                    continue
                result += self._open_with_key(member, key, fields)
            elif generation < key.generation:
                result += self.room.reject(
                    member.alias, Reason.UNKNOWN_KEY, f"key {key_id} never arrived", key_id=key_id
                )
            else:
                kept.append((key_id, generation, body))
        member.held = kept
        return result

    # --- teaching -------------------------------------------------------------------------------

    def find_key(self, key_id: str) -> SessionKey | None:
        """Our key or a member's, while it is current."""
        if self.key is not None and self.key.key_id == key_id:
            return self.key
        for member in self.room.members.values():
            if member.key is not None and member.key.key_id == key_id:
                return member.key
        return None

    def round_trace(self, record: TraceRecord) -> list[des.DESTrace] | None:
        """The rounds of ``record``'s first block under its key, while the key is current."""
        key = None if record.first_block is None else self.find_key(record.key_id)
        if key is None or record.first_block is None:
            return None
        block = bytes.fromhex(record.first_block)
        return self.suite.round_trace(key.cipher_key, block, opening=record.step == "open")


def _hexes(box: Sealed, signature: bytes) -> dict[str, str]:
    return {
        "iv": box.iv.hex(),
        "ciphertext": box.ciphertext.hex(),
        "mac": box.tag.hex(),
        "signature": signature.hex(),
    }

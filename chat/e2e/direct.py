"""The direct path of a room session: each message encrypted to each recipient's identity key.

No session keys: the suite's family (:attr:`~chat.e2e.suites.DirectSuite.public_key`) encrypts the
message to each recipient in chunks, one payload each, and signs one recipient list binding every
alias to the digest of its payload. Key id ``alias/0`` names the sender; counters are per sender.
A message is accepted only if its key id names the sender, its counter is new, we are on the
signed list with the digest of our payload, the sender signed that list, and it decrypts.
"""

from __future__ import annotations

from collections.abc import Mapping

from chat.e2e import sealed
from chat.e2e.errors import FieldError
from chat.e2e.identity import PublicIdentity
from chat.e2e.results import EMPTY, Delivered, Outgoing, Reason, Result, Sent, TraceRecord
from chat.e2e.room import Checks, Member, RoomState
from chat.e2e.suites import DirectSuite
from chat.protocol.names import name_key
from ciphers import des, strict_base64
from ciphers.errors import DecryptionError


class DirectPath:
    """Messages for a :class:`~chat.e2e.suites.DirectSuite`: nothing to do on joins and leaves."""

    key = None  # no session key

    def __init__(self, room: RoomState, suite: DirectSuite) -> None:
        self.room = room
        self.suite = suite
        self._counter = 0

    def started(self) -> Result:
        """We joined: no key to draw."""
        return EMPTY

    def member_added(self, member: Member) -> Result:
        """A newcomer: no key to hand over."""
        return EMPTY

    def member_removed(self) -> Result:
        """Someone left: the next messages are simply not encrypted to them."""
        return EMPTY

    def seal(self, data: bytes, content_type: str) -> Result:
        """Encrypt ``data`` to each member with a usable identity, and sign the list of digests."""
        room, family = self.room, self.suite.public_key
        self._counter += 1
        counter = self._counter
        key_id = sealed.make_key_id(room.alias, 0)
        recipients = room.recipients()
        header = sealed.message_header(
            self.suite.name, room.room, room.alias, key_id, counter, content_type, direct=True
        )

        def encrypt(identity: PublicIdentity, context: bytes) -> bytes:
            return family.encrypt_direct(identity, data, context, rng=room.rng)

        ciphertexts = room.to_each(recipients, header, encrypt, "ct", "ciphertext")
        names = tuple(ciphertexts.payloads)
        sent = Sent(content_type, data, key_id, counter, names)
        if not recipients:
            return Result(events=(sent,))
        signature = room.sign(sealed.signed(header, sealed.manifest_bytes(ciphertexts.digests)))
        body = {
            "kid": key_id,
            "ctr": str(counter),
            "type": content_type,
            "to": sealed.manifest_text(ciphertexts.digests),
            "sig": strict_base64.encode(signature),
        }
        record = TraceRecord(
            "seal",
            self.suite.name,
            room.alias,
            key_id,
            counter,
            names,
            {**ciphertexts.fields, "signature": signature.hex()},
            detail=f"{self.suite.label}; {room.family.signature_detail}",
        )
        return Result((Outgoing("message", body, ciphertexts.payloads),), (sent,), (record,))

    def open(self, member: Member, body: Mapping[str, str], payload: Mapping[str, str] | None) -> Result:
        """A relayed message with our payload: Delivered or Rejected."""
        room, sender = self.room, member.alias
        try:
            fields = sealed.parse_direct_message(body, payload)
        except FieldError as exc:
            return room.reject(sender, Reason.MALFORMED, str(exc))
        key_id, counter = fields.key_id, fields.counter
        if name_key(fields.key_owner) != name_key(sender):
            return room.reject(sender, Reason.WRONG_SENDER, f"key {key_id} is not {sender}'s", key_id=key_id)
        hexes = {"ciphertext": fields.ciphertext.hex(), "signature": fields.signature.hex()}

        def reject(reason: Reason, detail: str, checks: Checks = ()) -> Result:
            return room.reject(
                sender, reason, detail, key_id=key_id, counter=counter, checks=checks, fields=hexes
            )

        if counter <= member.direct_counter:
            return reject(Reason.REPLAY, f"counter {counter} already seen (last {member.direct_counter})")
        problem = room.our_digest_problem(fields.digests, fields.ciphertext, "ciphertext")
        if problem is not None:
            return reject(*problem)
        header = sealed.message_header(
            self.suite.name, room.room, sender, key_id, counter, fields.content_type, direct=True
        )
        manifest = sealed.signed(header, sealed.manifest_bytes(fields.digests))
        if not room.signed_by(member, manifest, fields.signature):
            return reject(
                Reason.BAD_SIGNATURE,
                f"not signed by {sender}'s identity key",
                (("digest", True), ("signature", False)),
            )
        checks = (("digest", True), ("signature", True))
        context = sealed.recipient_context(header, room.alias)
        try:
            data = self.suite.public_key.decrypt_direct(room.identity, fields.ciphertext, context)
            if fields.content_type == sealed.TEXT:
                data.decode("utf-8")
        except (DecryptionError, UnicodeDecodeError):
            return reject(Reason.UNDECRYPTABLE, "authentic but does not decrypt", checks)
        member.direct_counter = counter
        record = TraceRecord(
            "open",
            self.suite.name,
            sender,
            key_id,
            counter,
            (room.alias,),
            hexes,
            checks,
            detail=f"{self.suite.label}; {room.family.signature_detail}",
        )
        return Result((), (Delivered(sender, fields.content_type, data, key_id, counter),), (record,))

    def open_bundle(
        self, member: Member, key_id: str, body: Mapping[str, str], payload: Mapping[str, str]
    ) -> Result:
        """A key bundle in a room without session keys: malformed."""
        return self.room.reject(
            member.alias, Reason.MALFORMED, "this suite has no session keys", "key_bundle"
        )

    def round_trace(self, record: TraceRecord) -> list[des.DESTrace] | None:
        """No block cipher, no rounds."""
        return None

    def find_key(self, key_id: str) -> None:
        """No session keys."""
        return None

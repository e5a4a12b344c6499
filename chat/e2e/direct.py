"""The direct path of a room session: each message encrypted to each recipient's identity key.

No chains: the suite's family (:attr:`~chat.e2e.suites.DirectSuite.public_key`) encrypts the
message to each member of our view in chunks, one payload each, under a label naming that
member's current join, and signs one recipient list binding each recipient (alias, fingerprint,
join nonce) to the digest of its payload: the list is the sender's whole view. Key id ``alias/0``
names the sender; counters are per join of the sender. A message is accepted only if it is for the
room's suite and kex, from the sender's current join, its key id names the sender, its counter is
new, our current join is on the signed list with the digest of our payload, the sender signed the
list, and it decrypts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chat.e2e import bodies, sealed
from chat.e2e.errors import FieldError
from chat.e2e.identity import PublicIdentity
from chat.e2e.results import EMPTY, Delivered, Outgoing, Reason, Result, Sent, TraceRecord
from chat.e2e.room import Checks, Member, RoomState
from chat.e2e.sealed import Entry
from chat.e2e.suites import DirectSuite
from chat.e2e.views import Evidence
from chat.protocol.names import name_key
from ciphers import des, strict_base64
from ciphers.errors import DecryptionError

Observer = Callable[[Member, Evidence], Result]


class DirectPath:
    """Messages for a :class:`~chat.e2e.suites.DirectSuite`: nothing to hand over on joins and leaves."""

    key_id = None  # no chain

    def __init__(self, room: RoomState, suite: DirectSuite, observe: Observer) -> None:
        self.room = room
        self.suite = suite
        self.observe = observe
        self._counter = 0

    def started(self) -> Result:
        """We joined: no chain to start."""
        return EMPTY

    def handed(self, member: Member, why: str) -> Result:
        """A newcomer: the next messages are encrypted to it too."""
        return EMPTY

    def rekeyed(self, why: str) -> Result:
        """Someone left our view: the next messages are simply not encrypted to it."""
        return EMPTY

    def forgotten(self, member: Member) -> None:
        """Nothing of a member's to forget."""

    def seal(self, data: bytes, content_type: str) -> Result:
        """Encrypt ``data`` to each member of our view, and sign the list of them with their digests."""
        room, family, view = self.room, self.suite.public_key, self.room.view
        self._counter += 1
        counter = self._counter
        key_id = sealed.make_key_id(room.alias, 0)
        recipients = room.recipients()
        header = sealed.direct_header(
            self.suite.name,
            room.kex.name,
            room.room,
            room.alias,
            room.nonce,
            key_id,
            counter,
            content_type,
            view.epoch,
        )

        def encrypt(identity: PublicIdentity, context: bytes) -> bytes:
            return family.encrypt_direct(identity, data, context, rng=room.rng)

        ciphertexts = room.to_each(recipients, header, encrypt, "ct", "ciphertext")
        names = tuple(ciphertexts.payloads)
        sent = Sent(content_type, data, key_id, counter, names)
        if not recipients:
            return Result(events=(sent,))
        rows = {
            e.alias: (e.fingerprint, e.nonce, ciphertexts.digests[e.alias])
            for e in (view.entries[m.key] for m in recipients)
        }
        changes = view.changes()
        signature = room.sign(sealed.signed_manifest(header, rows, changes))
        body = {
            "suite": self.suite.name,
            "kex": room.kex.name,
            "nonce": strict_base64.encode(room.nonce),
            "kid": key_id,
            "ctr": str(counter),
            "type": content_type,
            "epoch": str(view.epoch),
            "changes": bodies.changes_text(changes),
            "to": bodies.rows_text(rows),
            "sig": strict_base64.encode(signature),
        }
        view.sent()
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
            fields = bodies.parse_direct_message(body, payload, room.max_members)
        except FieldError as exc:
            return room.reject(sender, Reason.MALFORMED, str(exc))
        key_id, counter = fields.key_id, fields.counter
        hexes = {"ciphertext": fields.ciphertext.hex(), "signature": fields.signature.hex()}

        def reject(reason: Reason, detail: str, checks: Checks = ()) -> Result:
            return room.reject(
                sender, reason, detail, key_id=key_id, counter=counter, checks=checks, fields=hexes
            )

        if name_key(fields.key_owner) != member.key:
            return reject(Reason.WRONG_SENDER, f"key {key_id} is not {sender}'s")
        common = room.common_problem(member, fields.common)
        if common is not None:
            return reject(*common)
        if counter <= member.direct_counter:
            return reject(Reason.REPLAY, f"counter {counter} already seen (last {member.direct_counter})")
        problem = room.our_row_problem(fields.manifest, fields.ciphertext, "ciphertext")
        if problem is not None:
            return reject(*problem)
        header = sealed.direct_header(
            self.suite.name,
            room.kex.name,
            room.room,
            sender,
            member.nonce,
            key_id,
            counter,
            fields.content_type,
            fields.epoch,
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
        result = Result((), (Delivered(sender, fields.content_type, data, key_id, counter),), (record,))
        view = {alias: Entry(alias, fp, nonce) for alias, (fp, nonce, _) in fields.manifest.items()}
        return result + self.observe(member, Evidence(fields.epoch, fields.changes, full=view))

    def open_bundle(
        self, member: Member, key_id: str, body: Mapping[str, str], payload: Mapping[str, str]
    ) -> Result:
        """A key bundle in a room without chains: malformed."""
        return self.room.reject(
            member.alias, Reason.MALFORMED, "this suite has no session keys", "key_bundle"
        )

    def round_trace(self, record: TraceRecord) -> list[des.DESTrace] | None:
        """No block cipher, no rounds."""
        return None

    def chain_key(self, key_id: str) -> None:
        """No chains."""
        return None

"""One room's end-to-end state, pure: session keys per sender, key bundles, sealing and opening, replay.

No I/O and no clock: each method takes what arrived and returns a :class:`Result` holding the
frames to send (:class:`Outgoing`), what happened (:data:`SessionEvent`) and the steps as data
(:class:`TraceRecord`) for the trace view. The asyncio client (:mod:`chat.client.chat_client`) is a thin loop
around it; tests drive it directly.

Key ids name (sender, generation): ``alice/3``. The hybrid suites give each sender a session key
(cipher key + MAC key, from :mod:`ciphers.rng`); generation 0, ``alice/0``, means the direct
suites, where no session key exists. Membership:

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

import hashlib
import re
import warnings
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from chat.e2e import publickey, sealed
from chat.e2e.identity import Fingerprint, Identity, IdentityError, PublicIdentity
from chat.e2e.suites import Family, KexName, check_kex, suite
from ciphers import des
from ciphers.blockcipher import BlockCipher
from ciphers.des_fast import FastDES
from ciphers.envelope import MAC_KEY_SIZE, authenticate, unseal
from ciphers.envelope import seal as envelope_seal
from ciphers.errors import DecryptionError, InsecureWarning, VerificationError
from ciphers.padding import pkcs7_pad
from ciphers.rng import RNG, SYSTEM
from ciphers.tdes import TripleDES, split_key, tdes_key_warnings

MAX_TEXT = 4096
MAX_DATA = 256 * 1024
MAX_HELD = 32
CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9._/-]{0,31}")
TEXT = "text"


class Reason(StrEnum):
    """Why a frame was rejected: the ``code`` of the warning the user sees."""

    UNKNOWN_SENDER = "unknown_sender"  # not a member we know, or its identity was unusable
    MALFORMED = "malformed"  # a field missing, mis-encoded or of the wrong size
    WRONG_SENDER = "wrong_sender"  # the key id names another member than the relay says sent it
    UNKNOWN_KEY = "unknown_key"  # no such key: never received (bundle dropped), or replaced
    REPLAY = "replay"  # a counter or key generation already seen
    BAD_MAC = "bad_mac"  # HMAC-SHA256 over header, IV and ciphertext did not verify
    BAD_DIGEST = "bad_digest"  # our payload does not match the digest the sender signed
    NOT_FOR_US = "not_for_us"  # we are not among the recipients the sender signed
    BAD_SIGNATURE = "bad_signature"  # the sender's identity key did not sign this
    UNDECRYPTABLE = "undecryptable"  # authentic, yet it does not decrypt (a misbehaving member)
    BAD_IDENTITY = "bad_identity"  # a member's announced identity keys are not usable


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A frame for the relay: a ``message`` (to all, or a payload per recipient) or a ``key_bundle``."""

    kind: Literal["message", "key_bundle"]
    body: dict[str, str]
    payloads: dict[str, dict[str, str]] | None = None
    key_id: str | None = None  # key bundles only


@dataclass(frozen=True)
class Delivered:
    """A message that passed every check, from ``sender``."""

    sender: str
    content_type: str
    data: bytes
    key_id: str
    counter: int

    @property
    def text(self) -> str:
        """The message text (content type ``text``: UTF-8, checked on opening)."""
        return self.data.decode("utf-8")


@dataclass(frozen=True)
class Sent:
    """Our message, sealed and ready to go to ``recipients`` (empty when the room has nobody else)."""

    content_type: str
    data: bytes
    key_id: str
    counter: int
    recipients: tuple[str, ...]

    @property
    def text(self) -> str:
        """The message text (content type ``text``)."""
        return self.data.decode("utf-8")


@dataclass(frozen=True)
class Rejected:
    """A frame from ``sender`` that failed a check: its text, if any, is not shown."""

    sender: str
    reason: Reason
    detail: str
    frame: Literal["message", "key_bundle", "member"] = "message"


@dataclass(frozen=True)
class KeyReceived:
    """``sender``'s session key ``key_id`` arrived and verified; ``replaced`` is the key it retires."""

    sender: str
    key_id: str
    replaced: str | None


@dataclass(frozen=True)
class KeyDrawn:
    """We drew session key ``key_id`` (``why``: start, join or leave) and sent it to ``recipients``."""

    key_id: str
    why: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Held:
    """A message from ``sender`` under ``key_id``, whose bundle has not arrived yet, is waiting for it."""

    sender: str
    key_id: str


SessionEvent = Delivered | Sent | Rejected | KeyReceived | KeyDrawn | Held


@dataclass(frozen=True)
class TraceRecord:
    """One step as it happened, for the trace view: every binary value in hex.

    ``step`` is ``seal``/``open`` (messages), ``wrap``/``unwrap`` (key bundles) or ``reject``.
    ``checks`` lists each verification made and its outcome, in order. ``first_block`` is the first
    block the block cipher saw (P1 xor IV when sealing, C1 when opening), for
    :meth:`RoomSession.round_trace`. ``time`` is stamped by the client.
    """

    step: str
    suite: str
    sender: str
    key_id: str
    counter: int
    recipients: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)
    checks: tuple[tuple[str, bool], ...] = ()
    detail: str = ""
    first_block: str | None = None
    time: float | None = None

    @property
    def verified(self) -> bool | None:
        """True if every check passed, False if one failed, None when nothing was checked (our own)."""
        if not self.checks:
            return None
        return all(ok for _, ok in self.checks)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "step": self.step,
            "suite": self.suite,
            "sender": self.sender,
            "key_id": self.key_id,
            "counter": self.counter,
            "recipients": list(self.recipients),
            "fields": dict(self.fields),
            "checks": [{"check": name, "ok": ok} for name, ok in self.checks],
            "verified": self.verified,
            "detail": self.detail,
            "first_block": self.first_block,
            "time": self.time,
        }


@dataclass(frozen=True)
class Result:
    """What one call produced: frames to send, events, trace records."""

    outgoing: tuple[Outgoing, ...] = ()
    events: tuple[SessionEvent, ...] = ()
    trace: tuple[TraceRecord, ...] = ()

    def __add__(self, other: Result) -> Result:
        return Result(self.outgoing + other.outgoing, self.events + other.events, self.trace + other.trace)


EMPTY = Result()


@dataclass(frozen=True)
class MemberInfo:
    """A member as the session knows it: identity fingerprint (None if unusable) and current key id."""

    alias: str
    identity: PublicIdentity | None
    fingerprint: Fingerprint | None
    key_id: str | None
    problem: str | None = None


# --- keys ---------------------------------------------------------------------------------------


@dataclass
class _Key:
    """A session key: cipher key, MAC key, the block cipher built on it, and a message counter."""

    key_id: str
    generation: int
    cipher_key: bytes
    mac_key: bytes
    cipher: BlockCipher
    counter: int = 0  # ours: the last counter used; theirs: the last counter accepted


@dataclass
class _Member:
    alias: str
    identity: PublicIdentity | None
    problem: str | None = None
    key: _Key | None = None
    generation: int = 0  # highest key generation accepted from this member
    direct_counter: int = 0  # highest direct-suite counter accepted
    held: deque[tuple[str, int, Mapping[str, str]]] = field(default_factory=deque)


def _fold(name: str) -> str:
    """Names compare ignoring case, as the protocol's name rules say."""
    return name.casefold()


def _make_cipher(suite_name: str, key: bytes) -> BlockCipher:
    with warnings.catch_warnings():
        # A member may send a weak key for its own messages; that is its loss, not an error here.
        warnings.simplefilter("ignore", InsecureWarning)
        return TripleDES(key) if suite_name == "3des" else FastDES(key)


def _key_is_weak(suite_name: str, key: bytes) -> bool:
    return bool(tdes_key_warnings(key) if suite_name == "3des" else des.key_warnings(key))


class RoomSession:
    """The end-to-end state of one client in one room (see the module notes)."""

    def __init__(
        self,
        identity: Identity,
        alias: str,
        room: str,
        suite_name: str,
        kex: str,
        *,
        rng: RNG = SYSTEM,
        rekey_on_join: bool = False,
        max_held: int = MAX_HELD,
        max_text: int = MAX_TEXT,
        max_data: int = MAX_DATA,
    ) -> None:
        self.identity = identity
        self.alias = alias
        self.room = room
        self.suite = suite(suite_name)
        self.kex: KexName = check_kex(kex)
        self.family: Family = self.suite.family(self.kex)
        self.rng = rng
        self.rekey_on_join = rekey_on_join
        self.max_held = max_held
        self.max_text = max_text
        self.max_data = max_data
        self._members: dict[str, _Member] = {}
        self._key: _Key | None = None
        self._generation = 0
        self._direct_counter = 0

    # --- what the session knows -----------------------------------------------------------------

    @property
    def key_id(self) -> str | None:
        """Our current session key id (None for the direct suites, or before :meth:`start`)."""
        return None if self._key is None else self._key.key_id

    @property
    def members(self) -> tuple[MemberInfo, ...]:
        """The other members, in the order they were added."""
        return tuple(self._info(m) for m in self._members.values())

    def member(self, alias: str) -> MemberInfo | None:
        """The member called ``alias`` (ignoring case), if any."""
        found = self._members.get(_fold(alias))
        return None if found is None else self._info(found)

    @staticmethod
    def _info(member: _Member) -> MemberInfo:
        identity = member.identity
        return MemberInfo(
            member.alias,
            identity,
            None if identity is None else identity.fingerprint,
            None if member.key is None else member.key.key_id,
            member.problem,
        )

    # --- membership -----------------------------------------------------------------------------

    def start(self, members: Iterable[tuple[str, Mapping[str, str]]]) -> Result:
        """We joined (``welcome``): learn the members; in a hybrid suite, draw our key and send it to all."""
        result = EMPTY
        for alias, identity in members:
            result += self._add(alias, identity)
        if self.suite.hybrid:
            result += self._rekey("start")
        return result

    def add_member(self, alias: str, identity: Mapping[str, str]) -> Result:
        """``member_joined``: hand the newcomer our current key (or rekey for all with ``rekey_on_join``)."""
        result = self._add(alias, identity)
        if not self.suite.hybrid or self._key is None:
            return result
        if self.rekey_on_join:
            return result + self._rekey("join")
        member = self._members[_fold(alias)]
        if member.identity is None:
            return result
        return result + self._bundle(self._key, [member], "join")

    def remove_member(self, alias: str) -> Result:
        """``member_left``: forget them; in a hybrid suite, draw a new key for those who remain."""
        member = self._members.pop(_fold(alias), None)
        if member is None:
            return EMPTY
        result = EMPTY
        for key_id, _, _ in member.held:
            result += self._reject(member.alias, Reason.UNKNOWN_KEY, f"left before key {key_id} arrived")
        if self.suite.hybrid and self._key is not None:
            result += self._rekey("leave")
        return result

    def _add(self, alias: str, wire_identity: Mapping[str, str]) -> Result:
        try:
            identity: PublicIdentity | None = PublicIdentity.from_wire(wire_identity)
            problem = None
        except IdentityError as exc:
            identity, problem = None, str(exc)
        self._members[_fold(alias)] = _Member(alias, identity, problem)
        if problem is None:
            return EMPTY
        return self._reject(alias, Reason.BAD_IDENTITY, problem, "member")

    def _recipients(self) -> list[_Member]:
        return [m for m in self._members.values() if m.identity is not None]

    # --- our session key ------------------------------------------------------------------------

    def _new_key(self) -> _Key:
        self._generation += 1
        size = self.suite.key_size
        while True:
            cipher_key = self.rng.bytes(size)
            if not _key_is_weak(self.suite.name, cipher_key):
                break
        mac_key = self.rng.bytes(MAC_KEY_SIZE)
        key_id = sealed.make_key_id(self.alias, self._generation)
        return _Key(key_id, self._generation, cipher_key, mac_key, _make_cipher(self.suite.name, cipher_key))

    def _rekey(self, why: str) -> Result:
        self._key = self._new_key()
        recipients = self._recipients()
        result = Result(events=(KeyDrawn(self._key.key_id, why, tuple(m.alias for m in recipients)),))
        if recipients:
            result += self._bundle(self._key, recipients, why)
        return result

    def _bundle(self, key: _Key, recipients: list[_Member], why: str) -> Result:
        header = sealed.bundle_header(
            self.suite.name, self.kex, self.room, self.alias, key.key_id, key.generation, why
        )
        material = key.cipher_key + key.mac_key
        payloads: dict[str, dict[str, str]] = {}
        digests: dict[str, bytes] = {}
        fields: dict[str, str] = {}
        for member in recipients:
            assert member.identity is not None
            context = sealed.recipient_context(header, member.alias)
            wrapped = publickey.wrap_key(self.kex, member.identity, material, context, rng=self.rng)
            payloads[member.alias] = {"wrapped": sealed.b64(wrapped)}
            digests[_fold(member.alias)] = hashlib.sha256(wrapped).digest()
            fields[f"wrapped[{member.alias}]"] = wrapped.hex()
        manifest = sealed.manifest_bytes(digests)
        signature = publickey.sign(self.identity, self.family, sealed.signed(header, manifest), rng=self.rng)
        body = {"why": why, "to": sealed.manifest_text(digests), "sig": sealed.b64(signature)}
        fields["signature"] = signature.hex()
        record = TraceRecord(
            "wrap",
            self.suite.name,
            self.alias,
            key.key_id,
            key.generation,
            tuple(payloads),
            fields,
            detail=f"{self._wrap_name()}; {why}",
        )
        return Result((Outgoing("key_bundle", body, payloads, key.key_id),), (), (record,))

    def _wrap_name(self) -> str:
        return "RSA-OAEP(SHA-256)" if self.kex == "rsa" else "ElGamal KEM + encrypt-then-MAC"

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
        if self.suite.hybrid:
            return self._seal_hybrid(data, content_type)
        return self._seal_direct(data, content_type)

    def _seal_hybrid(self, data: bytes, content_type: str) -> Result:
        key = self._key
        if key is None:
            raise RuntimeError("no session key yet: call start() first")
        key.counter += 1
        header = sealed.message_header(
            self.suite.name, self.room, self.alias, key.key_id, key.counter, content_type
        )
        box = envelope_seal(key.cipher, key.mac_key, header, data, rng=self.rng)
        signature = publickey.sign(
            self.identity, self.family, sealed.signed_message(header, box), rng=self.rng
        )
        body = {
            "kid": key.key_id,
            "ctr": str(key.counter),
            "type": content_type,
            "iv": sealed.b64(box.iv),
            "ct": sealed.b64(box.ciphertext),
            "mac": sealed.b64(box.tag),
            "sig": sealed.b64(signature),
        }
        first = int.from_bytes(pkcs7_pad(data)[:8], "big") ^ int.from_bytes(box.iv, "big")
        recipients = tuple(m.alias for m in self._members.values())
        record = TraceRecord(
            "seal",
            self.suite.name,
            self.alias,
            key.key_id,
            key.counter,
            recipients,
            {
                "iv": box.iv.hex(),
                "ciphertext": box.ciphertext.hex(),
                "mac": box.tag.hex(),
                "signature": signature.hex(),
            },
            detail=f"{self.suite.label}; {self._signature_name()}",
            first_block=f"{first:016x}",
        )
        sent = Sent(content_type, data, key.key_id, key.counter, recipients)
        return Result((Outgoing("message", body),), (sent,), (record,))

    def _seal_direct(self, data: bytes, content_type: str) -> Result:
        self._direct_counter += 1
        counter = self._direct_counter
        key_id = sealed.make_key_id(self.alias, 0)
        recipients = self._recipients()
        header = sealed.message_header(
            self.suite.name, self.room, self.alias, key_id, counter, content_type, direct=True
        )
        payloads: dict[str, dict[str, str]] = {}
        digests: dict[str, bytes] = {}
        fields: dict[str, str] = {}
        for member in recipients:
            assert member.identity is not None
            context = sealed.recipient_context(header, member.alias)
            ciphertext = publickey.encrypt_direct(self.family, member.identity, data, context, rng=self.rng)
            payloads[member.alias] = {"ct": sealed.b64(ciphertext)}
            digests[_fold(member.alias)] = hashlib.sha256(ciphertext).digest()
            fields[f"ciphertext[{member.alias}]"] = ciphertext.hex()
        names = tuple(payloads)
        sent = Sent(content_type, data, key_id, counter, names)
        if not recipients:
            return Result(events=(sent,))
        signature = publickey.sign(
            self.identity, self.family, sealed.signed(header, sealed.manifest_bytes(digests)), rng=self.rng
        )
        body = {
            "kid": key_id,
            "ctr": str(counter),
            "type": content_type,
            "to": sealed.manifest_text(digests),
            "sig": sealed.b64(signature),
        }
        fields["signature"] = signature.hex()
        record = TraceRecord(
            "seal",
            self.suite.name,
            self.alias,
            key_id,
            counter,
            names,
            fields,
            detail=f"{self.suite.label}; {self._signature_name()}",
        )
        return Result((Outgoing("message", body, payloads),), (sent,), (record,))

    def _signature_name(self) -> str:
        return "RSA-PSS(SHA-256) signature" if self.family == "rsa" else "ElGamal signature"

    # --- receiving ------------------------------------------------------------------------------

    def _reject(
        self,
        sender: str,
        reason: Reason,
        detail: str,
        frame: Literal["message", "key_bundle", "member"] = "message",
        *,
        key_id: str = "",
        counter: int = 0,
        checks: tuple[tuple[str, bool], ...] = (),
        fields: dict[str, str] | None = None,
    ) -> Result:
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

    def _sender(self, sender: str, frame: Literal["message", "key_bundle"]) -> _Member | Result:
        member = self._members.get(_fold(sender))
        if member is None:
            return self._reject(
                sender, Reason.UNKNOWN_SENDER, f"{sender!r} is not a member of this room", frame
            )
        if member.identity is None:
            return self._reject(sender, Reason.UNKNOWN_SENDER, f"{sender!r} has no usable identity", frame)
        return member

    def open_message(
        self, sender: str, body: Mapping[str, str], payload: Mapping[str, str] | None = None
    ) -> Result:
        """A relayed ``message`` from ``sender``: Delivered, Held or Rejected (see the module notes)."""
        member = self._sender(sender, "message")
        if isinstance(member, Result):
            return member
        if self.suite.hybrid:
            return self._open_hybrid(member, body, payload)
        return self._open_direct(member, body, payload)

    def _open_hybrid(
        self, member: _Member, body: Mapping[str, str], payload: Mapping[str, str] | None
    ) -> Result:
        sender = member.alias
        try:
            if payload is not None:
                raise sealed.FieldError("a message of this suite carries no per-recipient payload")
            fields = sealed.parse_hybrid_message(body)
        except sealed.FieldError as exc:
            return self._reject(sender, Reason.MALFORMED, str(exc))
        key_id, generation = fields.key_id, fields.generation
        if _fold(fields.key_owner) != _fold(sender):
            return self._reject(sender, Reason.WRONG_SENDER, f"key {key_id} is not {sender}'s", key_id=key_id)
        key = member.key
        if key is None or key.key_id != key_id:
            if generation > member.generation:
                return self._hold(member, key_id, generation, body)
            current = "none" if key is None else key.key_id
            return self._reject(
                sender,
                Reason.UNKNOWN_KEY,
                f"key {key_id} is not {sender}'s current key ({current})",
                key_id=key_id,
            )
        return self._open_with_key(member, key, fields)

    def _open_with_key(self, member: _Member, key: _Key, fields: sealed.HybridMessage) -> Result:
        sender, counter = member.alias, fields.counter
        hexes = {
            "iv": fields.box.iv.hex(),
            "ciphertext": fields.box.ciphertext.hex(),
            "mac": fields.box.tag.hex(),
            "signature": fields.signature.hex(),
        }

        def reject(reason: Reason, detail: str, checks: tuple[tuple[str, bool], ...] = ()) -> Result:
            return self._reject(
                sender, reason, detail, key_id=key.key_id, counter=counter, checks=checks, fields=hexes
            )

        if counter <= key.counter:
            return reject(
                Reason.REPLAY, f"counter {counter} under {key.key_id} already seen (last {key.counter})"
            )
        header = sealed.message_header(
            self.suite.name, self.room, sender, key.key_id, counter, fields.content_type
        )
        try:
            authenticate(key.mac_key, header, fields.box)
        except DecryptionError:
            return reject(Reason.BAD_MAC, "HMAC-SHA256 does not match", (("mac", False),))
        assert member.identity is not None
        try:
            publickey.verify(
                member.identity, self.family, sealed.signed_message(header, fields.box), fields.signature
            )
        except VerificationError:
            return reject(
                Reason.BAD_SIGNATURE,
                f"not signed by {sender}'s identity key",
                (("mac", True), ("signature", False)),
            )
        checks = (("mac", True), ("signature", True))
        try:
            data = unseal(key.cipher, key.mac_key, header, fields.box)
            if fields.content_type == TEXT:
                data.decode("utf-8")
        except (DecryptionError, UnicodeDecodeError):
            return reject(Reason.UNDECRYPTABLE, "authentic but does not decrypt", checks)
        key.counter = counter
        record = TraceRecord(
            "open",
            self.suite.name,
            sender,
            key.key_id,
            counter,
            (self.alias,),
            hexes,
            checks,
            detail=f"{self.suite.label}; {self._signature_name()}",
            first_block=fields.box.ciphertext[:8].hex(),
        )
        delivered = Delivered(sender, fields.content_type, data, key.key_id, counter)
        return Result((), (delivered,), (record,))

    def _hold(self, member: _Member, key_id: str, generation: int, body: Mapping[str, str]) -> Result:
        result = EMPTY
        if len(member.held) >= self.max_held:
            old_id, _, _ = member.held.popleft()
            result += self._reject(
                member.alias, Reason.UNKNOWN_KEY, f"too many messages waiting for key {old_id}"
            )
        member.held.append((key_id, generation, dict(body)))
        return result + Result(events=(Held(member.alias, key_id),))

    def expire_held(self, sender: str, key_id: str | None = None) -> Result:
        """Reject what is still held from ``sender`` (under ``key_id``, or all): its key never came."""
        member = self._members.get(_fold(sender))
        if member is None:
            return EMPTY
        result = EMPTY
        kept: deque[tuple[str, int, Mapping[str, str]]] = deque()
        for item in member.held:
            if key_id is None or item[0] == key_id:
                result += self._reject(
                    member.alias, Reason.UNKNOWN_KEY, f"key {item[0]} never arrived", key_id=item[0]
                )
            else:
                kept.append(item)
        member.held = kept
        return result

    def held_count(self, sender: str | None = None) -> int:
        """How many messages wait for a key (from ``sender``, or in all)."""
        members = self._members.values() if sender is None else [self._members.get(_fold(sender))]
        return sum(len(m.held) for m in members if m is not None)

    def _manifest_signed_by(
        self, member: _Member, header: bytes, digests: Mapping[str, bytes], signature: bytes
    ) -> bool:
        """Whether ``signature`` is ``member``'s, over ``header`` and the recipients' digests."""
        assert member.identity is not None
        try:
            publickey.verify(
                member.identity, self.family, sealed.signed(header, sealed.manifest_bytes(digests)), signature
            )
        except VerificationError:
            return False
        return True

    def _open_direct(
        self, member: _Member, body: Mapping[str, str], payload: Mapping[str, str] | None
    ) -> Result:
        sender = member.alias
        try:
            fields = sealed.parse_direct_message(body, payload)
        except sealed.FieldError as exc:
            return self._reject(sender, Reason.MALFORMED, str(exc))
        key_id, counter = fields.key_id, fields.counter
        if _fold(fields.key_owner) != _fold(sender):
            return self._reject(sender, Reason.WRONG_SENDER, f"key {key_id} is not {sender}'s", key_id=key_id)
        hexes = {"ciphertext": fields.ciphertext.hex(), "signature": fields.signature.hex()}

        def reject(reason: Reason, detail: str, checks: tuple[tuple[str, bool], ...] = ()) -> Result:
            return self._reject(
                sender, reason, detail, key_id=key_id, counter=counter, checks=checks, fields=hexes
            )

        if counter <= member.direct_counter:
            return reject(Reason.REPLAY, f"counter {counter} already seen (last {member.direct_counter})")
        ours = fields.digests.get(_fold(self.alias))
        if ours is None:
            return reject(Reason.NOT_FOR_US, "we are not among the signed recipients")
        if ours != hashlib.sha256(fields.ciphertext).digest():
            return reject(
                Reason.BAD_DIGEST, "our ciphertext does not match the signed digest", (("digest", False),)
            )
        header = sealed.message_header(
            self.suite.name, self.room, sender, key_id, counter, fields.content_type, direct=True
        )
        if not self._manifest_signed_by(member, header, fields.digests, fields.signature):
            return reject(
                Reason.BAD_SIGNATURE,
                f"not signed by {sender}'s identity key",
                (("digest", True), ("signature", False)),
            )
        checks = (("digest", True), ("signature", True))
        context = sealed.recipient_context(header, self.alias)
        try:
            data = publickey.decrypt_direct(self.family, self.identity, fields.ciphertext, context)
            if fields.content_type == TEXT:
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
            (self.alias,),
            hexes,
            checks,
            detail=f"{self.suite.label}; {self._signature_name()}",
        )
        return Result((), (Delivered(sender, fields.content_type, data, key_id, counter),), (record,))

    def open_bundle(
        self, sender: str, key_id: str, body: Mapping[str, str], payload: Mapping[str, str]
    ) -> Result:
        """A relayed ``key_bundle``: install ``sender``'s key (releasing held messages) or reject it."""
        member = self._sender(sender, "key_bundle")
        if isinstance(member, Result):
            return member
        if not self.suite.hybrid:
            return self._reject(sender, Reason.MALFORMED, "this suite has no session keys", "key_bundle")
        try:
            fields = sealed.parse_bundle(key_id, body, payload)
        except sealed.FieldError as exc:
            return self._reject(sender, Reason.MALFORMED, str(exc), "key_bundle", key_id=key_id[:64])
        generation = fields.generation
        hexes = {"wrapped": fields.wrapped.hex(), "signature": fields.signature.hex()}

        def reject(reason: Reason, detail: str, checks: tuple[tuple[str, bool], ...] = ()) -> Result:
            return self._reject(
                sender,
                reason,
                detail,
                "key_bundle",
                key_id=key_id,
                counter=generation,
                checks=checks,
                fields=hexes,
            )

        if _fold(fields.key_owner) != _fold(sender):
            return reject(Reason.WRONG_SENDER, f"key {key_id} is not {sender}'s")
        if generation <= member.generation:
            return reject(
                Reason.REPLAY, f"key generation {generation} already seen (last {member.generation})"
            )
        ours = fields.digests.get(_fold(self.alias))
        if ours is None:
            return reject(Reason.NOT_FOR_US, "we are not among the signed recipients")
        if ours != hashlib.sha256(fields.wrapped).digest():
            return reject(
                Reason.BAD_DIGEST, "our wrapped key does not match the signed digest", (("digest", False),)
            )
        header = sealed.bundle_header(
            self.suite.name, self.kex, self.room, sender, key_id, generation, fields.why
        )
        if not self._manifest_signed_by(member, header, fields.digests, fields.signature):
            return reject(
                Reason.BAD_SIGNATURE,
                f"not signed by {sender}'s identity key",
                (("digest", True), ("signature", False)),
            )
        checks = (("digest", True), ("signature", True))
        try:
            material = publickey.unwrap_key(
                self.kex, self.identity, fields.wrapped, sealed.recipient_context(header, self.alias)
            )
        except DecryptionError:
            return reject(Reason.UNDECRYPTABLE, "authentic but the key does not unwrap", checks)
        size = self.suite.key_size
        if len(material) != size + MAC_KEY_SIZE:
            return reject(Reason.UNDECRYPTABLE, f"unwrapped key has {len(material)} bytes", checks)
        cipher_key, mac_key = material[:size], material[size:]
        replaced = None if member.key is None else member.key.key_id
        member.key = _Key(key_id, generation, cipher_key, mac_key, _make_cipher(self.suite.name, cipher_key))
        member.generation = generation
        record = TraceRecord(
            "unwrap",
            self.suite.name,
            sender,
            key_id,
            generation,
            (self.alias,),
            hexes,
            checks,
            detail=f"{self._wrap_name()}; {fields.why}",
        )
        result = Result((), (KeyReceived(sender, key_id, replaced),), (record,))
        return result + self._release(member)

    def _release(self, member: _Member) -> Result:
        """Open the held messages the new key unlocks; reject those under older keys; keep newer ones."""
        result = EMPTY
        kept: deque[tuple[str, int, Mapping[str, str]]] = deque()
        key = member.key
        assert key is not None
        for key_id, generation, body in member.held:
            if key_id == key.key_id:
                try:
                    fields = sealed.parse_hybrid_message(body)
                except sealed.FieldError as exc:  # pragma: no cover - parsed once already
                    result += self._reject(member.alias, Reason.MALFORMED, str(exc))
                    continue
                result += self._open_with_key(member, key, fields)
            elif generation < key.generation:
                result += self._reject(
                    member.alias, Reason.UNKNOWN_KEY, f"key {key_id} never arrived", key_id=key_id
                )
            else:
                kept.append((key_id, generation, body))
        member.held = kept
        return result

    # --- teaching -------------------------------------------------------------------------------

    def session_key(self, key_id: str) -> tuple[bytes, bytes] | None:
        """(cipher key, MAC key) of a current key id, ours or a member's: for teaching and tests only.

        Showing it is how a notebook proves the relay never had it; never send it anywhere.
        """
        key = self._find_key(key_id)
        return None if key is None else (key.cipher_key, key.mac_key)

    def _find_key(self, key_id: str) -> _Key | None:
        if self._key is not None and self._key.key_id == key_id:
            return self._key
        for member in self._members.values():
            if member.key is not None and member.key.key_id == key_id:
                return member.key
        return None

    def round_trace(self, record: TraceRecord) -> list[des.DESTrace] | None:
        """The DES rounds of ``record``'s first block (three passes for 3DES), while its key is current.

        None for the direct suites, for records without a first block, or once the key is replaced.
        """
        if record.first_block is None or not self.suite.hybrid:
            return None
        key = self._find_key(record.key_id)
        if key is None:
            return None
        block = bytes.fromhex(record.first_block)
        decrypt = record.step == "open"
        if self.suite.name == "des":
            return [des.trace_block(key.cipher_key, block, decrypt=decrypt)]
        k1, k2, k3 = split_key(key.cipher_key)
        passes = ((k3, True), (k2, False), (k1, True)) if decrypt else ((k1, False), (k2, True), (k3, False))
        traces = []
        for part, backwards in passes:
            step = des.trace_block(part, block, decrypt=backwards)
            traces.append(step)
            block = step.output
        return traces


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

"""The frames of the protocol as frozen dataclasses, with strict conversion from and to JSON objects.

Every frame is a JSON object ``{"type": ..., "v": 2, ...}``. A frame type means one thing in one
direction: the client sends ``join``, ``prove``, ``leave``, ``message``, ``key_bundle`` and
``ping``; the server sends ``challenge``, ``welcome``, ``member_joined``, ``member_left``,
``left``, ``message``, ``key_bundle``, ``error``, ``shutdown`` and ``pong`` (its ``message`` and
``key_bundle`` carry the ``from`` it stamped). Decoding checks every field: a missing, unexpected
or mistyped field, a broken name or a field above its limit raises
:class:`~chat.protocol.errors.RemoteProtocolError` with the code the server puts in its ``error``
frame.

What the relay carries for the end-to-end layer is opaque: identities, certificates, bodies and
payloads are strings or maps of strings to strings the server never interprets beyond their size.
Binary data inside them is standard base64, read strictly (:mod:`ciphers.strict_base64`). The
protocol's own binary fields (a join nonce, a challenge, a proof) are base64 on the wire and
bytes in the frames, of the sizes :mod:`chat.protocol.limits` fixes.

The wire names of the suites and key exchanges are defined here, once (:data:`SuiteName`,
:data:`KexName`); what each one does is :mod:`chat.e2e.suites`'s registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeAlias, cast, get_args

from chat.protocol.errors import ErrorCode, RemoteProtocolError
from chat.protocol.framing import encode_json
from chat.protocol.limits import CHALLENGE_BYTES, JOIN_NONCE_BYTES, Limits
from chat.protocol.names import name_key, name_problem
from ciphers import strict_base64
from ciphers.errors import FormatError

PROTOCOL_VERSION = 2

SuiteName = Literal["3des", "des", "rsa", "elgamal"]
KexName = Literal["rsa", "elgamal"]
SUITE_NAMES: tuple[SuiteName, ...] = get_args(SuiteName)
KEX_NAMES: tuple[KexName, ...] = get_args(KexName)

StrMap: TypeAlias = Mapping[str, str]


class _Fields:
    """Reads one frame's fields, checking types and limits and that no field is left unread."""

    __slots__ = ("frame", "limits", "obj", "read")

    def __init__(self, frame: str, obj: Mapping[str, Any], limits: Limits) -> None:
        self.frame = frame
        self.obj = obj
        self.limits = limits
        self.read = {"type", "v"}

    def fail(self, message: str, code: ErrorCode = ErrorCode.BAD_FIELD) -> RemoteProtocolError:
        return RemoteProtocolError(code, f"{self.frame}: {message}")

    def get(self, key: str, optional: bool) -> Any:
        self.read.add(key)
        value = self.obj.get(key)
        if value is None and not optional:
            raise self.fail(f"field {key!r} is missing")
        return value

    def text(self, key: str, max_length: int, *, optional: bool = False, empty: bool = True) -> Any:
        value = self.get(key, optional)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(f"field {key!r} must be a string")
        if len(value) > max_length:
            raise self.fail(
                f"field {key!r} is above its limit of {max_length} characters", ErrorCode.TOO_LARGE
            )
        if not empty and not value:
            raise self.fail(f"field {key!r} must not be empty")
        _check_unicode(self, key, value)
        return value

    def name(self, key: str, code: ErrorCode, what: str) -> str:
        value = self.get(key, False)
        if not isinstance(value, str):
            raise self.fail(f"field {key!r} must be a string", code)
        problem = name_problem(value, what)
        if problem is not None:
            raise self.fail(problem, code)
        return value

    def choice(self, key: str, choices: tuple[str, ...], *, optional: bool = False) -> Any:
        value = self.get(key, optional)
        if value is None:
            return None
        if not isinstance(value, str) or value not in choices:
            raise self.fail(f"field {key!r} must be one of {', '.join(choices)}", ErrorCode.BAD_SUITE)
        return value

    def binary(self, key: str, low: int, high: int | None = None) -> bytes:
        """A base64 field, decoded strictly, holding exactly ``low`` bytes (or ``low`` to ``high``)."""
        high = low if high is None else high
        size = f"{low}" if low == high else f"{low} to {high}"
        value = self.get(key, False)
        if not isinstance(value, str) or len(value) > 4 * -(-high // 3):
            raise self.fail(f"field {key!r} must be base64 of {size} bytes")
        try:
            data = strict_base64.decode(value)
        except FormatError as exc:
            raise self.fail(f"field {key!r} is {exc}") from None
        if not low <= len(data) <= high:
            raise self.fail(f"field {key!r} must be base64 of {size} bytes, got {len(data)}")
        return data

    def flag(self, key: str) -> bool:
        value = self.get(key, True)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.fail(f"field {key!r} must be true or false")
        return value

    def str_map(self, key: str, *, optional: bool = False) -> Any:
        value = self.get(key, optional)
        if value is None:
            return None
        return _check_str_map(self, key, value)

    def payloads(self, key: str, *, optional: bool) -> Any:
        value = self.get(key, optional)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(f"field {key!r} must be an object mapping aliases to objects")
        if not value:
            raise self.fail(f"field {key!r} must name at least one recipient")
        if len(value) > self.limits.max_members:
            raise self.fail(f"field {key!r} names more than {self.limits.max_members} recipients")
        seen: set[str] = set()
        for alias, payload in value.items():
            problem = name_problem(alias, "recipient alias")
            if problem is not None:
                raise self.fail(problem, ErrorCode.BAD_ALIAS)
            folded = name_key(alias)
            if folded in seen:
                raise self.fail(f"recipient {alias!r} appears twice (names ignore case)")
            seen.add(folded)
            _check_str_map(self, f"{key}.{alias}", payload)
        return value

    def done(self) -> None:
        extra = self.obj.keys() - self.read
        if extra:
            shown = ", ".join(_shown(k) for k in sorted(extra)[:5])
            raise self.fail(f"unexpected field(s) {shown}")


def _check_unicode(fields: _Fields, key: str, value: str) -> None:
    """Refuse lone surrogates (valid JSON escapes, invalid Unicode)."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise fields.fail(f"field {key!r} holds an invalid character (lone surrogate)") from None


def _check_str_map(fields: _Fields, key: str, value: Any) -> StrMap:
    limits = fields.limits
    if not isinstance(value, dict):
        raise fields.fail(f"field {key!r} must be an object of strings")
    if len(value) > limits.max_fields:
        raise fields.fail(f"field {key!r} has more than {limits.max_fields} entries", ErrorCode.TOO_LARGE)
    if not value:
        return cast(StrMap, value)
    try:
        text = "".join(value.values())  # fails unless every value is a string
    except TypeError:
        bad = next(name for name, item in value.items() if not isinstance(item, str))
        raise fields.fail(f"field {key!r}: entry {bad[: limits.max_field_name]!r} must be a string") from None
    lengths = [len(name) for name in value]
    if min(lengths) == 0 or max(lengths) > limits.max_field_name:
        raise fields.fail(f"field {key!r}: entry names must be 1 to {limits.max_field_name} characters")
    if not (text.isascii() and "".join(value).isascii()):
        for name, item in value.items():
            _check_unicode(fields, key, name)
            _check_unicode(fields, key, item)
    return cast(StrMap, value)


def _map_size(value: StrMap) -> int:
    return sum(map(len, value)) + sum(map(len, value.values()))


def _check_body(fields: _Fields, body: StrMap, payloads: Mapping[str, StrMap] | None) -> None:
    size = _map_size(body)
    if payloads is not None:
        size += sum(len(alias) + _map_size(p) for alias, p in payloads.items())
    if size > fields.limits.max_body:
        raise fields.fail(
            f"body of {size} characters is above the limit of {fields.limits.max_body}", ErrorCode.TOO_LARGE
        )


def _key_id(fields: _Fields) -> str:
    value: str = fields.text("key_id", fields.limits.max_short, empty=False)
    if not value.isascii() or not value.isprintable():
        raise fields.fail("field 'key_id' must be printable ASCII")
    return value


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame of the protocol. ``type`` is its wire name."""

    type: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this frame, ready for :func:`~chat.protocol.framing.encode_frame`."""
        return {"type": self.type, "v": PROTOCOL_VERSION}

    @classmethod
    def from_fields(cls, fields: _Fields) -> Frame:
        """Build the event from a frame's checked fields (each subclass reads its own)."""
        return cls()


@dataclass(frozen=True, slots=True)
class Member:
    """A room member as the others see it: alias, the opaque public identity and certificate it
    joined with, and its join nonce (what binds the end-to-end layer's frames to this one join)."""

    alias: str
    identity: StrMap
    certificate: str | None = None
    nonce: bytes = field(kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"alias": self.alias, "identity": self.identity}
        if self.certificate is not None:
            out["certificate"] = self.certificate
        out["nonce"] = strict_base64.encode(self.nonce)
        return out

    @classmethod
    def from_dict(cls, frame: str, obj: Any, limits: Limits) -> Member:
        if not isinstance(obj, dict):
            raise RemoteProtocolError(ErrorCode.BAD_FIELD, f"{frame}: a member must be an object")
        fields = _Fields(frame, obj, limits)
        fields.read.clear()
        member = _read_member(fields)
        fields.done()
        return member


def _read_member(fields: _Fields) -> Member:
    """Alias, identity, certificate and join nonce, as in ``join`` and every member entry."""
    alias = fields.name("alias", ErrorCode.BAD_ALIAS, "alias")
    identity = fields.str_map("identity")
    certificate = fields.text("certificate", fields.limits.max_member, optional=True)
    nonce = fields.binary("nonce", JOIN_NONCE_BYTES)
    member = Member(alias, identity, certificate, nonce=nonce)
    size = len(encode_json(member.to_dict()))
    if size > fields.limits.max_member:
        raise fields.fail(
            f"the member entry takes {size} bytes, above the limit of {fields.limits.max_member}",
            ErrorCode.TOO_LARGE,
        )
    return member


# --- client to server ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JoinFrame(Frame):
    """Enter ``room`` as ``alias`` with a public identity (and certificate) for the other members.

    ``suite`` and ``kex`` are what the client asks for if the room is new; an existing room keeps
    its own, and ``welcome`` says which applies. ``client`` names the client software (optional).
    ``nonce`` is the join nonce: 16 random bytes the client draws for this join alone; the server
    hands it to the other members with the identity, and the proof of possession covers it.
    """

    type: ClassVar[str] = "join"
    alias: str
    room: str
    identity: StrMap = field(default_factory=dict)
    suite: SuiteName | None = None
    kex: KexName | None = None
    certificate: str | None = None
    client: str | None = None
    nonce: bytes = field(kw_only=True)

    @property
    def member(self) -> Member:
        """How the other members will see this client."""
        return Member(self.alias, self.identity, self.certificate, nonce=self.nonce)

    def to_dict(self) -> dict[str, Any]:
        out = {"type": self.type, "v": PROTOCOL_VERSION, "alias": self.alias, "room": self.room}
        out["identity"] = self.identity
        for key in ("suite", "kex", "certificate", "client"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out["nonce"] = strict_base64.encode(self.nonce)
        return out

    @classmethod
    def from_fields(cls, fields: _Fields) -> JoinFrame:
        member = _read_member(fields)
        return cls(
            alias=member.alias,
            room=fields.name("room", ErrorCode.BAD_ROOM, "room name"),
            identity=member.identity,
            suite=fields.choice("suite", SUITE_NAMES, optional=True),
            kex=fields.choice("kex", KEX_NAMES, optional=True),
            certificate=member.certificate,
            client=fields.text("client", fields.limits.max_short, optional=True),
            nonce=member.nonce,
        )


@dataclass(frozen=True, slots=True)
class ProveFrame(Frame):
    """The answer to ``challenge``: the joiner's signature proving it holds its identity's private key.

    What is signed is the end-to-end layer's to say (the protocol carries the bytes); the server's
    admission hook checks it before ``welcome``.
    """

    type: ClassVar[str] = "prove"
    signature: bytes

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "v": PROTOCOL_VERSION, "signature": strict_base64.encode(self.signature)}

    @classmethod
    def from_fields(cls, fields: _Fields) -> ProveFrame:
        return cls(fields.binary("signature", 1, fields.limits.max_signature))


@dataclass(frozen=True, slots=True)
class LeaveFrame(Frame):
    """Leave the current room (the connection stays open; the server answers ``left``)."""

    type: ClassVar[str] = "leave"


@dataclass(frozen=True, slots=True)
class PingFrame(Frame):
    """Ask for a ``pong`` carrying the same ``data``; also keeps an idle connection alive."""

    type: ClassVar[str] = "ping"
    data: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "v": PROTOCOL_VERSION, "data": self.data}

    @classmethod
    def from_fields(cls, fields: _Fields) -> PingFrame:
        return cls(fields.text("data", fields.limits.max_short, optional=True) or "")


@dataclass(frozen=True, slots=True)
class MessageFrame(Frame):
    """An opaque envelope for the room.

    Without ``payloads`` the server delivers ``body`` to every other member. With ``payloads``
    (recipient alias -> opaque map) it delivers only to those recipients, each receiving ``body``
    and its own entry and nothing of the others' (for suites that encrypt to each recipient).
    """

    type: ClassVar[str] = "message"
    body: StrMap
    payloads: Mapping[str, StrMap] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"type": self.type, "v": PROTOCOL_VERSION, "body": self.body}
        if self.payloads is not None:
            out["payloads"] = self.payloads
        return out

    @classmethod
    def from_fields(cls, fields: _Fields) -> MessageFrame:
        body = fields.str_map("body")
        payloads = fields.payloads("payloads", optional=True)
        _check_body(fields, body, payloads)
        return cls(body, payloads)


@dataclass(frozen=True, slots=True)
class KeyBundleFrame(Frame):
    """Session key ``key_id`` wrapped for each recipient: ``payloads`` maps alias -> opaque map.

    Each recipient receives only its own entry (and the common ``body``).
    """

    type: ClassVar[str] = "key_bundle"
    key_id: str
    payloads: Mapping[str, StrMap]
    body: StrMap = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "v": PROTOCOL_VERSION,
            "key_id": self.key_id,
            "body": self.body,
            "payloads": self.payloads,
        }

    @classmethod
    def from_fields(cls, fields: _Fields) -> KeyBundleFrame:
        key_id = _key_id(fields)
        body = fields.str_map("body")
        payloads = fields.payloads("payloads", optional=False)
        _check_body(fields, body, payloads)
        return cls(key_id, payloads, body)


# --- server to client ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChallengeFrame(Frame):
    """The server's answer to a valid ``join``: 32 fresh random bytes for the joiner to sign (``prove``)."""

    type: ClassVar[str] = "challenge"
    nonce: bytes

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "v": PROTOCOL_VERSION, "nonce": strict_base64.encode(self.nonce)}

    @classmethod
    def from_fields(cls, fields: _Fields) -> ChallengeFrame:
        return cls(fields.binary("nonce", CHALLENGE_BYTES))


@dataclass(frozen=True, slots=True)
class WelcomeFrame(Frame):
    """You are in ``room`` as ``you``; the room's suite and key exchange; the other members."""

    type: ClassVar[str] = "welcome"
    room: str
    suite: SuiteName
    kex: KexName
    you: str
    members: tuple[Member, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "v": PROTOCOL_VERSION,
            "room": self.room,
            "suite": self.suite,
            "kex": self.kex,
            "you": self.you,
            "members": [m.to_dict() for m in self.members],
        }

    @classmethod
    def from_fields(cls, fields: _Fields) -> WelcomeFrame:
        room = fields.name("room", ErrorCode.BAD_ROOM, "room name")
        suite = fields.choice("suite", SUITE_NAMES)
        kex = fields.choice("kex", KEX_NAMES)
        you = fields.name("you", ErrorCode.BAD_ALIAS, "alias")
        raw = fields.get("members", False)
        if not isinstance(raw, list):
            raise fields.fail("field 'members' must be a list")
        if len(raw) >= fields.limits.max_members:
            raise fields.fail(f"more than {fields.limits.max_members} members", ErrorCode.TOO_LARGE)
        members = tuple(Member.from_dict(cls.type, m, fields.limits) for m in raw)
        keys = {name_key(m.alias) for m in members} | {name_key(you)}
        if len(keys) != len(members) + 1:
            raise fields.fail("two members share an alias (names ignore case)")
        return cls(room, suite, kex, you, members)


@dataclass(frozen=True, slots=True)
class MemberJoinedFrame(Frame):
    """Someone joined your room, with the public identity they gave."""

    type: ClassVar[str] = "member_joined"
    member: Member

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "v": PROTOCOL_VERSION, "member": self.member.to_dict()}

    @classmethod
    def from_fields(cls, fields: _Fields) -> MemberJoinedFrame:
        return cls(Member.from_dict(cls.type, fields.get("member", False), fields.limits))


@dataclass(frozen=True, slots=True)
class MemberLeftFrame(Frame):
    """Someone left your room: ``left``, ``disconnected``, or an error code such as ``slow_reader``."""

    type: ClassVar[str] = "member_left"
    alias: str
    reason: str = "left"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "v": PROTOCOL_VERSION, "alias": self.alias, "reason": self.reason}

    @classmethod
    def from_fields(cls, fields: _Fields) -> MemberLeftFrame:
        alias = fields.name("alias", ErrorCode.BAD_ALIAS, "alias")
        return cls(alias, fields.text("reason", fields.limits.max_short))


@dataclass(frozen=True, slots=True)
class LeftFrame(Frame):
    """You have left ``room``; you may join another."""

    type: ClassVar[str] = "left"
    room: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "v": PROTOCOL_VERSION, "room": self.room}

    @classmethod
    def from_fields(cls, fields: _Fields) -> LeftFrame:
        return cls(fields.name("room", ErrorCode.BAD_ROOM, "room name"))


@dataclass(frozen=True, slots=True)
class RelayedMessageFrame(Frame):
    """A member's ``message`` as delivered: ``sender`` (``from`` on the wire) is stamped by the server."""

    type: ClassVar[str] = "message"
    sender: str
    body: StrMap
    payload: StrMap | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"type": self.type, "v": PROTOCOL_VERSION, "from": self.sender, "body": self.body}
        if self.payload is not None:
            out["payload"] = self.payload
        return out

    @classmethod
    def from_fields(cls, fields: _Fields) -> RelayedMessageFrame:
        sender = fields.name("from", ErrorCode.BAD_ALIAS, "alias")
        body = fields.str_map("body")
        payload = fields.str_map("payload", optional=True)
        _check_body(fields, body, None if payload is None else {sender: payload})
        return cls(sender, body, payload)


@dataclass(frozen=True, slots=True)
class RelayedKeyBundleFrame(Frame):
    """A member's ``key_bundle`` as delivered: only this recipient's ``payload``, and ``from``."""

    type: ClassVar[str] = "key_bundle"
    sender: str
    key_id: str
    payload: StrMap
    body: StrMap = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "v": PROTOCOL_VERSION,
            "from": self.sender,
            "key_id": self.key_id,
            "body": self.body,
            "payload": self.payload,
        }

    @classmethod
    def from_fields(cls, fields: _Fields) -> RelayedKeyBundleFrame:
        sender = fields.name("from", ErrorCode.BAD_ALIAS, "alias")
        key_id = _key_id(fields)
        body = fields.str_map("body")
        payload = fields.str_map("payload")
        _check_body(fields, body, {sender: payload})
        return cls(sender, key_id, payload, body)


@dataclass(frozen=True, slots=True)
class ErrorFrame(Frame):
    """The server refused a frame. ``ref`` is the type of the frame refused, when known.

    ``fatal`` says the server closes the connection after this frame.
    """

    type: ClassVar[str] = "error"
    code: ErrorCode
    message: str
    fatal: bool = False
    ref: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "v": PROTOCOL_VERSION,
            "code": self.code.value,
            "message": self.message,
            "fatal": self.fatal,
        }
        if self.ref is not None:
            out["ref"] = self.ref
        return out

    @classmethod
    def from_fields(cls, fields: _Fields) -> ErrorFrame:
        code = fields.text("code", fields.limits.max_short)
        try:
            error_code = ErrorCode(code)
        except ValueError:
            raise fields.fail(f"unknown error code {code!r}") from None
        message = fields.text("message", fields.limits.max_message)
        fatal = fields.flag("fatal")
        ref = fields.text("ref", fields.limits.max_short, optional=True)
        return cls(error_code, message, fatal, ref)


@dataclass(frozen=True, slots=True)
class ShutdownFrame(Frame):
    """The server is going away; it closes the connection after this frame."""

    type: ClassVar[str] = "shutdown"
    reason: str = "server shutting down"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "v": PROTOCOL_VERSION, "reason": self.reason}

    @classmethod
    def from_fields(cls, fields: _Fields) -> ShutdownFrame:
        return cls(fields.text("reason", fields.limits.max_short))


@dataclass(frozen=True, slots=True)
class PongFrame(Frame):
    """The answer to ``ping``, with its ``data``."""

    type: ClassVar[str] = "pong"
    data: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "v": PROTOCOL_VERSION, "data": self.data}

    @classmethod
    def from_fields(cls, fields: _Fields) -> PongFrame:
        return cls(fields.text("data", fields.limits.max_short, optional=True) or "")


@dataclass(frozen=True, slots=True)
class ConnectionClosed(Frame):
    """Not a frame: the peer closed the connection cleanly (at a frame boundary)."""

    type: ClassVar[str] = "closed"


ClientFrame: TypeAlias = JoinFrame | ProveFrame | LeaveFrame | MessageFrame | KeyBundleFrame | PingFrame
ServerFrame: TypeAlias = (
    ChallengeFrame
    | WelcomeFrame
    | MemberJoinedFrame
    | MemberLeftFrame
    | LeftFrame
    | RelayedMessageFrame
    | RelayedKeyBundleFrame
    | ErrorFrame
    | ShutdownFrame
    | PongFrame
)

CLIENT_FRAMES: dict[str, type[Frame]] = {
    cls.type: cls for cls in (JoinFrame, ProveFrame, LeaveFrame, MessageFrame, KeyBundleFrame, PingFrame)
}
SERVER_FRAMES: dict[str, type[Frame]] = {
    cls.type: cls
    for cls in (
        ChallengeFrame,
        WelcomeFrame,
        MemberJoinedFrame,
        MemberLeftFrame,
        LeftFrame,
        RelayedMessageFrame,
        RelayedKeyBundleFrame,
        ErrorFrame,
        ShutdownFrame,
        PongFrame,
    )
}


def parse_frame(obj: Mapping[str, Any], frames: Mapping[str, type[Frame]], limits: Limits) -> Frame:
    """The event a decoded frame holds, among the types ``frames`` allows (one direction's set)."""
    version = obj.get("v")
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise RemoteProtocolError(
            ErrorCode.BAD_VERSION, f"protocol version must be {PROTOCOL_VERSION}, got {_shown(version)}"
        )
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise RemoteProtocolError(ErrorCode.BAD_FIELD, "frame has no string field 'type'")
    cls = frames.get(kind)
    if cls is None:
        raise RemoteProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown frame type {_shown(kind)}")
    fields = _Fields(kind, obj, limits)
    event = cls.from_fields(fields)
    fields.done()
    return event


def _shown(value: object) -> str:
    """A short, safe rendering of a peer's value for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

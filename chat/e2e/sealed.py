"""The end-to-end formats: what the opaque ``body`` and ``payload`` maps hold, and the bytes signed.

Every binary value is standard base64, canonical when read (:mod:`ciphers.strict_base64`); the
fields that hold one are :data:`BINARY_FIELDS`, all others are text. Key ids are
``<alias>/<generation>`` (``/`` is not allowed in aliases, whose rule is the protocol's,
:mod:`chat.protocol.names`). Counters and generations are canonical decimals. Names inside signed
bytes are case-folded, as the protocol compares them.

Hybrid message (``3des``, ``des``), one body for the whole room::

    body = {kid, ctr, type, iv, ct, mac, sig}
    header = LP("cipherchat-e2e-v1", "message", suite, room, sender, kid, ctr as 8 bytes, type)
    ct = the suite's mode (CBC) under a fresh iv;  the suite says which lengths iv and ct may have
    mac = HMAC-SHA256(mac_key, LP(header, iv, ct))               # ciphers.envelope
    sig = Sign(identity key, LP("signed", header, iv, ct, mac))

Direct message (``rsa``, ``elgamal``), one payload ``{ct}`` per recipient::

    body = {kid = "<alias>/0", ctr, type, to, sig}
    header = LP("cipherchat-e2e-v1", "direct-message", suite, room, sender, kid, ctr, type)
    ct_r = Encrypt(r's identity key, text; OAEP label = LP(header, "to", r))
    to = "r1:<hex SHA-256(ct_r1)>,r2:..." (sorted)  and  sig = Sign(LP("signed", header, manifest))

Key bundle (``key_id`` is a frame field), one payload ``{wrapped}`` per recipient::

    body = {why, to, sig}
    header = LP("cipherchat-e2e-v1", "key-bundle", suite, kex, room, sender, key_id, generation, why)
    wrapped_r = Wrap(r's identity key, cipher_key || mac_key; OAEP label = LP(header, "to", r))
    sig = Sign(LP("signed", header, manifest))

LP is :func:`ciphers.envelope.length_prefixed` (a 4-byte length before each field), so no two
field lists encode alike; the domain tag and the frame kind keep a signature on one kind of frame
from passing for another. The manifest binds each recipient's alias to the digest of its own
payload, so one signature serves every recipient and a relay cannot swap or alter payloads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from chat.e2e.errors import FieldError
from chat.protocol.names import is_valid_name, name_key
from ciphers import strict_base64
from ciphers.envelope import TAG_SIZE, Sealed, length_prefixed
from ciphers.errors import FormatError

DOMAIN = b"cipherchat-e2e-v1"
SIGNED = b"signed"
MAX_COUNTER = (1 << 63) - 1
WHY = ("start", "join", "leave")
CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9._/-]{0,31}")
TEXT = "text"  # the content type of a chat message: UTF-8 text
BINARY_FIELDS = frozenset({"iv", "ct", "mac", "sig", "wrapped"})
"""The body and payload fields that hold base64; ``kid``, ``ctr``, ``type``, ``to`` and ``why`` are text."""
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")
_DIGEST_HEX = re.compile(r"[0-9a-f]{64}")


class Shape(Protocol):
    """What judges the lengths of a hybrid message's IV and ciphertext: the room's suite."""

    def shape_ok(self, iv: bytes, ciphertext: bytes) -> bool:
        """Whether the suite's mode can produce an IV and a ciphertext of these lengths."""
        ...


def unb64(text: str, what: str) -> bytes:
    """The bytes of the base64 field ``what``; FieldError naming it unless canonical base64."""
    try:
        return strict_base64.decode(text)
    except FormatError as exc:
        raise FieldError(f"{what} is {exc}") from None


def make_key_id(alias: str, generation: int) -> str:
    """``alias/generation``."""
    return f"{alias}/{generation}"


def split_key_id(key_id: str) -> tuple[str, int]:
    """(owner alias, generation) of a key id; FieldError if it is not ``alias/number``."""
    owner, slash, number = key_id.rpartition("/")
    if not slash or not is_valid_name(owner):
        raise FieldError(f"key id {key_id[:48]!r} is not alias/generation")
    return owner, _decimal(number, "key generation")


def _decimal(text: str, what: str) -> int:
    if not _DECIMAL.fullmatch(text) or int(text) > MAX_COUNTER:
        raise FieldError(f"{what} {text[:24]!r} is not a canonical decimal number")
    return int(text)


def _fold(name: str) -> bytes:
    return name_key(name).encode("utf-8")


def _u64(value: int) -> bytes:
    return value.to_bytes(8, "big")


# --- the bytes that are MACed, signed and used as OAEP labels -----------------------------------


def message_header(
    suite: str, room: str, sender: str, key_id: str, counter: int, content_type: str, *, direct: bool = False
) -> bytes:
    """The header of a message: what its MAC and signature cover besides the ciphertext."""
    kind = b"direct-message" if direct else b"message"
    return length_prefixed(
        DOMAIN,
        kind,
        suite.encode(),
        _fold(room),
        _fold(sender),
        key_id.encode(),
        _u64(counter),
        content_type.encode(),
    )


def bundle_header(
    suite: str, kex: str, room: str, sender: str, key_id: str, generation: int, why: str
) -> bytes:
    """The header of a key bundle."""
    return length_prefixed(
        DOMAIN,
        b"key-bundle",
        suite.encode(),
        kex.encode(),
        _fold(room),
        _fold(sender),
        key_id.encode(),
        _u64(generation),
        why.encode(),
    )


def recipient_context(header: bytes, recipient: str) -> bytes:
    """The header bound to one recipient: the OAEP label of what is encrypted to it."""
    return length_prefixed(header, b"to", _fold(recipient))


def signed(header: bytes, *parts: bytes) -> bytes:
    """The bytes a signature covers: the tag ``signed``, the header, then the parts."""
    return length_prefixed(SIGNED, header, *parts)


def signed_message(header: bytes, box: Sealed) -> bytes:
    """What a hybrid message's signature covers: header, IV, ciphertext and MAC."""
    return signed(header, box.iv, box.ciphertext, box.tag)


def manifest_bytes(digests: Mapping[str, bytes]) -> bytes:
    """Recipient (folded) and payload digest pairs, sorted by recipient, length-prefixed."""
    parts: list[bytes] = []
    for alias in sorted(digests):
        parts += [alias.encode("utf-8"), digests[alias]]
    return length_prefixed(*parts)


def manifest_text(digests: Mapping[str, bytes]) -> str:
    """The manifest as the body carries it: ``alias:hex,alias:hex`` sorted by alias."""
    return ",".join(f"{alias}:{digests[alias].hex()}" for alias in sorted(digests))


def parse_manifest(text: str) -> dict[str, bytes]:
    """The inverse of :func:`manifest_text`; FieldError unless canonical (sorted, unique, lower case)."""
    digests: dict[str, bytes] = {}
    for entry in text.split(","):
        alias, colon, digest = entry.partition(":")
        if (
            not colon
            or not is_valid_name(alias)
            or alias != name_key(alias)
            or not _DIGEST_HEX.fullmatch(digest)
        ):
            raise FieldError("recipient list is malformed")
        if alias in digests:
            raise FieldError("recipient list names someone twice")
        digests[alias] = bytes.fromhex(digest)
    if manifest_text(digests) != text:
        raise FieldError("recipient list is not in canonical order")
    return digests


# --- reading bodies -----------------------------------------------------------------------------


def _exact(body: Mapping[str, str], keys: set[str], what: str) -> None:
    if set(body) != keys:
        raise FieldError(f"{what} must have exactly the fields {', '.join(sorted(keys))}")


def _content_type(text: str) -> str:
    if not CONTENT_TYPE.fullmatch(text):
        raise FieldError("content type is malformed")
    return text


@dataclass(frozen=True)
class HybridMessage:
    """The fields of a hybrid message body."""

    key_id: str
    key_owner: str
    generation: int
    counter: int
    content_type: str
    box: Sealed
    signature: bytes


def parse_hybrid_message(body: Mapping[str, str], suite: Shape) -> HybridMessage:
    """Read ``{kid, ctr, type, iv, ct, mac, sig}``, lengths as ``suite`` allows; FieldError if off."""
    _exact(body, {"kid", "ctr", "type", "iv", "ct", "mac", "sig"}, "message")
    owner, generation = split_key_id(body["kid"])
    if generation == 0:
        raise FieldError("generation 0 is for the direct suites")
    counter = _decimal(body["ctr"], "counter")
    iv, ct, tag = unb64(body["iv"], "iv"), unb64(body["ct"], "ct"), unb64(body["mac"], "mac")
    if not suite.shape_ok(iv, ct) or len(tag) != TAG_SIZE:
        raise FieldError("iv, ciphertext or mac has the wrong length")
    return HybridMessage(
        body["kid"],
        owner,
        generation,
        counter,
        _content_type(body["type"]),
        Sealed(iv, ct, tag),
        unb64(body["sig"], "sig"),
    )


@dataclass(frozen=True)
class DirectMessage:
    """The fields of a direct message: the common body and our payload."""

    key_id: str
    key_owner: str
    counter: int
    content_type: str
    digests: dict[str, bytes]
    signature: bytes
    ciphertext: bytes


def parse_direct_message(body: Mapping[str, str], payload: Mapping[str, str] | None) -> DirectMessage:
    """Read ``{kid, ctr, type, to, sig}`` and the payload ``{ct}``; FieldError if anything is off."""
    _exact(body, {"kid", "ctr", "type", "to", "sig"}, "message")
    if payload is None:
        raise FieldError("a message of this suite needs our payload")
    _exact(payload, {"ct"}, "payload")
    owner, generation = split_key_id(body["kid"])
    if generation != 0:
        raise FieldError("direct messages use generation 0")
    return DirectMessage(
        body["kid"],
        owner,
        _decimal(body["ctr"], "counter"),
        _content_type(body["type"]),
        parse_manifest(body["to"]),
        unb64(body["sig"], "sig"),
        unb64(payload["ct"], "ct"),
    )


@dataclass(frozen=True)
class Bundle:
    """The fields of a key bundle: its key id, the common body and our payload."""

    key_id: str
    key_owner: str
    generation: int
    why: str
    digests: dict[str, bytes]
    signature: bytes
    wrapped: bytes


def parse_bundle(key_id: str, body: Mapping[str, str], payload: Mapping[str, str]) -> Bundle:
    """Read a key bundle's ``key_id``, body ``{why, to, sig}`` and payload ``{wrapped}``."""
    _exact(body, {"why", "to", "sig"}, "key bundle")
    _exact(payload, {"wrapped"}, "key bundle payload")
    owner, generation = split_key_id(key_id)
    if generation == 0:
        raise FieldError("key generations start at 1")
    if body["why"] not in WHY:
        raise FieldError("key bundle reason is unknown")
    return Bundle(
        key_id,
        owner,
        generation,
        body["why"],
        parse_manifest(body["to"]),
        unb64(body["sig"], "sig"),
        unb64(payload["wrapped"], "wrapped"),
    )

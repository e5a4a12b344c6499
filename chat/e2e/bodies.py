"""Reading and writing the v2 bodies and their text fields, as :mod:`chat.e2e.sealed` specifies.

Every reader is strict: exactly the fields of its frame, canonical base64, canonical decimals,
lists sorted and without duplicates, hex in lower case, and a bounded number of entries (checked
before splitting), so that one frame never makes us parse more than the room can hold. Anything
else is a :class:`~chat.e2e.errors.FieldError` naming what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from chat.e2e.errors import FieldError
from chat.e2e.sealed import (
    CHANGE_OPS,
    CONTENT_TYPE,
    DIGEST_SIZE,
    FINGERPRINT_SIZE,
    JOINED,
    MAX_NUMBER,
    NONCE_SIZE,
    WHY,
    Change,
    Entry,
    owner_and_generation,
)
from chat.protocol.names import is_valid_name, name_key
from ciphers import strict_base64
from ciphers.envelope import TAG_SIZE, Sealed
from ciphers.errors import FormatError

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")  # what a suite or kex name may look like on the wire
Rows = dict[str, tuple[bytes, ...]]


def unb64(text: str, what: str, size: int | None = None) -> bytes:
    """The bytes of the base64 field ``what`` (of ``size`` bytes if given); FieldError otherwise."""
    try:
        data = strict_base64.decode(text)
    except FormatError as exc:
        raise FieldError(f"{what} is {exc}") from None
    if size is not None and len(data) != size:
        raise FieldError(f"{what} must be {size} bytes, not {len(data)}")
    return data


def decimal(text: str, what: str) -> int:
    """A canonical decimal below 2^63; FieldError naming ``what`` otherwise."""
    if not _DECIMAL.fullmatch(text) or int(text) > MAX_NUMBER:
        raise FieldError(f"{what} {text[:24]!r} is not a canonical decimal number")
    return int(text)


def split_key_id(key_id: str) -> tuple[str, int]:
    """(owner alias, generation) of a key id; FieldError if it is not ``alias/number``."""
    parts = owner_and_generation(key_id)
    if parts is None:
        raise FieldError(f"key id {key_id[:48]!r} is not alias/generation")
    return parts[0], decimal(parts[1], "key generation")


# --- lists of hex rows: views, manifests, changes --------------------------------------------------


def rows_text(rows: Mapping[str, tuple[bytes, ...]]) -> str:
    """``alias:hex:hex...,alias:...`` sorted by (folded) alias."""
    return ",".join(":".join([alias, *(f.hex() for f in rows[alias])]) for alias in sorted(rows))


def _items(text: str, limit: int, what: str) -> list[str]:
    if not text:
        return []
    if text.count(",") >= limit:
        raise FieldError(f"{what} has more than {limit} entries")
    return text.split(",")


def _hex_fields(parts: list[str], sizes: tuple[int, ...], what: str) -> tuple[bytes, ...]:
    if len(parts) != len(sizes):
        raise FieldError(f"{what} is malformed")
    fields = []
    for part, size in zip(parts, sizes, strict=True):
        if len(part) != 2 * size or part != part.lower():
            raise FieldError(f"{what} is malformed")
        try:
            fields.append(bytes.fromhex(part))
        except ValueError:
            raise FieldError(f"{what} is malformed") from None
    return tuple(fields)


def _alias(text: str, what: str) -> str:
    if not is_valid_name(text) or text != name_key(text):
        raise FieldError(f"{what} is malformed")
    return text


def parse_rows(text: str, sizes: tuple[int, ...], limit: int, what: str) -> Rows:
    """The inverse of :func:`rows_text` for rows of ``sizes`` bytes, at most ``limit`` of them."""
    rows: Rows = {}
    for item in _items(text, limit, what):
        alias, *fields = item.split(":")
        alias = _alias(alias, what)
        if alias in rows:
            raise FieldError(f"{what} names someone twice")
        rows[alias] = _hex_fields(fields, sizes, what)
    if rows_text(rows) != text:
        raise FieldError(f"{what} is not in canonical order")
    return rows


ENTRY_SIZES = (FINGERPRINT_SIZE, NONCE_SIZE)


def view_text(entries: Iterable[Entry]) -> str:
    """A full view as a bundle's ``members`` field."""
    return rows_text({e.alias: (e.fingerprint, e.nonce) for e in entries})


def parse_view(text: str, limit: int) -> dict[str, Entry]:
    """A ``members`` field: the sender's view by folded alias."""
    rows = parse_rows(text, ENTRY_SIZES, limit, "member list")
    return {alias: Entry(alias, *fields) for alias, fields in rows.items()}


def _change_order(change: Change) -> tuple[str, bool]:
    return change.alias, change.op == JOINED


def changes_text(changes: Iterable[Change]) -> str:
    """``op alias:FP:N,...``, sorted by alias, a removal before the ``+`` of the same alias."""
    ordered = sorted(changes, key=_change_order)
    return ",".join(f"{c.op}{c.alias}:{c.fingerprint.hex()}:{c.nonce.hex()}" for c in ordered)


def parse_changes(text: str, limit: int) -> tuple[Change, ...]:
    """A ``changes`` field; at most one removal and one ``+`` per alias, in canonical order."""
    changes: list[Change] = []
    seen: set[tuple[str, bool]] = set()
    for item in _items(text, limit, "change list"):
        op, rest = item[:1], item[1:]
        if op not in CHANGE_OPS:
            raise FieldError("change list is malformed")
        alias, *fields = rest.split(":")
        change = Change(op, _alias(alias, "change list"), *_hex_fields(fields, ENTRY_SIZES, "change list"))
        key = _change_order(change)
        if key in seen:
            raise FieldError("change list names someone twice")
        seen.add(key)
        changes.append(change)
    if changes_text(changes) != text:
        raise FieldError("change list is not in canonical order")
    return tuple(changes)


# --- bodies ---------------------------------------------------------------------------------------


def _exact(body: Mapping[str, str], keys: Iterable[str], what: str) -> None:
    wanted = set(keys)
    if set(body) != wanted:
        raise FieldError(f"{what} must have exactly the fields {', '.join(sorted(wanted))}")


def _content_type(text: str) -> str:
    if not CONTENT_TYPE.fullmatch(text):
        raise FieldError("content type is malformed")
    return text


@dataclass(frozen=True)
class Common:
    """What every body carries in clear, covered by the signature: the room's suite and kex as the
    sender sees them, and the sender's join nonce."""

    suite: str
    kex: str
    nonce: bytes


def _common(body: Mapping[str, str]) -> Common:
    suite, kex = body["suite"], body["kex"]
    if not _NAME.fullmatch(suite) or not _NAME.fullmatch(kex):
        raise FieldError("suite or kex is malformed")
    return Common(suite, kex, unb64(body["nonce"], "nonce", NONCE_SIZE))


class Shape(Protocol):
    """What judges the lengths of a hybrid message's IV and ciphertext: the room's suite."""

    def shape_ok(self, iv: bytes, ciphertext: bytes) -> bool:
        """Whether the suite's mode can produce an IV and a ciphertext of these lengths."""
        ...


HYBRID_FIELDS = (
    "suite",
    "kex",
    "nonce",
    "kid",
    "idx",
    "type",
    "epoch",
    "view",
    "changes",
    "iv",
    "ct",
    "mac",
    "sig",
)
BUNDLE_FIELDS = ("suite", "kex", "nonce", "idx", "why", "epoch", "members", "changes", "to", "sig")
DIRECT_FIELDS = ("suite", "kex", "nonce", "kid", "ctr", "type", "epoch", "changes", "to", "sig")


@dataclass(frozen=True)
class HybridMessage:
    """The fields of a hybrid message body."""

    common: Common
    key_id: str
    key_owner: str
    generation: int
    index: int
    content_type: str
    epoch: int
    view: bytes
    changes: tuple[Change, ...]
    box: Sealed
    signature: bytes


def parse_hybrid_message(body: Mapping[str, str], suite: Shape, limit: int) -> HybridMessage:
    """Read a hybrid message body, lengths as ``suite`` allows, for a room of at most ``limit``."""
    _exact(body, HYBRID_FIELDS, "message")
    owner, generation = split_key_id(body["kid"])
    if generation == 0:
        raise FieldError("generation 0 is for the direct suites")
    iv, ct = unb64(body["iv"], "iv"), unb64(body["ct"], "ct")
    tag = unb64(body["mac"], "mac", TAG_SIZE)
    if not suite.shape_ok(iv, ct):
        raise FieldError("iv or ciphertext has the wrong length")
    return HybridMessage(
        _common(body),
        body["kid"],
        owner,
        generation,
        decimal(body["idx"], "index"),
        _content_type(body["type"]),
        decimal(body["epoch"], "epoch"),
        unb64(body["view"], "view", DIGEST_SIZE),
        parse_changes(body["changes"], 2 * limit),
        Sealed(iv, ct, tag),
        unb64(body["sig"], "sig"),
    )


@dataclass(frozen=True)
class Bundle:
    """The fields of a key bundle: its key id, the common body and our payload."""

    common: Common
    key_id: str
    key_owner: str
    generation: int
    index: int
    why: str
    epoch: int
    members: dict[str, Entry]
    changes: tuple[Change, ...]
    manifest: Rows  # folded alias -> (nonce, SHA-256 of its payload)
    signature: bytes
    wrapped: bytes


def parse_bundle(key_id: str, body: Mapping[str, str], payload: Mapping[str, str], limit: int) -> Bundle:
    """Read a key bundle's ``key_id``, body and payload ``{wrapped}``; lists of at most ``limit``."""
    _exact(body, BUNDLE_FIELDS, "key bundle")
    _exact(payload, ("wrapped",), "key bundle payload")
    owner, generation = split_key_id(key_id)
    if generation == 0:
        raise FieldError("key generations start at 1")
    if body["why"] not in WHY:
        raise FieldError("key bundle reason is unknown")
    return Bundle(
        _common(body),
        key_id,
        owner,
        generation,
        decimal(body["idx"], "index"),
        body["why"],
        decimal(body["epoch"], "epoch"),
        parse_view(body["members"], limit),
        parse_changes(body["changes"], 2 * limit),
        parse_rows(body["to"], (NONCE_SIZE, DIGEST_SIZE), limit, "recipient list"),
        unb64(body["sig"], "sig"),
        unb64(payload["wrapped"], "wrapped"),
    )


@dataclass(frozen=True)
class DirectMessage:
    """The fields of a direct message: the common body and our payload."""

    common: Common
    key_id: str
    key_owner: str
    counter: int
    content_type: str
    epoch: int
    changes: tuple[Change, ...]
    manifest: Rows  # folded alias -> (FP, nonce, SHA-256 of its payload): the sender's view
    signature: bytes
    ciphertext: bytes


def parse_direct_message(
    body: Mapping[str, str], payload: Mapping[str, str] | None, limit: int
) -> DirectMessage:
    """Read a direct message body and the payload ``{ct}``; lists of at most ``limit``."""
    _exact(body, DIRECT_FIELDS, "message")
    if payload is None:
        raise FieldError("a message of this suite needs our payload")
    _exact(payload, ("ct",), "payload")
    owner, generation = split_key_id(body["kid"])
    if generation != 0:
        raise FieldError("direct messages use generation 0")
    return DirectMessage(
        _common(body),
        body["kid"],
        owner,
        decimal(body["ctr"], "counter"),
        _content_type(body["type"]),
        decimal(body["epoch"], "epoch"),
        parse_changes(body["changes"], 2 * limit),
        parse_rows(body["to"], (FINGERPRINT_SIZE, NONCE_SIZE, DIGEST_SIZE), limit, "recipient list"),
        unb64(body["sig"], "sig"),
        unb64(payload["ct"], "ct"),
    )

"""The file-sharing messages, pure: what each ``file/...`` data message holds, and its strict decoder.

A file goes to the room as ordinary end-to-end data messages
(:meth:`chat.client.chat_client.ChatClient.send_data`),
so every one of them is sealed with the room's suite and signed by its sender, the content type
included (:mod:`chat.e2e.sealed`): the relay sees only their sizes. The messages::

    file/offer   {v, id, name, size, sha256, chunk_size, chunks, ack}   sender -> room (the manifest)
    file/accept  {v, id, owner}                 receiver -> room: "send it to me"
    file/refuse  {v, id, owner, reason}         receiver -> room: "not for me" (or "I failed")
    file/chunk   id (16 bytes) || index (4 bytes, big-endian) || data     sender -> room
    file/ack     {v, id, owner, received}       receiver -> room: chunks received so far
    file/end     {v, id, chunks}                sender -> room: every chunk is out
    file/cancel  {v, id, reason}                sender -> room: stop, delete what you have
    file/done    {v, id, owner}                 receiver -> room: saved, SHA-256 checked

``id`` is 16 random bytes in hex, drawn by the sender: a transfer is known by (sender, id).
``owner`` is the alias of the member who offered the file, so a reply names the transfer exactly.
The offer is the signed manifest: its name, size, SHA-256 and chunk layout are covered by the
sender's signature like any message; each chunk carries the transfer id and its index under the
same protection, so a chunk cannot be moved to another transfer or position unnoticed, and the
SHA-256 checked at the end binds the whole file to the manifest.

Every decoder is strict (exact key set, types, ranges) and raises :class:`FileMessageError`: the
sender is authenticated, but may still be a misbehaving member.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from chat.e2e.session import MAX_DATA
from chat.protocol.names import MAX_NAME_LENGTH, name_problem
from chat.transfer.errors import FileMessageError

VERSION = 1
ID_BYTES = 16
INDEX_BYTES = 4
CHUNK_HEADER = ID_BYTES + INDEX_BYTES
MAX_CONTROL = 4096  # bytes of a JSON control message
MAX_FILE_NAME = 1024  # characters of the name in an offer (receivers sanitise and shorten it)
MAX_REASON = 200  # characters of a refusal or cancellation reason
MAX_SIZE = 1 << 40  # what an offer may announce at all; each receiver applies its own, smaller limit
MAX_CHUNKS = (1 << 32) - 1  # chunk indexes are 4 bytes
MAX_CHUNK = MAX_DATA - CHUNK_HEADER
MAX_ACK_EVERY = 64

OFFER = "file/offer"
ACCEPT = "file/accept"
REFUSE = "file/refuse"
CHUNK = "file/chunk"
ACK = "file/ack"
END = "file/end"
CANCEL = "file/cancel"
DONE = "file/done"
CONTENT_TYPES = frozenset({OFFER, ACCEPT, REFUSE, CHUNK, ACK, END, CANCEL, DONE})
PREFIX = "file/"

_ID = re.compile(r"[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


# --- the messages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """The manifest: a file of ``size`` bytes with this SHA-256, in ``chunks`` chunks of ``chunk_size``.

    ``ack``: receivers acknowledge every ``ack`` chunks (and the last), which paces the sender.
    """

    transfer_id: str
    name: str
    size: int
    sha256: str
    chunk_size: int
    chunks: int
    ack: int = 2


@dataclass(frozen=True)
class Accept:
    """A receiver will take ``owner``'s transfer."""

    transfer_id: str
    owner: str


@dataclass(frozen=True)
class Refuse:
    """A receiver will not take ``owner``'s transfer (or has given up on it), and why."""

    transfer_id: str
    owner: str
    reason: str


@dataclass(frozen=True)
class Chunk:
    """Chunk number ``index`` (from 0) of a transfer."""

    transfer_id: str
    index: int
    data: bytes


@dataclass(frozen=True)
class Ack:
    """A receiver has ``received`` chunks of ``owner``'s transfer, in order."""

    transfer_id: str
    owner: str
    received: int


@dataclass(frozen=True)
class End:
    """The sender has sent all ``chunks`` chunks."""

    transfer_id: str
    chunks: int


@dataclass(frozen=True)
class Cancel:
    """The sender stopped the transfer: receivers delete what they have."""

    transfer_id: str
    reason: str


@dataclass(frozen=True)
class Done:
    """A receiver saved ``owner``'s file and its SHA-256 matched."""

    transfer_id: str
    owner: str


FileMessage = Offer | Accept | Refuse | Chunk | Ack | End | Cancel | Done
Reply = Accept | Refuse | Ack | Done  # from a receiver to the sender, naming the owner


def chunk_count(size: int, chunk_size: int) -> int:
    """How many chunks of ``chunk_size`` bytes hold ``size`` bytes (0 for an empty file)."""
    return -(-size // chunk_size)


def chunk_length(offer: Offer, index: int) -> int:
    """The exact length of chunk ``index`` of ``offer`` (every chunk is full but the last)."""
    return max(0, min(offer.chunk_size, offer.size - index * offer.chunk_size))


def new_transfer_id(random_bytes: bytes) -> str:
    """A transfer id from :data:`ID_BYTES` random bytes."""
    if len(random_bytes) != ID_BYTES:
        raise ValueError(f"a transfer id takes {ID_BYTES} random bytes")
    return random_bytes.hex()


def short_reason(reason: str) -> str:
    """``reason`` cut to :data:`MAX_REASON` characters, for a refusal or a cancellation."""
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 3] + "..."


# --- encoding -----------------------------------------------------------------------------------


def encode(message: FileMessage) -> tuple[str, bytes]:
    """(content type, data) for :meth:`~chat.client.chat_client.ChatClient.send_data`."""
    if isinstance(message, Chunk):
        header = bytes.fromhex(message.transfer_id) + message.index.to_bytes(INDEX_BYTES, "big")
        return CHUNK, header + message.data
    content_type, fields = _fields(message)
    obj = {"v": VERSION, "id": message.transfer_id, **fields}
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    decode(content_type, data)  # what we send must pass the checks we apply to what we receive
    return content_type, data


def _fields(message: FileMessage) -> tuple[str, dict[str, Any]]:
    if isinstance(message, Offer):
        return OFFER, {
            "name": message.name,
            "size": message.size,
            "sha256": message.sha256,
            "chunk_size": message.chunk_size,
            "chunks": message.chunks,
            "ack": message.ack,
        }
    if isinstance(message, Accept):
        return ACCEPT, {"owner": message.owner}
    if isinstance(message, Refuse):
        return REFUSE, {"owner": message.owner, "reason": message.reason}
    if isinstance(message, Ack):
        return ACK, {"owner": message.owner, "received": message.received}
    if isinstance(message, End):
        return END, {"chunks": message.chunks}
    if isinstance(message, Cancel):
        return CANCEL, {"reason": message.reason}
    if isinstance(message, Done):
        return DONE, {"owner": message.owner}
    raise TypeError(f"not a file message: {type(message).__name__}")  # pragma: no cover


# --- decoding -----------------------------------------------------------------------------------

_KEYS: dict[str, frozenset[str]] = {
    OFFER: frozenset({"v", "id", "name", "size", "sha256", "chunk_size", "chunks", "ack"}),
    ACCEPT: frozenset({"v", "id", "owner"}),
    REFUSE: frozenset({"v", "id", "owner", "reason"}),
    ACK: frozenset({"v", "id", "owner", "received"}),
    END: frozenset({"v", "id", "chunks"}),
    CANCEL: frozenset({"v", "id", "reason"}),
    DONE: frozenset({"v", "id", "owner"}),
}


def is_file_message(content_type: str) -> bool:
    """Whether ``content_type`` belongs to file sharing (``file/...``)."""
    return content_type.startswith(PREFIX)


def decode(content_type: str, data: bytes) -> FileMessage:
    """The message in ``data`` of ``content_type``; FileMessageError if it is not exactly well formed."""
    if content_type == CHUNK:
        return _decode_chunk(data)
    keys = _KEYS.get(content_type)
    if keys is None:
        raise FileMessageError(f"unknown file message type {content_type[:40]!r}")
    obj = _json_object(data, content_type)
    if obj.get("v") != VERSION or isinstance(obj.get("v"), bool):
        raise FileMessageError(f"{content_type}: unsupported version {str(obj.get('v'))[:20]!r}")
    if set(obj) != keys:
        extra, missing = sorted(set(obj) - keys), sorted(keys - set(obj))
        raise FileMessageError(f"{content_type}: unexpected fields {extra} or missing fields {missing}")
    transfer_id = _text(obj, "id", content_type, 32)
    if not _ID.fullmatch(transfer_id):
        raise FileMessageError(f"{content_type}: transfer id must be 32 lowercase hex digits")
    if content_type == OFFER:
        return _decode_offer(obj, transfer_id)
    if content_type == END:
        return End(transfer_id, _integer(obj, "chunks", content_type, 0, MAX_CHUNKS))
    if content_type == CANCEL:
        return Cancel(transfer_id, _text(obj, "reason", content_type, MAX_REASON))
    owner = _owner(obj, content_type)
    if content_type == ACCEPT:
        return Accept(transfer_id, owner)
    if content_type == REFUSE:
        return Refuse(transfer_id, owner, _text(obj, "reason", content_type, MAX_REASON))
    if content_type == ACK:
        return Ack(transfer_id, owner, _integer(obj, "received", content_type, 0, MAX_CHUNKS))
    return Done(transfer_id, owner)


def _decode_chunk(data: bytes) -> Chunk:
    if len(data) < CHUNK_HEADER:
        raise FileMessageError(f"{CHUNK}: {len(data)} bytes is shorter than its {CHUNK_HEADER}-byte header")
    index = int.from_bytes(data[ID_BYTES:CHUNK_HEADER], "big")
    return Chunk(data[:ID_BYTES].hex(), index, data[CHUNK_HEADER:])


def _decode_offer(obj: dict[str, Any], transfer_id: str) -> Offer:
    name = _text(obj, "name", OFFER, MAX_FILE_NAME)
    if not name:
        raise FileMessageError(f"{OFFER}: the file name is empty")
    size = _integer(obj, "size", OFFER, 0, MAX_SIZE)
    sha256 = _text(obj, "sha256", OFFER, 64)
    if not _SHA256.fullmatch(sha256):
        raise FileMessageError(f"{OFFER}: sha256 must be 64 lowercase hex digits")
    chunk_size = _integer(obj, "chunk_size", OFFER, 1, MAX_CHUNK)
    chunks = _integer(obj, "chunks", OFFER, 0, MAX_CHUNKS)
    if chunks != chunk_count(size, chunk_size):
        raise FileMessageError(
            f"{OFFER}: {chunks} chunks do not hold {size} bytes in chunks of {chunk_size}"
            f" (that takes {chunk_count(size, chunk_size)})"
        )
    ack = _integer(obj, "ack", OFFER, 1, MAX_ACK_EVERY)
    return Offer(transfer_id, name, size, sha256, chunk_size, chunks, ack)


def _json_object(data: bytes, content_type: str) -> dict[str, Any]:
    if len(data) > MAX_CONTROL:
        raise FileMessageError(f"{content_type}: {len(data)} bytes is above the limit of {MAX_CONTROL}")
    try:
        obj = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FileMessageError(f"{content_type}: not UTF-8 JSON ({type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise FileMessageError(f"{content_type}: not a JSON object")
    return obj


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _text(obj: dict[str, Any], key: str, content_type: str, limit: int) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise FileMessageError(f"{content_type}: {key} must be a string")
    if len(value) > limit:
        raise FileMessageError(f"{content_type}: {key} is longer than {limit} characters")
    return value


def _integer(obj: dict[str, Any], key: str, content_type: str, low: int, high: int) -> int:
    value = obj[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise FileMessageError(f"{content_type}: {key} must be an integer")
    if not low <= value <= high:
        raise FileMessageError(f"{content_type}: {key} must be {low} to {high}, got {value}")
    return value


def _owner(obj: dict[str, Any], content_type: str) -> str:
    owner = _text(obj, "owner", content_type, MAX_NAME_LENGTH)
    if name_problem(owner, "owner") is not None:
        raise FileMessageError(f"{content_type}: owner is not a valid alias")
    return owner


__all__ = [
    "ACCEPT",
    "ACK",
    "CANCEL",
    "CHUNK",
    "CHUNK_HEADER",
    "CONTENT_TYPES",
    "DONE",
    "END",
    "MAX_CHUNK",
    "OFFER",
    "REFUSE",
    "Accept",
    "Ack",
    "Cancel",
    "Chunk",
    "Done",
    "End",
    "FileMessage",
    "Offer",
    "Refuse",
    "Reply",
    "chunk_count",
    "chunk_length",
    "decode",
    "encode",
    "is_file_message",
    "new_transfer_id",
    "short_reason",
]

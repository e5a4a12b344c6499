"""Frames: a 4-byte big-endian length, then that many bytes of UTF-8 JSON holding one object.

Encoding is canonical (no spaces, ASCII only: other characters are ``\\u`` escapes), so a frame's
size depends on its content only. Decoding is strict: UTF-8 without a byte-order mark, no ``NaN``
or ``Infinity``, an object at the top. :class:`FrameBuffer` reassembles frames from a byte stream
cut anywhere; a length above the limit is fatal, because the stream cannot be resynchronised
without reading what could be gigabytes.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

from chat.protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError

HEADER = struct.Struct(">I")
HEADER_SIZE = HEADER.size
_COMPACT_AFTER = 64 * 1024

_encoder = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def encode_json(obj: Mapping[str, Any]) -> bytes:
    """The canonical JSON encoding of one frame's object, without the length."""
    return _encoder.encode(obj).encode("ascii")


def encode_frame(obj: Mapping[str, Any], max_frame: int | None = None) -> bytes:
    """A whole frame: length, then JSON. Raises LocalProtocolError above ``max_frame`` bytes."""
    payload = encode_json(obj)
    if max_frame is not None and len(payload) > max_frame:
        raise LocalProtocolError(
            ErrorCode.TOO_LARGE, f"frame of {len(payload)} bytes is above the limit of {max_frame}"
        )
    return frame_payload(payload)


def frame_payload(payload: bytes) -> bytes:
    """The frame that carries ``payload``: its 4-byte big-endian length, then the payload."""
    return HEADER.pack(len(payload)) + payload


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


_decoder = json.JSONDecoder(parse_constant=_reject_constant)


def decode_payload(payload: bytes) -> dict[str, Any]:
    """A frame's JSON object. Raises RemoteProtocolError (not fatal: the frame was read whole)."""
    if not payload:
        raise RemoteProtocolError(ErrorCode.BAD_FRAME, "empty frame")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise RemoteProtocolError(ErrorCode.BAD_JSON, "frame is not valid UTF-8") from None
    try:
        obj = _decoder.decode(text)
    except (ValueError, RecursionError):
        raise RemoteProtocolError(ErrorCode.BAD_JSON, "frame is not valid JSON") from None
    if not isinstance(obj, dict):
        raise RemoteProtocolError(ErrorCode.BAD_JSON, "frame is not a JSON object")
    return obj


class FrameBuffer:
    """Bytes received so far; hands out whole frame payloads whatever the split of the stream."""

    def __init__(self, max_frame: int) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._start = 0

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        self._buffer += data

    @property
    def buffered(self) -> int:
        """How many received bytes are not yet handed out (0 at a frame boundary)."""
        return len(self._buffer) - self._start

    def next_payload(self) -> bytes | None:
        """The next whole frame's payload, or None until more bytes arrive.

        Raises a fatal RemoteProtocolError when the next length is above the limit.
        """
        buffer, start = self._buffer, self._start
        if len(buffer) - start < HEADER_SIZE:
            return None
        (length,) = HEADER.unpack_from(buffer, start)
        if length > self.max_frame:
            raise RemoteProtocolError(
                ErrorCode.TOO_LARGE,
                f"frame of {length} bytes is above the limit of {self.max_frame}",
                fatal=True,
            )
        end = start + HEADER_SIZE + length
        if len(buffer) < end:
            return None
        payload = bytes(buffer[start + HEADER_SIZE : end])
        if end == len(buffer):
            buffer.clear()
            self._start = 0
        elif end > _COMPACT_AFTER:
            del buffer[:end]
            self._start = 0
        else:
            self._start = end
        return payload

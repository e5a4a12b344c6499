"""One delivery encoded once for all its recipients.

A ``message`` or ``key_bundle`` sent with ``payloads`` reaches each recipient as its own frame:
the common fields (``from``, ``key_id``, ``body``) and that recipient's ``payload``, which the
canonical encoding writes last. So the frame is the shared prefix, encoded once, then the
recipient's payload: each recipient's queue holds its own length, the one shared prefix and its
own tail, and a body of 50 KB (a key bundle's manifest in a room of 500) is neither encoded nor
stored 499 times. The bytes are exactly :func:`~chat.protocol.framing.encode_frame` of the frame.
"""

from __future__ import annotations

from chat.protocol.errors import ErrorCode, LocalProtocolError
from chat.protocol.events import RelayedKeyBundleFrame, RelayedMessageFrame, StrMap
from chat.protocol.framing import HEADER, HEADER_SIZE, encode_json


class SharedPrefix:
    """The encoding of a relayed frame up to its ``payload``, for frames at most ``max_frame`` bytes."""

    __slots__ = ("max_frame", "prefix")

    def __init__(self, frame: RelayedMessageFrame | RelayedKeyBundleFrame, max_frame: int) -> None:
        obj = frame.to_dict()
        obj.pop("payload", None)
        self.prefix = encode_json(obj)[:-1] + b',"payload":'
        self.max_frame = max_frame

    def frame(self, payload: StrMap) -> tuple[tuple[bytes, bytes, bytes], int]:
        """The pieces of the frame carrying ``payload``, and its size; LocalProtocolError if too large."""
        tail = encode_json(payload) + b"}"
        length = len(self.prefix) + len(tail)
        if length > self.max_frame:
            raise LocalProtocolError(
                ErrorCode.TOO_LARGE, f"frame of {length} bytes is above the limit of {self.max_frame}"
            )
        return (HEADER.pack(length), self.prefix, tail), HEADER_SIZE + length

"""One recipient's queue, pure: the frames the relay holds for a client until its transport takes them.

Frames stay whole. A frame is either bytes or the pieces of one frame (a fan-out shares its
common part between recipients, see :mod:`chat.relay.fanout`); :meth:`Outbox.take` hands out
whole frames only, so the queue can be dropped at any moment and what is written next starts on a
frame boundary: that is how a client cut off as a slow reader gets its error frame ahead of its
backlog.
"""

from __future__ import annotations

from collections import deque
from typing import TypeAlias

QueuedFrame: TypeAlias = bytes | tuple[bytes, ...]


class Outbox:
    """Frames waiting for one recipient, and their size in bytes."""

    __slots__ = ("_frames", "size")

    def __init__(self) -> None:
        self._frames: deque[tuple[QueuedFrame, int]] = deque()
        self.size = 0

    def __len__(self) -> int:
        return len(self._frames)

    def put(self, frame: QueuedFrame, size: int) -> None:
        """Queue ``frame`` (``size`` bytes on the wire)."""
        self._frames.append((frame, size))
        self.size += size

    def take(self, most: int) -> bytes:
        """Whole frames from the front, at least one, no more than ``most`` bytes unless one is larger."""
        frames = self._frames
        parts: list[bytes] = []
        taken = 0
        while frames and (not parts or taken + frames[0][1] <= most):
            frame, size = frames.popleft()
            if isinstance(frame, bytes):
                parts.append(frame)
            else:
                parts.extend(frame)
            taken += size
        self.size -= taken
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def clear(self) -> int:
        """Drop every waiting frame; the number of bytes dropped."""
        dropped = self.size
        self._frames.clear()
        self.size = 0
        return dropped

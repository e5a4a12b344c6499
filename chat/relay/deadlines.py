"""Clocks started per connection, oldest first, pure: which have run past their timeout.

The relay keeps one :class:`Deadlines` per rule (joining, finishing a frame, staying silent):
starting a clock again moves it to the back, so the expired ones are always at the front and a
check costs only what it finds, however many connections are open.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Deadlines(Generic[K]):
    """When each key's clock started, in the order they started."""

    __slots__ = ("_started",)

    def __init__(self) -> None:
        self._started: dict[K, float] = {}

    def __len__(self) -> int:
        return len(self._started)

    def __contains__(self, key: object) -> bool:
        return key in self._started

    def __iter__(self) -> Iterator[K]:
        """The keys, oldest clock first."""
        return iter(list(self._started))

    def start(self, key: K, now: float) -> None:
        """Start (or restart) ``key``'s clock at ``now``."""
        started = self._started
        started.pop(key, None)
        started[key] = now

    def stop(self, key: K) -> None:
        """Forget ``key``'s clock, if it has one."""
        self._started.pop(key, None)

    def oldest(self) -> K | None:
        """The key whose clock started first, if any."""
        return next(iter(self._started), None)

    def expired(self, now: float, timeout: float) -> list[K]:
        """The keys whose clock started more than ``timeout`` before ``now``, oldest first."""
        before = now - timeout
        found: list[K] = []
        for key, started in self._started.items():
            if started >= before:
                break
            found.append(key)
        return found

"""A bounded feed of records with live subscribers: how the client exposes its trace and wire views.

The wire view's records are :class:`WireFrame`; the trace's are :class:`chat.e2e.session.TraceRecord`.

Publishing never blocks and never grows memory: the feed keeps the last ``size`` items (for a
view opened late), and each subscriber has its own bounded queue that drops its *oldest* item when
full, counting what it dropped. Diagnostic views may lose old lines; the chat itself never does
(its events go through a queue that applies back-pressure instead, see :mod:`chat.client.chat_client`).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class WireFrame:
    """One frame exactly as it crossed the socket (``sent`` or ``received``), for the wire view."""

    direction: str
    raw: bytes  # the 4-byte length and the JSON, as the relay (or a wiretap) sees them
    obj: dict[str, Any] | None  # the decoded JSON, None if it was not valid
    time: float = field(default_factory=time.time)

    @property
    def type(self) -> str:
        """The frame's ``type``, or ``?``."""
        kind = None if self.obj is None else self.obj.get("type")
        return kind if isinstance(kind, str) else "?"


class Subscription(Generic[T]):
    """One reader of a :class:`Feed`: an async iterator over the items published after it began."""

    def __init__(self, feed: Feed[T], size: int) -> None:
        self._feed = feed
        self._items: deque[T] = deque(maxlen=size)
        self._ready = asyncio.Event()
        self._closed = False
        self.dropped = 0

    def push(self, item: T) -> None:
        if len(self._items) == self._items.maxlen:
            self.dropped += 1
        self._items.append(item)
        self._ready.set()

    def pending(self) -> list[T]:
        """Take every item waiting, without blocking."""
        items = list(self._items)
        self._items.clear()
        return items

    def close(self) -> None:
        """Stop: the iteration ends once the items waiting are read."""
        self._closed = True
        self._feed.unsubscribe(self)
        self._ready.set()

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()


class Feed(Generic[T]):
    """The last ``size`` items, and the subscribers to come."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._history: deque[T] = deque(maxlen=size)
        self._subscribers: list[Subscription[T]] = []

    def publish(self, item: T) -> None:
        """Record ``item`` and hand it to every subscriber."""
        self._history.append(item)
        for subscriber in self._subscribers:
            subscriber.push(item)

    def history(self) -> list[T]:
        """The items kept, oldest first."""
        return list(self._history)

    def subscribe(self, size: int | None = None) -> Subscription[T]:
        """A new subscription holding at most ``size`` unread items (default: the feed's size)."""
        subscription = Subscription(self, size or self.size)
        self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription[T]) -> None:
        """Stop handing items to ``subscription``."""
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)

    def close(self) -> None:
        """End every subscription."""
        for subscription in list(self._subscribers):
            subscription.close()

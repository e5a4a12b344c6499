"""A queue of events that can be ended: every reader then learns so, now and later.

The client, the reconnecting wrapper and the file transfers each hand their events to whoever reads
them through one of these: iterate with ``async for``, or take one at a time with :meth:`get`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")


class QueueEnded(Exception):
    """The queue was ended: no event will come."""


class _End:
    """The marker that ends the queue; it stays at the head for every other reader."""


_END = _End()


class EventQueue(Generic[T]):
    """A FIFO of events, bounded if ``maxsize`` > 0 (``put`` then waits: back-pressure)."""

    def __init__(self, maxsize: int = 0) -> None:
        self._queue: asyncio.Queue[T | _End] = asyncio.Queue(maxsize)

    def qsize(self) -> int:
        """The number of events waiting."""
        return self._queue.qsize()

    async def put(self, event: T) -> None:
        """Queue ``event``, waiting while the queue is full."""
        await self._queue.put(event)

    def put_nowait(self, event: T) -> None:
        """Queue ``event`` now; ``asyncio.QueueFull`` if the queue is full."""
        self._queue.put_nowait(event)

    def put_dropping_oldest(self, event: T | _End) -> None:
        """Queue ``event`` now; if nobody reads and the queue is full, the oldest event makes room."""
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()

    def end(self) -> None:
        """No more events: readers finish what is queued, then stop."""
        self.put_dropping_oldest(_END)

    async def get(self, timeout: float | None = None) -> T:
        """The next event; TimeoutError after ``timeout`` seconds, :class:`QueueEnded` once ended."""
        async with asyncio.timeout(timeout):
            item = await self._queue.get()
        if isinstance(item, _End):
            self._queue.put_nowait(item)  # for any other reader
            raise QueueEnded
        return item

    async def __aiter__(self) -> AsyncIterator[T]:
        """The events in order, until the queue is ended."""
        while True:
            try:
                yield await self.get()
            except QueueEnded:
                return

"""The closable event queue shared by the client, reconnection and file transfers."""

from __future__ import annotations

import asyncio

import pytest

from chat.client.event_queue import EventQueue, QueueEnded


def test_events_in_order_then_every_reader_learns_the_end() -> None:
    async def scenario() -> None:
        queue: EventQueue[int] = EventQueue()
        for n in range(3):
            queue.put_nowait(n)
        queue.end()
        assert [n async for n in queue] == [0, 1, 2]
        assert [n async for n in queue] == []  # a second reader ends at once too
        with pytest.raises(QueueEnded):
            await queue.get()

    asyncio.run(scenario())


def test_get_times_out_when_nothing_comes() -> None:
    async def scenario() -> None:
        queue: EventQueue[int] = EventQueue()
        with pytest.raises(TimeoutError):
            await queue.get(timeout=0.01)

    asyncio.run(scenario())


def test_a_full_queue_makes_room_for_the_end_and_for_urgent_events() -> None:
    async def scenario() -> None:
        queue: EventQueue[int] = EventQueue(2)
        queue.put_nowait(1)
        queue.put_nowait(2)
        with pytest.raises(asyncio.QueueFull):
            queue.put_nowait(3)
        queue.put_dropping_oldest(3)
        queue.end()
        assert [n async for n in queue] == [3]

    asyncio.run(scenario())


def test_put_waits_for_a_reader_when_full() -> None:
    async def scenario() -> None:
        queue: EventQueue[int] = EventQueue(1)
        queue.put_nowait(1)
        writer = asyncio.create_task(queue.put(2))
        await asyncio.sleep(0.01)
        assert not writer.done()
        assert await queue.get() == 1
        await asyncio.wait_for(writer, 1)
        assert queue.qsize() == 1

    asyncio.run(scenario())

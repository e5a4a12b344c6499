"""What a connection may hold: the join and frame deadlines, the caps per address and in all, the
bound on unfinished frames. Slowloris and floods cost the attacker, not the room.

Timeouts are set to fractions of a second; the second loopback address (127.0.0.2) plays another
host. Every wait is bounded; the event loop must log no error.
"""

from __future__ import annotations

import asyncio
import io
import time

import pytest
from rich.console import Console

from chat.relay import server as relay_server
from chat.relay.console import WireView
from tests.test_server import (
    WireClient,
    frame,
    message,
    no_event_loop_errors,  # noqa: F401  (autouse: no event-loop error in these tests either)
    room_of,
    run,
    running,
    still_serving,
)


def unfinished(length: int, sent: int) -> bytes:
    """The first ``sent`` bytes of a frame announcing ``length`` bytes of payload."""
    return length.to_bytes(4, "big") + b" " * sent


def test_a_connection_must_join_a_room_in_time() -> None:
    async def scenario() -> None:
        async with running(join_timeout=0.4) as server:
            lurker = await WireClient.connect(server.port)
            member = await WireClient.connect(server.port)
            await member.join("alice")
            start = time.monotonic()
            while time.monotonic() - start < 0.3:  # frames, but no join: still cut
                await lurker.ping()
                await asyncio.sleep(0.05)
            frames = await lurker.until_closed()
            assert [(f["code"], f["fatal"]) for f in frames if f["type"] == "error"] == [
                ("idle_timeout", True)
            ]
            assert "not in a room 0.4 s after connecting" in frames[-1]["message"]
            member.send({"type": "leave", "v": 2})
            await member.expect("left")
            await asyncio.sleep(0.6)  # having been in a room once, it may stay out of one
            await member.ping()
            await member.close()

    run(scenario)


def test_a_frame_must_be_finished_in_time_however_slowly_it_drips() -> None:
    async def scenario() -> None:
        async with running(frame_timeout=0.4, idle_timeout=30) as server:
            dripper, witness = await room_of(server, "dripper", "witness")
            dripper.send_raw(unfinished(1000, 0))
            for _ in range(20):  # a byte every 50 ms: far more often than any idle timer
                dripper.send_raw(b" ")
                await asyncio.sleep(0.05)
                if dripper.frames.qsize():
                    break
            frames = await dripper.until_closed()
            assert (
                frames[-1]["code"] == "idle_timeout"
                and "frame not finished within 0.4 s" in frames[-1]["message"]
            )
            left = await witness.expect("member_left")
            assert (left["alias"], left["reason"]) == ("dripper", "idle_timeout")
            await witness.close()

    run(scenario)


def test_frames_that_keep_finishing_are_never_cut() -> None:
    """The frame clock restarts with every frame: a stream cut anywhere is not a slow frame."""

    async def scenario() -> None:
        async with running(frame_timeout=0.3) as server:
            alice, bob = await room_of(server, "alice", "bob")
            stream = b"".join(frame(message(n=str(i))) for i in range(40))
            step = len(stream) // 40 + 7  # pieces that never end on a frame boundary
            for start in range(0, len(stream), step):
                alice.send_raw(stream[start : start + step])
                await asyncio.sleep(0.025)  # 40 frames over about a second
            for i in range(40):
                assert (await bob.expect("message"))["body"]["n"] == str(i)
            await alice.ping()
            await alice.close()
            await bob.close()

    run(scenario)


def test_connections_from_one_address_are_capped() -> None:
    async def scenario() -> None:
        async with running(max_per_address=2) as server:
            first, second = await room_of(server, "a1", "a2")
            third = await WireClient.connect(server.port)
            frames = await third.until_closed()
            assert [(f["code"], f["fatal"]) for f in frames] == [("server_full", True)]
            assert "too many connections from 127.0.0.1 (2)" in frames[0]["message"]
            other = await WireClient.connect(server.port, source="127.0.0.2")
            await other.join("b1", "annex")  # another address is not affected
            await first.close()
            await second.expect("member_left")
            for _ in range(100):  # until its transport is gone too
                if server.guard.per_address["127.0.0.1"] == 1:
                    break
                await asyncio.sleep(0.01)
            again = await WireClient.connect(server.port)
            await again.join("a3")  # a place freed is a place again
            for client in (second, other, again):
                await client.close()

    run(scenario)


def test_a_full_server_makes_room_by_dropping_the_oldest_connection_not_in_a_room() -> None:
    async def scenario() -> None:
        async with running(max_connections=3) as server:
            (member,) = await room_of(server, "member")
            oldest = await WireClient.connect(server.port)
            await oldest.ping()
            younger = await WireClient.connect(server.port)
            await younger.ping()
            newcomer = await WireClient.connect(server.port)
            await newcomer.join("newcomer")
            frames = await oldest.until_closed()
            assert [(f["code"], f["fatal"]) for f in frames] == [("server_full", True)]
            await younger.ping()  # the others are untouched
            await member.expect("member_joined")
            late = await WireClient.connect(server.port)  # evicts `younger`, the oldest not in a room now
            await late.ping()
            assert [f["code"] for f in await younger.until_closed()] == ["server_full"]
            await late.join("late")
            refused = await WireClient.connect(server.port)  # all three in a room: nobody to evict
            assert [f["code"] for f in await refused.until_closed()] == ["server_full"]
            for client in (member, newcomer, late):
                await client.close()

    run(scenario)


def test_unfinished_frames_are_bounded_across_connections() -> None:
    async def scenario() -> None:
        async with running(max_unfinished=100_000) as server:
            first = await WireClient.connect(server.port, source="127.0.0.2")
            first.send_raw(unfinished(60_000, 40_000))
            await asyncio.sleep(0.05)
            second = await WireClient.connect(server.port, source="127.0.0.2")
            second.send_raw(unfinished(60_000, 40_000))
            await asyncio.sleep(0.05)
            assert first.frames.empty() and second.frames.empty()  # 80 kB held: within the bound
            third = await WireClient.connect(server.port)
            third.send_raw(unfinished(60_000, 40_000))  # 120 kB: the oldest goes
            frames = await first.until_closed()
            assert [f["code"] for f in frames] == ["server_full"]
            assert "unfinished frames" in frames[0]["message"]
            second.send_raw(b" " * 20_000)  # the others finish their frames: an error each, in step
            third.send_raw(b" " * 20_000)
            for client in (second, third):
                assert (await client.error("bad_json"))["fatal"] is False
                await client.ping()
            await still_serving(server)
            for client in (second, third):
                await client.close()

    run(scenario)


def test_refusals_at_the_door_are_summed_up_on_the_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """A flood of refused connections is one line per address per period, not one per connection."""
    monkeypatch.setattr(relay_server, "REFUSALS_SHOWN_EVERY", 0.3)
    console = Console(record=True, width=200, color_system=None, file=io.StringIO())

    async def scenario() -> None:
        async with running(max_per_address=1, view=WireView(console, frames=False)) as server:
            (member,) = await room_of(server, "member")
            for _ in range(5):
                refused = await WireClient.connect(server.port)
                assert [f["code"] for f in await refused.until_closed()] == ["server_full"]
            await asyncio.sleep(0.8)
            await member.close()

    run(scenario)
    lines = [line for line in console.export_text().splitlines() if "server_full" in line]
    assert len(lines) == 2, lines
    assert "too many connections from 127.0.0.1 (1)" in lines[0]
    assert "4 more connections refused in 0.3 s" in lines[1]

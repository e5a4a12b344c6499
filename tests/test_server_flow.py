"""The relay's flow control on real sockets: no head-of-line blocking, the cut client's error first,
rooms that move at the pace of most of their members, and closing without tracebacks.

The slow clients are blocking sockets with a small receive window that stop reading; the relay's
own queue bound (``queue_bytes``) is set small so that a few hundred kilobytes decide. Every wait is
bounded; the event loop must log no error (the ``no_event_loop_errors`` fixture).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import time
from typing import Any

from tests.test_server import (
    TIMEOUT,
    WireClient,
    frame,
    message,
    no_event_loop_errors,  # noqa: F401  (autouse: no event-loop error in these tests either)
    room_of,
    run,
    running,
    slow_reader,
    still_serving,
)

KiB = 1024


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything a blocking socket receives until the relay closes it (bounded by its timeout)."""
    sock.settimeout(TIMEOUT)
    chunks = []
    with contextlib.suppress(ConnectionError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def frames_of(data: bytes) -> list[dict[str, Any]]:
    """The frames in a byte stream that must end on a frame boundary."""
    frames, start = [], 0
    while start + 4 <= len(data):
        (length,) = struct.unpack_from(">I", data, start)
        frames.append(json.loads(data[start + 4 : start + 4 + length]))
        start += 4 + length
    assert start == len(data), "the stream ended mid-frame"
    return frames


async def wait_left(client: WireClient, alias: str, timeout: float = 10.0) -> dict[str, Any]:
    """Read ``client``'s frames until ``alias`` is announced gone; that ``member_left``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = await client.recv(timeout=deadline - time.monotonic())
        if got["type"] == "member_left" and got["alias"] == alias:
            return got
    raise AssertionError(f"{alias} was never announced gone")


def test_a_reader_that_stops_never_delays_the_others() -> None:
    """The old relay held each sender up to ``stall_timeout`` (here 30 s) waiting on the stalled reader."""

    async def scenario() -> None:
        async with running(queue_bytes=1024 * KiB, stall_timeout=30) as server:
            slow = slow_reader(server.port)
            alice, bob = await room_of(server, "alice", "bob")  # slow joined before both
            start = time.monotonic()
            count = 0
            left = None
            for i in range(400):  # 400 x 10 KB: far past what slow's kernel buffers and queue hold
                alice.send(message(n=str(i), ct="A" * 10_000))
                count += 1
                got = await bob.recv()
                if got["type"] == "member_left":  # slow's, when it is cut off
                    got = await bob.recv()
                assert got["type"] == "message" and got["body"]["n"] == str(i), got
                if not alice.frames.empty():
                    left = await alice.recv()
                    break
            elapsed = time.monotonic() - start
            assert left == {"type": "member_left", "v": 2, "alias": "slow", "reason": "slow_reader"}
            assert elapsed < 10, f"{count} messages took {elapsed:.1f} s to reach bob"
            slow.close()
            await still_serving(server)
            await alice.close()
            await bob.close()

    run(scenario, timeout=40)


def test_a_reader_cut_off_gets_its_error_ahead_of_its_backlog() -> None:
    async def scenario() -> None:
        async with running(queue_bytes=1024 * KiB, stall_timeout=30) as server:
            slow = slow_reader(server.port)
            alice, bob = await room_of(server, "alice", "bob")  # three: slow alone cannot pace the room
            sent = 0
            while sent < 8 * 1024 * KiB:
                alice.send(message(ct="A" * 50_000))
                sent += 50_000
                await alice.writer.drain()
                with contextlib.suppress(TimeoutError):
                    got = await alice.recv(timeout=0.001)
                    if got["type"] == "member_left":
                        break
            else:
                raise AssertionError("slow was never cut off")
            received = await asyncio.to_thread(read_until_closed, slow)
            frames = frames_of(received)
            assert [f["type"] for f in frames[:2]] == ["challenge", "welcome"]
            assert frames[-1]["type"] == "error" and frames[-1]["code"] == "slow_reader", frames[-1]
            assert frames[-1]["fatal"] is True
            # what it read before its error: the kernel's buffers and the transport's, not its queue
            assert len(received) < 700 * KiB, (len(received), sent)
            await alice.close()
            await bob.close()

    run(scenario, timeout=40)


def test_a_reader_that_takes_nothing_is_cut_after_the_stall_timeout() -> None:
    async def scenario() -> None:
        async with running(stall_timeout=0.5) as server:
            slow = slow_reader(server.port)
            (alice,) = await room_of(server, "alice")
            start = time.monotonic()
            for i in range(100):  # 4 MB: slow's buffers fill, nothing passes the 8 MiB bound
                alice.send(message(n=str(i), ct="A" * 40_000))
            left = await wait_left(alice, "slow")
            assert left["reason"] == "slow_reader"
            assert time.monotonic() - start < 5
            frames = frames_of(await asyncio.to_thread(read_until_closed, slow))
            assert frames[-1]["code"] == "slow_reader" and "took none of" in frames[-1]["message"]
            await alice.close()

    run(scenario, timeout=30)


def test_a_room_that_reads_slowly_paces_its_senders_and_loses_nobody() -> None:
    """Both recipients stop reading for a while: a room behind as a whole is not a slow reader."""

    async def scenario() -> None:
        # The bound leaves room for the catch-up: once one reader has caught up the room is no longer
        # congested, and the other, still draining, may have 0.5 MB waiting (kernel buffers vary).
        async with running(queue_bytes=1024 * KiB, stall_timeout=5) as server:
            alice, bob, carol = await room_of(server, "alice", "bob", "carol")
            for client in (bob, carol):
                client.writer.transport.pause_reading()  # type: ignore[attr-defined]
            total = 300  # 300 x 20 KB to each: 6 MB, far past the 1 MiB bound
            for i in range(total):
                alice.send(message(n=str(i), ct="A" * 20_000))
            await asyncio.sleep(1.0)  # alice's frames wait in TCP: the relay stops reading her
            for client in (bob, carol):
                client.writer.transport.resume_reading()  # type: ignore[attr-defined]
            for client in (bob, carol):
                numbers = [
                    int((await client.expect("message", timeout=15))["body"]["n"]) for _ in range(total)
                ]
                assert numbers == list(range(total))
            await alice.ping()  # alice was never cut: she is still in step
            for client in (alice, bob, carol):
                await client.close()

    run(scenario, timeout=40)


def test_a_client_that_half_closes_then_reads_gets_its_frames() -> None:
    """Formerly 'Exception in callback _SelectorTransport.abort()' once its queue was read."""

    async def scenario() -> None:
        async with running(linger=0.2) as server:
            alice, bob = await room_of(server, "alice", "bob")
            for i in range(20):
                alice.send(message(n=str(i)))
            await alice.ping()
            bob.send({"type": "ping", "v": 2, "data": "last"})
            bob.writer.write_eof()
            await asyncio.sleep(0.5)  # past the linger: the timer must find the connection gone
            frames = await bob.until_closed()
            assert [f["body"]["n"] for f in frames if f["type"] == "message"] == [str(i) for i in range(20)]
            assert frames[-1] == {"type": "pong", "v": 2, "data": "last"}
            assert (await alice.expect("member_left"))["reason"] == "disconnected"
            await alice.close()

    run(scenario)


def test_shutdown_with_readers_stalled_and_senders_held_leaves_no_traceback() -> None:
    """Formerly CancelledError tracebacks from the read loops waiting on a slow reader."""

    async def scenario() -> None:
        async with running(queue_bytes=256 * KiB, shutdown_grace=0.5) as server:
            slows = [slow_reader(server.port)]
            clients = await room_of(server, "a", "b")
            for client in clients:
                client.writer.transport.pause_reading()  # type: ignore[attr-defined]
            for _ in range(50):
                clients[0].send(message(ct="A" * 30_000))
            await asyncio.sleep(0.3)
            start = time.monotonic()
            await asyncio.wait_for(server.close(), 10)
            assert time.monotonic() - start < 2.5
            for sock in slows:
                sock.close()
            for client in clients:
                await client.close()

    run(scenario)


def test_a_frame_sent_in_pieces_is_relayed_whole() -> None:
    async def scenario() -> None:
        async with running() as server:
            alice, bob = await room_of(server, "alice", "bob")
            data = frame(message(n="whole", ct="B" * 1000))
            for i in range(0, len(data), 100):
                alice.send_raw(data[i : i + 100])
                await alice.writer.drain()
                await asyncio.sleep(0.001)
            assert (await bob.expect("message"))["body"]["n"] == "whole"
            await alice.close()
            await bob.close()

    run(scenario)

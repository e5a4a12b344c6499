"""Nothing left behind: a finished connection is freed by reference counting alone.

With the cyclic collector off, a storm of connections ending every way a connection can end (reset,
half-closed, cut mid-frame, refused, evicted, timed out, dropped as a slow reader, after a fatal
frame) must leave no :class:`~chat.relay.peer.Peer` and no :class:`~chat.protocol.connection.Connection`
alive: any reference cycle through one (an exception stored with its traceback, a timer that
outlives its connection) would keep it until a collection that never comes.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import struct
from collections.abc import Iterator

import pytest

from chat.protocol.connection import Connection
from chat.relay.peer import Peer
from tests.test_server import (
    BIG,
    WireClient,
    frame,
    message,
    no_event_loop_errors,  # noqa: F401  (autouse: no event-loop error in these tests either)
    room_of,
    run,
    running,
    slow_reader,
)


@pytest.fixture
def no_cyclic_collector() -> Iterator[None]:
    gc.collect()  # what earlier tests left, so that only this test's objects are counted
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def alive() -> list[str]:
    """The relay's connection objects still alive (the cyclic collector is off: only refcounts free)."""
    return [type(o).__name__ for o in gc.get_objects() if isinstance(o, Peer | Connection)]


def reset(client: WireClient) -> None:
    sock = client.writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.writer.transport.abort()


@pytest.mark.usefixtures("no_cyclic_collector")
def test_finished_connections_leave_no_object_behind() -> None:
    async def storm() -> None:
        limits = {"max_per_address": 12, "max_connections": 14}
        async with running(**limits, join_timeout=0.3, stall_timeout=0.3, linger=0.3) as server:
            witness, talker = await room_of(server, "witness", "talker")
            for round_ in range(3):
                clients = []
                member = await WireClient.connect(server.port)
                await member.join("member", f"reset{round_}")
                reset(member)
                half = await WireClient.connect(server.port)
                await half.join("half", f"half{round_}")
                half.send({"type": "ping", "v": 2})
                half.writer.write_eof()
                clients.append(half)
                mid = await WireClient.connect(server.port)
                mid.send_raw(frame(message())[:9])
                await asyncio.sleep(0.01)
                reset(mid)
                bad = await WireClient.connect(server.port)
                bad.send_raw(b"\x00\x00\x00\x05hello")  # refused, not fatal
                bad.send_raw((BIG + 1).to_bytes(4, "big"))  # fatal: error, then closed
                clients.append(bad)
                lurker = await WireClient.connect(server.port)  # cut by the join deadline
                clients.append(lurker)
                leaver = await WireClient.connect(server.port)
                await leaver.join("leaver", f"leaver{round_}")
                leaver.send({"type": "leave", "v": 2})
                await leaver.expect("left")
                await leaver.close()
                slow = slow_reader(server.port)  # joins the lobby, never reads: cut as a slow reader
                for _ in range(60):  # 3.6 MB: slow takes none of it for stall_timeout
                    talker.send(message(ct="A" * 60_000))
                crowd = [await WireClient.connect(server.port) for _ in range(8)]  # some refused, some evict
                for client in (*clients, *crowd):
                    await client.until_closed(timeout=5)
                    await client.close()
                slow.close()
            a = await WireClient.connect(server.port)
            await a.join("a", "after")
            b = await WireClient.connect(server.port)
            await b.join("b", "after")
            a.send(message(ct="AAAA"))
            assert (await b.expect("message"))["body"] == {"ct": "AAAA"}  # still serving
            await a.close()
            await b.close()
            for _ in range(300):  # until every transport has reported its connection lost
                if len(server.peers) == 2:
                    break
                await asyncio.sleep(0.01)
            assert len(server.peers) == 2
            await asyncio.sleep(0.05)
            assert sorted(alive()) == ["Connection", "Connection", "Peer", "Peer"]  # witness and talker
            reasons = []
            while not witness.frames.empty():
                got = witness.frames.get_nowait()
                if got is not None and got["type"] == "member_left":
                    reasons.append(got["reason"])
            assert reasons.count("slow_reader") == 3  # each round's slow reader was cut off as one
            await witness.close()
            await talker.close()

    run(storm, timeout=60)
    assert alive() == []

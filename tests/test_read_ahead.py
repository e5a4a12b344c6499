"""The client reads its socket ahead of slow handlers, so that what it has not handled yet waits in
its own memory (bounded) rather than with the relay, which cuts a reader it holds too much for."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
import time
from typing import Any

import pytest

from chat.client.chat_client import ChatClient
from chat.client.handlers import RoomHandlers
from chat.client.read_ahead import ReadAhead
from chat.protocol.events import PongFrame
from chat.protocol.framing import encode_frame
from chat.protocol.limits import Limits
from tests.chat_net import eventually, run
from tests.chat_support import identity

FRAMES = 400
DATA = 60_000  # characters of each pong's data: 24 MB in all, far beyond the kernel's buffers
HANDLING = 0.002  # seconds each frame's handler holds the event loop, as opening a file chunk does


def test_the_socket_is_read_while_the_handlers_are_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server writes 24 MB of frames as fast as it can; the client's handler takes 2 ms a frame.
    The server's writes are all taken in while most frames still wait to be handled (here about a
    fifth were handled by then). Reading only between handlers, 64 KiB at a time, the client took
    the writes at the pace it handled them: they ended once about four fifths were handled, the
    rest held in kernel buffers (and, through a relay, in the relay's queue for the client)."""
    handled: list[str] = []
    at_end_of_writes: list[int] = []

    async def slow_pong(client: RoomHandlers, frame: PongFrame) -> None:
        time.sleep(HANDLING)  # holds the event loop, like CPU-bound work
        handled.append(frame.data)

    monkeypatch.setitem(RoomHandlers._handlers, PongFrame, slow_pong)
    frames = [encode_frame(PongFrame(f"{i:06d}".ljust(DATA, "x")).to_dict()) for i in range(FRAMES)]

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:  # another thread, as the relay is another process
        connection, _ = listener.accept()
        with connection:
            connection.sendall(b"".join(frames))
            at_end_of_writes.append(len(handled))
            connection.shutdown(socket.SHUT_WR)  # the client reads the end after the frames
            connection.recv(1)  # until the client hangs up

    server = threading.Thread(target=serve, daemon=True)
    server.start()

    async def scenario() -> None:
        limits = dataclasses.replace(Limits(), max_short=DATA + 16)
        client = ChatClient("alice", identity("alice"), ping_interval=None, limits=limits)
        await client.connect("127.0.0.1", port)
        await eventually(lambda: len(handled) == FRAMES, "every frame to be handled", timeout=30)
        await client.close()

    try:
        run(scenario)
    finally:
        listener.close()
        server.join(10)
    assert handled == [f"{i:06d}".ljust(DATA, "x") for i in range(FRAMES)]  # all, once, in order
    (handled_then,) = at_end_of_writes
    assert handled_then < FRAMES // 2, f"{handled_then} of {FRAMES} frames handled when the writes ended"


class Source:
    """A reader of ``blocks`` one at a time, then the end; counts what was asked of it."""

    def __init__(self, blocks: list[bytes], error: OSError | None = None) -> None:
        self.blocks = list(blocks)
        self.error = error
        self.reads = 0

    async def read(self, n: int = -1) -> bytes:
        self.reads += 1
        await asyncio.sleep(0)
        if self.blocks:
            return self.blocks.pop(0)
        if self.error is not None:
            raise self.error
        return b""


@dataclasses.dataclass
class Buffer:
    """What ReadAhead needs of a connection: bytes fed, and how many wait."""

    fed: list[bytes] = dataclasses.field(default_factory=list)
    buffered: int = 0

    def receive_data(self, data: bytes) -> None:
        self.fed.append(data)
        self.buffered += len(data)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def test_reading_stops_at_the_bound_and_goes_on_once_half_is_handled() -> None:
    async def scenario() -> None:
        source, conn = Source([b"x" * 1000] * 10), Buffer()
        reading = ReadAhead(source, conn, limit=4000)  # type: ignore[arg-type]
        await settle()
        assert conn.buffered == 4000 and source.reads == 4  # paused at the bound
        conn.buffered = 2500  # the handlers took some, not half
        await reading.taken()
        await settle()
        assert source.reads == 4
        conn.buffered = 2000
        await reading.taken()
        await settle()
        assert conn.buffered == 4000 and source.reads == 6
        conn.buffered = 0
        await reading.more()  # everything whole was handled: read on
        await settle()
        while not reading.done:
            conn.buffered = 0
            await reading.more()
        assert b"".join(conn.fed) == b"x" * 10_000 and conn.fed[-1] == b"" and reading.ended is None
        await reading.stop()

    run(scenario)


def test_a_failed_read_ends_reading_with_its_reason() -> None:
    async def scenario() -> None:
        error = ConnectionResetError(104, "Connection reset by peer")
        source, conn = Source([b"abc"], error), Buffer()
        reading = ReadAhead(source, conn)  # type: ignore[arg-type]
        while not reading.done:
            await reading.more()
        assert conn.fed == [b"abc"]
        assert reading.ended == "connection lost: Connection reset by peer"
        await reading.stop()

    run(scenario)


def test_stopping_cancels_a_read_in_progress() -> None:
    async def scenario() -> None:
        never: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        class Stuck:
            async def read(self, n: int = -1) -> bytes:
                return await never  # type: ignore[no-any-return]

        reading = ReadAhead(Stuck(), Buffer())  # type: ignore[arg-type]
        await settle()
        await reading.stop()
        assert reading.done and never.cancelled()

    run(scenario)

"""Network helpers for the chat tests: a real server process, a recording and tampering TCP proxy,
event recorders, and the search for secrets in recorded bytes. Everything binds 127.0.0.1 and every
wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import re
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from bench import server_process
from chat.app.chat_session import ChatSession
from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.protocol.errors import RemoteProtocolError
from chat.protocol.framing import FrameBuffer, decode_payload, encode_frame
from chat.protocol.limits import DEFAULT_LIMITS

TIMEOUT = 15.0
LISTENING = re.compile(rb"listening on 127\.0\.0\.1:(\d+)\n")


def run(scenario: Callable[[], Coroutine[Any, Any, None]], timeout: float = 60.0) -> None:
    """Run an async scenario with an overall bound."""

    async def bounded() -> None:
        async with asyncio.timeout(timeout):
            await scenario()

    asyncio.run(bounded())


async def eventually(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    """Wait until ``condition()`` holds, polling; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


# --- the server process -------------------------------------------------------------------------


class FrameInbox:
    """The receiving half of a bare test client: a reader task puts each frame received in
    ``frames``, then None when the connection is closed. ``wait``: the default bound on a wait."""

    wait: float = TIMEOUT

    def __init__(self) -> None:
        self.frames: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def recv(self, timeout: float | None = None) -> dict[str, Any]:
        """The next frame; EOFError when the relay has closed the connection."""
        obj = await asyncio.wait_for(self.frames.get(), self.wait if timeout is None else timeout)
        if obj is None:
            self.frames.put_nowait(None)
            raise EOFError("connection closed")
        return obj

    async def expect(self, kind: str, timeout: float | None = None) -> dict[str, Any]:
        obj = await self.recv(timeout)
        assert obj["type"] == kind, obj
        return obj

    async def until_closed(self, timeout: float | None = None) -> list[dict[str, Any]]:
        """Frames received until the relay closes the connection (at most 1000)."""
        frames = []
        for _ in range(1000):
            try:
                frames.append(await self.recv(timeout))
            except EOFError:
                return frames
        raise AssertionError("the relay did not close the connection")


class ServerProcess(server_process.ServerProcess):
    """``python -m chat server --port 0 --quiet ARGS`` (:class:`bench.server_process.ServerProcess`)."""

    def __init__(self, *args: str) -> None:
        super().__init__("--port", "0", "--quiet", *args)


async def server_child(*args: str) -> tuple[asyncio.subprocess.Process, int]:
    """``python -m chat server --port 0 --quiet ARGS`` as an asyncio child with piped output, and the
    port its first line announces (what the operator's console shows follows on stdout)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "chat", "server", "--port", "0", "--quiet", *args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    first = await asyncio.wait_for(process.stdout.readline(), TIMEOUT)
    match = LISTENING.fullmatch(first)
    if match is None:
        process.kill()
        await process.wait()
        raise AssertionError(f"the server did not announce its port: {first!r}")
    return process, int(match.group(1))


# --- the proxy ----------------------------------------------------------------------------------

# (connection number, alias seen in its join or None, frame object) -> frames to forward instead
Mutate = Callable[[int, str | None, dict[str, Any]], list[dict[str, Any]]]


@dataclass
class Link:
    """One client connection through the proxy."""

    number: int
    alias: str | None = None
    up: bytearray = field(default_factory=bytearray)  # every byte the server received on it
    down: bytearray = field(default_factory=bytearray)  # every byte the client received on it
    up_frames: list[dict[str, Any]] = field(default_factory=list)
    down_frames: list[dict[str, Any]] = field(default_factory=list)


class TapProxy:
    """A TCP proxy between clients and the relay that records every byte, and may rewrite frames.

    ``down`` (server to client) and ``up`` (client to server) hooks get each frame's object and
    return the frames to forward: ``[obj]`` unchanged (the original bytes are forwarded), ``[]``
    to drop, two to duplicate, a changed object to tamper (re-encoded canonically).
    """

    def __init__(self, target_port: int, *, down: Mutate | None = None, up: Mutate | None = None) -> None:
        self.target_port = target_port
        self.down = down
        self.up = up
        self.links: list[Link] = []
        self._numbers = itertools.count()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> TapProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def link(self, alias: str) -> Link:
        """The connection whose join named ``alias``."""
        return next(link for link in self.links if link.alias == alias)

    def upstream(self) -> bytes:
        """Everything the server received, all connections."""
        return b"".join(bytes(link.up) for link in self.links)

    def downstream(self) -> bytes:
        """Everything the server sent, all connections."""
        return b"".join(bytes(link.down) for link in self.links)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = Link(next(self._numbers))
        self.links.append(link)
        me = asyncio.current_task()
        if me is not None:
            self._tasks.add(me)  # type: ignore[arg-type]
        pumps: tuple[asyncio.Task[None], ...] = ()
        server_writer: asyncio.StreamWriter | None = None
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            pumps = (
                asyncio.ensure_future(self._pump(reader, server_writer, link, upward=True)),
                asyncio.ensure_future(self._pump(server_reader, writer, link, upward=False)),
            )
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        except (asyncio.CancelledError, OSError):
            pass  # the proxy is closing, or the server is gone
        finally:
            for task in pumps:
                task.cancel()
            for closing in (writer, server_writer):
                if closing is not None:
                    closing.close()
            if me is not None:
                self._tasks.discard(me)  # type: ignore[arg-type]

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: Link, *, upward: bool
    ) -> None:
        buffer = FrameBuffer(DEFAULT_LIMITS.max_frame)
        mutate = self.up if upward else self.down
        record, frames = (link.up, link.up_frames) if upward else (link.down, link.down_frames)
        while True:
            data = await reader.read(65536)
            if not data:
                with contextlib.suppress(OSError):
                    writer.write_eof()
                return
            buffer.feed(data)
            while True:
                try:
                    payload = buffer.next_payload()
                except RemoteProtocolError:
                    return
                if payload is None:
                    break
                original = len(payload).to_bytes(4, "big") + payload
                try:
                    obj = decode_payload(payload)
                except RemoteProtocolError:
                    out = [original]
                else:
                    if upward and obj.get("type") == "join" and isinstance(obj.get("alias"), str):
                        link.alias = obj["alias"]
                    replaced = [obj] if mutate is None else mutate(link.number, link.alias, obj)
                    out = [original if item is obj else encode_frame(item) for item in replaced]
                    frames.extend(decode_payload(item[4:]) for item in out)
                for chunk in out:
                    record += chunk
                    writer.write(chunk)
            await writer.drain()


# --- clients ------------------------------------------------------------------------------------


class Recorder:
    """Reads a client's (or an application session's) events into a list in the background."""

    def __init__(self, client: ChatClient | ChatSession) -> None:
        self.client = client
        self.events: list[ev.ChatEvent] = []
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for event in self.client.events():
            self.events.append(event)

    def of(self, kind: type[ev.ChatEvent]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def texts(self) -> list[tuple[str, str]]:
        return [(e.sender, e.text) for e in self.of(ev.MessageReceived)]

    def warnings(self) -> list[ev.WarningEvent]:
        return self.of(ev.WarningEvent)

    async def stop(self) -> None:
        await self.client.close()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(TIMEOUT):
                await self.task


async def connect_all(
    names: list[str],
    port: int,
    make: Callable[[str], ChatClient],
    room: str,
    suite: str | None,
    kex: str | None,
) -> dict[str, Recorder]:
    """Connect and join each named client in turn; a Recorder each."""
    recorders: dict[str, Recorder] = {}
    for name in names:
        client = make(name)
        await client.connect("127.0.0.1", port)
        recorders[name] = Recorder(client)
        await client.join(room, suite, kex)
    return recorders


async def stop_all(recorders: dict[str, Recorder], *closers: Callable[[], Awaitable[None]]) -> None:
    for recorder in recorders.values():
        await recorder.stop()
    for closer in closers:
        await closer()


# --- secrets in recorded bytes ------------------------------------------------------------------


def byte_forms(secret: bytes) -> list[bytes]:
    """``secret`` raw, in hex (both cases) and in base64 at each of the three alignments."""
    forms = [secret, secret.hex().encode(), secret.hex().upper().encode()]
    for offset in range(3):
        part = secret[offset : offset + 3 * ((len(secret) - offset) // 3)]
        if len(part) >= 6:
            forms.append(base64.b64encode(part))
    return forms


def int_forms(value: int) -> list[bytes]:
    """A key number in decimal, hex, and as big-endian bytes in every byte form."""
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return [str(value).encode(), f"{value:x}".encode(), *byte_forms(raw)]


def find_secrets(haystack: bytes, secrets: dict[str, list[bytes]]) -> list[str]:
    """The names of the secrets found in ``haystack`` in any of their forms."""
    return [name for name, forms in secrets.items() if any(form in haystack for form in forms)]

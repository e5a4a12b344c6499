"""What the relay harness drives: the relay in a child process, and raw protocol clients.

The clients are written from the protocol's docstring (``chat/protocol/__init__.py``): 4-byte
length, canonical JSON, no client crypto (bodies are opaque to the relay) but the proof of
possession every join needs: members share a few real identities (the relay does not ask for
distinct ones) and sign each challenge with one (:func:`chat.e2e.admission.prove_join`). A member
counts the messages relayed to it per sender in a bitmap, so losses, duplicates and reorderings
are exact, and the send time each message carries gives its latency. Everything is on 127.0.0.1
(source addresses such as 127.0.0.2 are loopback too) and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from array import array
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chat.e2e.admission import prove_join
from chat.e2e.identity import Identity
from chat.protocol.limits import JOIN_NONCE_BYTES
from ciphers import strict_base64
from ciphers.rng import DeterministicRNG

HOST = "127.0.0.1"
TIMEOUT = 30.0  # the longest any single wait may take
LISTENING = re.compile(rb"listening on 127\.0\.0\.1:(\d+)\n")
PROBLEMS = re.compile(r"Traceback|Exception in callback|Error:|exception was never retrieved")
RELAYED = re.compile(rb'"from":"m(\d+)","body":\{"s":"(\d+)","t":"([0-9.]+)"')
HEADER = struct.Struct(">I")


def frame(obj: dict[str, Any]) -> bytes:
    """One frame, canonically encoded."""
    payload = json.dumps(obj, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return HEADER.pack(len(payload)) + payload


IDENTITIES = 4  # real identities the members share (RSA-2048 and ffdhe2048: 0.9 KB of JSON each)


@functools.cache
def keys(alias: str) -> Identity:
    """The identity ``alias`` joins with: one of :data:`IDENTITIES`, made once per process."""
    return _identity(sum(alias.encode()) % IDENTITIES)


@functools.cache
def _identity(number: int) -> Identity:
    return Identity.generate(rng=DeterministicRNG(f"relay harness identity {number}"))


def identity(alias: str) -> dict[str, str]:
    """The public identity map ``alias`` joins with."""
    return keys(alias).public.to_wire()


def join_frame(alias: str, room: str, nonce: bytes | None = None) -> bytes:
    """A join with a join nonce (fresh unless given)."""
    nonce = os.urandom(JOIN_NONCE_BYTES) if nonce is None else nonce
    join = {"type": "join", "v": 2, "alias": alias, "room": room, "identity": identity(alias)}
    return frame(join | {"nonce": strict_base64.encode(nonce)})


def prove_frame(alias: str, room: str, nonce: bytes, challenge: dict[str, Any]) -> bytes:
    """The answer to ``challenge`` for the join of ``alias`` to ``room`` with ``nonce``."""
    raw = strict_base64.decode(challenge["nonce"])
    signature = prove_join(keys(alias), raw, alias, room, nonce)
    return frame({"type": "prove", "v": 2, "signature": strict_base64.encode(signature)})


PAD = base64.b64encode(os.urandom(480)).decode()  # an envelope's iv, ct, mac and sig: ~700 B a frame
LONG_PAD = base64.b64encode(os.urandom(4500)).decode()  # a 4 Ki-character text, sealed: ~6 KB a frame


def message_frame(sender: int, seq: int, *, long: bool = False) -> bytes:
    """A message numbered ``seq`` from member ``sender``, stamped with the time it is sent."""
    body = {"s": str(seq), "t": f"{time.monotonic():.6f}", "ct": LONG_PAD if long else PAD}
    return frame({"type": "message", "v": 2, "body": body})


def ping_frame(data: str = "sync") -> bytes:
    return frame({"type": "ping", "v": 2, "data": data})


def rss_of(pid: int) -> int:
    """Resident set size of process ``pid`` in bytes (Linux /proc; 0 where it cannot be read)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used (Linux /proc; 0 where unknown)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


# --- the relay ----------------------------------------------------------------------------------


class Relay:
    """``python -m chat server`` in a child process; stdout and stderr go to files, never a full pipe."""

    def __init__(self, *flags: str) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="relay-load-"))
        self.out, self.err = self._dir / "stdout", self._dir / "stderr"
        args = [sys.executable, "-m", "chat", "server", "--port", "0", "--quiet", "--cipher", "3des"]
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen([*args, *flags], stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        self.port = self._wait_for_port()
        self.exit_seconds: float | None = None

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            match = LISTENING.match(self.out.read_bytes())
            if match:
                return int(match.group(1))
            if self.process.poll() is not None:
                raise RuntimeError(f"the relay exited: {self.err.read_text()[-500:]}")
            time.sleep(0.02)
        self.process.kill()
        raise RuntimeError("the relay did not announce its port")

    @property
    def rss(self) -> int:
        return rss_of(self.process.pid)

    @property
    def cpu(self) -> float:
        return cpu_of(self.process.pid)

    def problems(self) -> list[str]:
        """Lines of the relay's stderr that show a traceback or an unhandled exception."""
        return [line for line in self.err.read_text(errors="replace").splitlines() if PROBLEMS.search(line)]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the relay, wait for it (killing it after a bound); its exit status."""
        if self.process.poll() is None:
            start = time.monotonic()
            self.process.send_signal(sig)
            try:
                self.process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(TIMEOUT)
            self.exit_seconds = time.monotonic() - start
        return self.process.returncode

    def cleanup(self) -> None:
        self.stop()
        for path in (self.out, self.err):
            path.unlink(missing_ok=True)
        self._dir.rmdir()


# --- delivery accounting ------------------------------------------------------------------------


class Tally:
    """Exact accounting of one scenario's messages: senders ``m0``..., ``per_sender`` messages each."""

    def __init__(self, senders: int, per_sender: int) -> None:
        self.senders = senders
        self.per_sender = per_sender
        self.latencies = array("d")
        self.duplicates = 0
        self.reordered = 0
        self.unexpected = 0  # messages from outside the scenario's numbering

    def book(self, senders: int) -> tuple[bytearray, array[int]]:
        """A receiver's bitmap of (sender, number) seen, and the highest number seen per sender."""
        return bytearray(senders * self.per_sender), array("i", [-1]) * senders

    def received(self, seen: bytearray, highest: array[int], sender: int, seq: int, sent: float) -> None:
        if not (0 <= sender < self.senders and 0 <= seq < self.per_sender):
            self.unexpected += 1
            return
        index = sender * self.per_sender + seq
        if seen[index]:
            self.duplicates += 1
            return
        seen[index] = 1
        if seq < highest[sender]:
            self.reordered += 1
        else:
            highest[sender] = seq
        self.latencies.append(time.monotonic() - sent)

    def percentile(self, fraction: float) -> float:
        """The latency below which ``fraction`` of deliveries arrived, in seconds (0 if none)."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)]


# --- a raw member -------------------------------------------------------------------------------


class Member(asyncio.Protocol):
    """A raw client: writes frames, reads frames, counts relayed messages in its tally's books."""

    def __init__(self, alias: str, tally: Tally | None = None) -> None:
        self.alias = alias
        self.tally = tally
        self.books = tally.book(tally.senders) if tally is not None else None
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.inbox: deque[dict[str, Any]] = deque()
        self.kinds: Counter[str] = Counter()
        self.last: dict[str, Any] | None = None  # the last frame that is not a relayed message
        self.arrived = asyncio.Event()
        self.closed = asyncio.Event()
        self.bytes_in = 0
        self.left: Counter[str] = Counter()  # member_left frames by reason
        self.keep: Callable[[dict[str, Any]], bool] = _control

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.bytes_in += len(data)
        buffer = self.buffer
        buffer += data
        start = 0
        end = len(buffer)
        while end - start >= 4:
            (length,) = HEADER.unpack_from(buffer, start)
            if end - start - 4 < length:
                break
            payload = bytes(buffer[start + 4 : start + 4 + length])
            start += 4 + length
            self._frame(payload)
        if start:
            del buffer[:start]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()
        self.arrived.set()

    def _frame(self, payload: bytes) -> None:
        if payload.startswith(b'{"type":"message"'):
            self.kinds["message"] += 1
            match = RELAYED.search(payload, 0, 200)
            if match is not None and self.tally is not None and self.books is not None:
                seen, highest = self.books
                self.tally.received(seen, highest, int(match[1]), int(match[2]), float(match[3]))
            return
        obj = json.loads(payload)
        self.kinds[obj["type"]] += 1
        if obj["type"] == "member_left":
            self.left[obj["reason"]] += 1
        self.last = obj
        if self.keep(obj):
            self.inbox.append(obj)
            self.arrived.set()

    # driving it

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        if not self.transport.is_closing():
            self.transport.write(data)

    async def expect(self, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next kept frame of type ``kind`` (others before it are discarded)."""
        deadline = time.monotonic() + timeout
        while True:
            while self.inbox:
                obj = self.inbox.popleft()
                if obj["type"] == kind:
                    return obj
            if self.closed.is_set():
                raise EOFError(f"{self.alias}: connection closed while waiting for {kind}")
            self.arrived.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.alias}: no {kind} within {timeout:g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)

    async def join(self, room: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """Join ``room``: the join, the relay's challenge, the proof, the welcome."""
        nonce = os.urandom(JOIN_NONCE_BYTES)
        self.write(join_frame(self.alias, room, nonce))
        challenge = await self.expect("challenge", timeout)
        self.write(prove_frame(self.alias, room, nonce, challenge))
        return await self.expect("welcome", timeout)

    async def sync(self, timeout: float = TIMEOUT) -> None:
        """A ping round trip: everything the relay sent before the pong has arrived."""
        self.write(ping_frame(self.alias))
        await self.expect("pong", timeout)

    def stop_reading(self) -> None:
        assert self.transport is not None
        self.transport.pause_reading()

    def start_reading(self) -> None:
        assert self.transport is not None
        if not self.transport.is_closing():
            self.transport.resume_reading()

    def reset(self) -> None:
        """Close abruptly: a TCP reset (SO_LINGER 0), nothing flushed."""
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _control(obj: dict[str, Any]) -> bool:
    """Frames a member keeps for :meth:`Member.expect`: not the presence chatter of a big room."""
    return obj["type"] not in ("member_joined", "member_left")


async def connect(
    port: int,
    alias: str,
    tally: Tally | None = None,
    *,
    source: str | None = None,
    receive_buffer: int | None = None,
) -> Member:
    """A connected :class:`Member` (from ``source``, with a small receive window if asked)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)  # before connecting
        if source is not None:
            sock.bind((source, 0))
        sock.setblocking(False)
        async with asyncio.timeout(TIMEOUT):
            await loop.sock_connect(sock, (HOST, port))
            _, member = await loop.create_connection(lambda: Member(alias, tally), sock=sock)
    except BaseException:
        sock.close()
        raise
    return member


async def room_of(
    port: int, room: str, count: int, tally: Tally | None = None, *, first: int = 0, batch: int = 50
) -> list[Member]:
    """``count`` members ``m{first}``... joined to ``room``, ``batch`` at a time."""
    members: list[Member] = []
    for start in range(first, first + count, batch):
        group = [await connect(port, f"m{i}", tally) for i in range(start, min(start + batch, first + count))]
        await asyncio.gather(*(member.join(room) for member in group))
        members.extend(group)
    return members

"""Chat relay benchmark: our relay against bare asyncio relays, on loopback, in the same run.

The bare relays have the same framing and nothing else: no JSON, no validation, no rooms, no
state; they copy every frame they read to every other connection. ``bare`` writes each frame as it
reads it, the plain relay issue #4 holds ours to (at least 0.7x its rate). ``bare, batched``
gathers what one read brings into one write per recipient, as our relay does: against it, the
ratio is the cost of our protocol work alone (JSON decoding, validation, state, re-encoding).
Each relay runs alone in a child process, so that it has a core of its own; the members are
asyncio protocols in this process that count bytes during bursts and parse frames only while
latency is measured.

Two figures per room size: throughput, one member sending a burst of messages that every other
member must receive (deliveries per second, best of several runs), and latency, one message at a
time, from the send to each receiver's arrival (p50 and p99 over every delivery). The message is
an opaque body of realistic size: a 3DES envelope with IV, 150 bytes of ciphertext (200 in base64),
MAC and an RSA-2048 signature. Per-suite client crypto cost is a separate section
(``bench.chat_crypto``, run after this one), then protocol v2's costs (``bench.membership``) and a
file transfer between two real clients (``bench.transfer``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import signal
import statistics
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from bench import chat_crypto, membership, transfer
from chat.protocol.limits import Limits
from chat.relay.server import ServerConfig, serve
from ciphers.strict_base64 import encode as b64encode

ROOM_SIZES = (10, 100)
BURST = {10: 30_000, 100: 3_000}  # messages per throughput run (x (members - 1) deliveries)
LATENCY_ROUNDS = {10: 300, 100: 100}
RUNS = 3  # throughput runs per relay, alternating; each keeps its best
TIMEOUT = 60.0  # seconds any one phase may take
TARGET = 0.7  # issue #4: our relay >= 0.7x the bare relay's delivery rate
RELAYS = ("bare", "batched", "ours")
LABELS = {"bare": "bare", "batched": "batched", "ours": "ours"}
NONCE = "AAAAAAAAAAAAAAAAAAAAAA=="  # a join nonce (16 bytes): the relay only carries it


def envelope(counter: int, sent_at: float | None = None) -> dict[str, str]:
    """A 3DES message body as the E2E layer seals it (sizes, not contents, matter here)."""
    rng = os.urandom
    body = {
        "kid": "alice/1",
        "ctr": f"{counter:08d}",  # fixed width: every frame of a burst has the same size
        "iv": b64encode(rng(8)),
        "ct": b64encode(rng(150)),
        "mac": b64encode(rng(32)),
        "sig": b64encode(rng(256)),
    }
    if sent_at is not None:
        body["t"] = repr(sent_at)
    return body


def frame(obj: dict[str, Any]) -> bytes:
    payload = json.dumps(obj, separators=(",", ":")).encode()
    return len(payload).to_bytes(4, "big") + payload


def message_frame(counter: int, sent_at: float | None = None) -> bytes:
    return frame({"type": "message", "v": 2, "body": envelope(counter, sent_at)})


# --- the relays, each in a child process --------------------------------------------------------


async def bare_relay(ready: Callable[[int], None], stop: asyncio.Event) -> None:
    """Same framing, no validation, no crypto: every frame read goes to every other connection."""
    writers: set[asyncio.StreamWriter] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.add(writer)
        buffer = b""
        try:
            while data := await reader.read(64 * 1024):
                buffer += data
                start = 0
                while len(buffer) - start >= 4:
                    end = start + 4 + int.from_bytes(buffer[start : start + 4], "big")
                    if end > len(buffer):
                        break
                    frame = buffer[start:end]
                    for other in writers:
                        if other is not writer and not other.transport.is_closing():
                            other.write(frame)
                    start = end
                buffer = buffer[start:]
        except ConnectionError:
            pass
        finally:
            writers.discard(writer)
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    ready(server.sockets[0].getsockname()[1])
    await stop.wait()
    server.close()


async def our_relay(ready: Callable[[int], None], stop: asyncio.Event) -> None:
    """The relay as ``python -m chat server --quiet`` runs it, without the console and the admission
    (the members hold no keys: each join's proof goes unchecked, as in the relay's own tests)."""
    largest = max(ROOM_SIZES)
    config = ServerConfig(
        port=0, limits=Limits.for_members(largest), idle_timeout=None, max_per_address=largest + 1
    )
    server = await serve(config)
    ready(server.port)
    await stop.wait()
    await server.close()


async def batched_relay(ready: Callable[[int], None], stop: asyncio.Event) -> None:
    """The bare relay, gathering the frames of one read into one write per recipient."""
    writers: set[asyncio.StreamWriter] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.add(writer)
        buffer = b""
        try:
            while data := await reader.read(64 * 1024):
                buffer += data
                start = 0
                frames = []
                while len(buffer) - start >= 4:
                    end = start + 4 + int.from_bytes(buffer[start : start + 4], "big")
                    if end > len(buffer):
                        break
                    frames.append(buffer[start:end])
                    start = end
                buffer = buffer[start:]
                if frames:
                    batch = b"".join(frames)
                    for other in writers:
                        if other is not writer and not other.transport.is_closing():
                            other.write(batch)
        except ConnectionError:
            pass
        finally:
            writers.discard(writer)
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    ready(server.sockets[0].getsockname()[1])
    await stop.wait()
    server.close()


RELAY_MAINS: dict[str, Callable[[Callable[[int], None], asyncio.Event], Coroutine[Any, Any, None]]] = {
    "bare": bare_relay,
    "batched": batched_relay,
    "ours": our_relay,
}


def relay_process(kind: str, pipe: Pipe) -> None:
    """Child process: run one relay until SIGTERM, after sending its port through ``pipe``."""
    logging.getLogger("asyncio").setLevel(logging.ERROR)  # members hanging up mid-write are expected

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await RELAY_MAINS[kind](pipe.send, stop)

    asyncio.run(main())


class RelayProcess:
    """A relay in a child process, for a ``with`` block."""

    def __init__(self, kind: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._parent, child = context.Pipe()
        self.process = context.Process(target=relay_process, args=(kind, child), daemon=True)
        self.port = 0

    def __enter__(self) -> RelayProcess:
        self.process.start()
        if not self._parent.poll(TIMEOUT):
            raise RuntimeError("the relay did not start")
        self.port = self._parent.recv()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.process.terminate()
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(10)


# --- the members ----------------------------------------------------------------------------------


class Member(asyncio.Protocol):
    """One room member. While ``timing`` it parses frames (send times, types); otherwise it counts
    bytes only, so that the members cost this process as little as possible during bursts.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.received = 0  # bytes
        self.frame_size = 0  # of the last message frame parsed: every burst frame has this size
        self.messages = 0  # message frames parsed
        self.timing = False
        self.latencies: list[float] = []
        self.types: list[str] = []
        self.target = 0
        self.waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        if self.timing:
            self._parse(data)
        waiter = self.waiter
        arrived = self.messages if self.timing else self.received
        if waiter is not None and not waiter.done() and arrived >= self.target:
            waiter.set_result(None)

    def _parse(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        start, size = 0, len(buffer)
        while size - start >= 4:
            end = start + 4 + int.from_bytes(buffer[start : start + 4], "big")
            if end > size:
                break
            obj = json.loads(buffer[start + 4 : end])
            self.types.append(obj.get("type", ""))
            if obj.get("type") == "message":
                self.messages += 1
                self.frame_size = end - start
                sent_at = obj["body"].get("t")
                if sent_at is not None:
                    self.latencies.append(time.perf_counter() - float(sent_at))
            start = end
        del buffer[:start]

    def expect(self, frames: int) -> asyncio.Future[None]:
        """A future done when ``frames`` more messages have arrived (counted by bytes unless timing)."""
        self.target = self.messages + frames if self.timing else self.received + frames * self.frame_size
        self.waiter = asyncio.get_running_loop().create_future()
        if frames <= 0:
            self.waiter.set_result(None)
        return self.waiter

    def send(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


async def open_room(kind: str, port: int, members: int) -> list[Member]:
    """Connect ``members`` members; on our relay they join one room. Returns them, quiet."""
    loop = asyncio.get_running_loop()
    room: list[Member] = []
    for i in range(members):
        _, member = await loop.create_connection(Member, "127.0.0.1", port)
        member.timing = True
        if kind == "ours":
            join = {"type": "join", "v": 2, "alias": f"m{i}", "room": "bench", "identity": {}, "nonce": NONCE}
            member.send(frame(join) + frame({"type": "prove", "v": 2, "signature": "AA=="}))
            for _ in range(int(TIMEOUT * 100)):
                if "welcome" in member.types:
                    break
                await asyncio.sleep(0.01)
            else:
                raise RuntimeError("no welcome")
        room.append(member)
    # Every member must be known to the relay before timing starts: one message reaches all.
    sender, receivers = room[0], room[1:]
    for attempt in range(100):
        if all("message" in m.types for m in receivers):
            break
        sender.send(message_frame(-attempt))
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError("not every member received the synchronising message")
    await asyncio.sleep(0.1)
    for member in room:
        member.timing = False
        member.buffer.clear()
        member.latencies.clear()
    return room


def close_room(room: list[Member]) -> None:
    for member in room:
        if member.transport is not None:
            member.transport.close()


async def burst(room: list[Member], count: int) -> float:
    """Seconds for ``count`` messages from the first member to reach every other member."""
    sender, receivers = room[0], room[1:]
    done = [m.expect(count) for m in receivers]
    data = b"".join(message_frame(i) for i in range(min(count, 50)))
    frames_per_chunk = min(count, 50)
    start = time.perf_counter()
    for sent in range(0, count, frames_per_chunk):
        sender.send(data if count - sent >= frames_per_chunk else data[: _prefix(data, count - sent)])
    await asyncio.wait_for(asyncio.gather(*done), TIMEOUT)
    return time.perf_counter() - start


def _prefix(data: bytes, frames: int) -> int:
    """The length of the first ``frames`` frames of ``data``."""
    end = 0
    for _ in range(frames):
        end += 4 + int.from_bytes(data[end : end + 4], "big")
    return end


async def latencies(room: list[Member], rounds: int) -> list[float]:
    """Per-delivery latencies, one message in flight at a time."""
    sender, receivers = room[0], room[1:]
    for member in receivers:
        member.timing = True
    for i in range(rounds):
        done = [m.expect(1) for m in receivers]
        sender.send(message_frame(i, time.perf_counter()))
        await asyncio.wait_for(asyncio.gather(*done), TIMEOUT)
    out = [t for m in receivers for t in m.latencies]
    for member in receivers:
        member.timing = False
        member.latencies.clear()
    return out


@dataclass
class Figures:
    """What one relay achieved with one room size."""

    best_seconds: float = float("inf")
    messages: int = 0
    deliveries: int = 0
    p50: float = 0.0
    p99: float = 0.0

    @property
    def rate(self) -> float:
        return self.deliveries / self.best_seconds


async def measure(kind: str, port: int, members: int, figures: Figures, timing_latency: bool) -> None:
    room = await open_room(kind, port, members)
    try:
        await burst(room, BURST[members] // 10)  # warm-up
        seconds = await burst(room, BURST[members])
        figures.messages = BURST[members]
        figures.deliveries = BURST[members] * (members - 1)
        figures.best_seconds = min(figures.best_seconds, seconds)
        if timing_latency:
            samples = sorted(await latencies(room, LATENCY_ROUNDS[members]))
            figures.p50 = statistics.median(samples)
            figures.p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    finally:
        close_room(room)


def relay_figures(console: Console) -> dict[tuple[int, str], Figures]:
    """Throughput and latency of each relay for each room size."""
    results = {(members, kind): Figures() for members in ROOM_SIZES for kind in RELAYS}
    relays = {kind: RelayProcess(kind) for kind in RELAYS}
    for relay in relays.values():
        relay.__enter__()
    try:
        for members in ROOM_SIZES:
            for run in range(RUNS):
                for kind in RELAYS:
                    console.log(f"{kind} relay, {members} members, run {run + 1}/{RUNS}")
                    asyncio.run(measure(kind, relays[kind].port, members, results[members, kind], run == 0))
    finally:
        for relay in relays.values():
            relay.__exit__()
    return results


def _count(rate: float) -> str:
    return f"{rate / 1e6:.2f}M" if rate >= 1e6 else f"{rate / 1e3:.1f}k"


def relay_table(results: dict[tuple[int, str], Figures]) -> Table:
    table = Table(title="Relay on loopback: one sender, every other member receives", box=box.SIMPLE_HEAD)
    for column in ("members", "relay", "delivered/s", "msgs/s", "p50 ms", "p99 ms", "vs bare", "vs batched"):
        table.add_column(column, justify="left" if column == "relay" else "right")
    for members in ROOM_SIZES:
        bare, batched = results[members, "bare"], results[members, "batched"]
        for kind in RELAYS:
            figures = results[members, kind]
            table.add_row(
                str(members),
                LABELS[kind],
                _count(figures.rate),
                _count(figures.messages / figures.best_seconds),
                f"{figures.p50 * 1e3:.2f}",
                f"{figures.p99 * 1e3:.2f}",
                f"{figures.rate / bare.rate:.2f}x",
                f"{figures.rate / batched.rate:.2f}x",
                end_section=kind == RELAYS[-1],
            )
    return table


def run(console: Console) -> None:
    """Print the relay table, the verdict on the 0.7x target, then any per-suite section."""
    results = relay_figures(console)
    console.print(relay_table(results))
    bursts = " or ".join(f"{BURST[n]:,} ({n} members)" for n in ROOM_SIZES)
    console.print(
        f"Throughput: best of {RUNS} bursts of {bursts} messages; latency: one message at a time, p50/p99 "
        f"over every delivery. Each message is a {len(message_frame(0))}-byte frame holding a 3DES "
        "envelope (IV, 200-character ciphertext, MAC, RSA-2048 signature)."
    )
    console.print(
        "bare: writes each frame as it reads it; batched: the same, with one write per recipient per read "
        "as ours does; ours: chat.relay.server as `python -m chat server --quiet` runs it."
    )
    console.print("Target (issue #4: ours at least 0.7x the bare relay):")
    for members in ROOM_SIZES:
        ours = results[members, "ours"].rate
        ratio = ours / results[members, "bare"].rate
        verdict = "[green]met[/]" if ratio >= TARGET else "[red]missed[/]"
        batched = ours / results[members, "batched"].rate
        console.print(
            f"  {members} members: {ratio:.2f}x the bare relay {verdict}; "
            f"{batched:.2f}x the batched bare relay (the cost of our protocol work at equal I/O)"
        )
    chat_crypto.run(console)
    membership.run(console)
    transfer.run(console)

"""The relay's load and fault harness: bounded scenarios that print figures and check their goals.

``python -m bench.relay_load`` runs every scenario at full size (``make soak``: several minutes);
``--short`` runs the short version that ``make test`` runs (seconds); naming scenarios runs those
only (``python -m bench.relay_load --short burst storm``). Each scenario starts its own relay as
``python -m chat server`` in a child process, so its memory (RSS) and CPU are the relay's alone,
drives it with the raw clients of :mod:`bench.relay_wire` (no client crypto: this measures the
relay, not the clients) and requires the relay's stderr to hold no traceback. The load average
is printed beside every figure: the machine is shared.

===========  ===========================================================================================
scenario     what it does, and its goal
===========  ===========================================================================================
held         clients join rooms of 500 with default flags until the relay refuses one: at least 1,000
burst        one room, every member sends its messages paced: 0 lost, duplicated or reordered; p99
fullspeed    64 members send as fast as the relay takes it, a CPU hog beside it, 10 runs: 0 lost
stalled      1, then 30, members stop reading while the others chat: their p99 rises by at most
             50 ms, and the stalled get their ``slow_reader`` error
slowloris    1,000 connections from 127.0.0.2 drip unfinished frames, then 200 hold 1 MiB frames
             unfinished: a client on 127.0.0.1 joins within 1 s throughout; memory bounded
storm        abrupt disconnects of six kinds beside a stable room: it loses nothing; RSS back near
             its baseline after
fuzz         malformed frames on several connections beside a control room: no crash, one error
             frame each, the control room served
shutdown     SIGTERM with clients, slow readers among them: every reader gets ``shutdown``; exit 0
             within 3 s
===========  ===========================================================================================
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from rich import box
from rich.console import Console
from rich.table import Table

from bench.relay_wire import (
    TIMEOUT,
    Member,
    Relay,
    Tally,
    connect,
    frame,
    join_frame,
    message_frame,
    ping_frame,
    room_of,
)
from chat.relay.server import raise_open_file_limit

MB = 1_000_000
BURST_GROUP = 10  # messages sent together in the paced burst (from as many members)
LOOPBACK = ("--max-per-address", "10000")  # every client of the harness comes from 127.0.0.1


@dataclass
class Outcome:
    """One scenario's figures, in words, and whether its goal was met."""

    name: str
    goal: str
    figures: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    load: float = 0.0
    seconds: float = 0.0

    def add(self, text: str) -> None:
        self.figures.append(text)

    def require(self, condition: bool, failure: str) -> None:
        if not condition:
            self.problems.append(failure)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Size:
    """The scale of every scenario: :data:`FULL` for ``make soak``, :data:`SHORT` inside ``make test``."""

    held: int  # clients that join (up to the relay's limit)
    held_limit: int | None  # --max-connections for `held` (None: the default)
    burst_members: int
    burst_messages: int
    burst_rate: float  # messages per second, the whole room
    fast_members: int
    fast_messages: int
    fast_runs: int
    fast_hog: bool
    stall_room: int
    stall_counts: tuple[int, ...]
    stall_rate: float
    stall_phase: float  # seconds of each phase
    stall_flags: tuple[str, ...]
    loris: int
    loris_seconds: float
    loris_flags: tuple[str, ...]
    partial_frames: int
    storm_seconds: float
    storm_room: int
    fuzz_frames: int
    shutdown_clients: int
    shutdown_slow: int


FULL = Size(
    held=2100,
    held_limit=None,
    burst_members=500,
    burst_messages=20,
    burst_rate=200.0,
    fast_members=64,
    fast_messages=200,
    fast_runs=10,
    fast_hog=True,
    stall_room=100,
    stall_counts=(1, 30),
    stall_rate=100.0,
    stall_phase=10.0,
    stall_flags=(),
    loris=1000,
    loris_seconds=60.0,
    loris_flags=(),
    partial_frames=200,
    storm_seconds=120.0,
    storm_room=20,
    fuzz_frames=50_000,
    shutdown_clients=1000,
    shutdown_slow=50,
)

SHORT = Size(
    held=210,
    held_limit=200,
    burst_members=40,
    burst_messages=5,
    burst_rate=200.0,
    fast_members=12,
    fast_messages=40,
    fast_runs=1,
    fast_hog=False,
    stall_room=12,
    stall_counts=(1, 3),
    stall_rate=200.0,
    stall_phase=0.8,
    stall_flags=("--stall-timeout", "0.3", "--queue-bytes", "256K"),
    loris=50,
    loris_seconds=1.5,
    loris_flags=("--join-timeout", "0.5", "--frame-timeout", "0.5", "--max-unfinished", "4M"),
    partial_frames=12,
    storm_seconds=1.5,
    storm_room=6,
    fuzz_frames=1000,
    shutdown_clients=60,
    shutdown_slow=4,
)


def load() -> float:
    """The one-minute load average (0 where the system does not say)."""
    with contextlib.suppress(OSError, AttributeError):
        return os.getloadavg()[0]
    return 0.0


async def settled_rss(relay: Relay) -> int:
    """The relay's RSS once it has handled what came before: after a ping round trip, and the
    least of three readings over a second (the machine is shared: it may be slow to get there)."""
    await asyncio.sleep(0.5)
    probe = await connect(relay.port, "probe")
    await probe.sync()
    probe.close()
    readings = []
    for _ in range(3):
        await asyncio.sleep(0.5)
        readings.append(relay.rss)
    return min(readings)


async def close_all(members: list[Member]) -> None:
    for member in members:
        member.close()
    await asyncio.sleep(0)


# --- the scenarios ------------------------------------------------------------------------------


async def held(size: Size, out: Outcome) -> Relay:
    """Clients join rooms of 500 until the relay refuses one with ``server_full``."""
    flags = LOOPBACK if size.held_limit is None else (*LOOPBACK, "--max-connections", str(size.held_limit))
    relay = Relay(*flags)
    baseline = relay.rss
    members: list[Member] = []
    refused_at = None
    try:
        for i in range(size.held):
            member = await connect(relay.port, f"m{i}")
            try:
                await member.join(f"hall{i // 500}", timeout=10)
            except EOFError:
                refused = member.last or {}
                out.require(refused.get("code") == "server_full", f"client {i + 1} got {refused}")
                refused_at = i + 1
                member.close()
                break
            members.append(member)
        joined = len(members)
        await members[-1].sync()
        rss = relay.rss
        per = (rss - baseline) / max(joined, 1)
        out.add(f"{joined} joined, the relay refused client {refused_at} with server_full")
        out.add(f"RSS {baseline / MB:.1f} -> {rss / MB:.1f} MB: {per / 1000:.1f} KB per member")
        limit = size.held_limit or 1000
        out.require(joined >= limit, f"only {joined} joined")
        if size.held_limit is not None:
            out.require(
                refused_at == size.held_limit + 1, f"refused at {refused_at}, not {size.held_limit + 1}"
            )
    finally:
        await close_all(members)
    return relay


async def burst(size: Size, out: Outcome) -> Relay:
    """One room; every member sends its messages, paced across the room; every other member counts."""
    relay = Relay(*LOOPBACK)
    n, per = size.burst_members, size.burst_messages
    tally = Tally(n, per)
    members = await room_of(relay.port, "lecture", n, tally)
    rss = relay.rss
    cpu = relay.cpu
    start = time.monotonic()
    for k in range(n * per):
        sender, seq = k % n, k // n
        members[sender].write(message_frame(sender, seq))
        if k % BURST_GROUP == BURST_GROUP - 1:  # ten senders at once, every 1/20 s at 200/s
            delay = start + (k + 1) / size.burst_rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
    for member in members:
        await member.sync(timeout=60)
    elapsed = time.monotonic() - start
    cpu = relay.cpu - cpu
    expected = n * per * (n - 1)
    delivered = len(tally.latencies)
    lost = expected - delivered
    out.add(
        f"{n} members x {per} messages at {size.burst_rate:g}/s ({BURST_GROUP} at a time): "
        f"{expected} deliveries in {elapsed:.1f} s"
    )
    out.add(f"lost {lost}, duplicated {tally.duplicates}, reordered {tally.reordered}")
    out.add(
        f"latency p50 {tally.percentile(0.5) * 1000:.1f} ms, p99 {tally.percentile(0.99) * 1000:.1f} ms, "
        f"max {max(tally.latencies, default=0) * 1000:.1f} ms"
    )
    out.add(f"relay CPU {cpu:.1f} s: {delivered / max(cpu, 1e-9) / 1000:.0f}k deliveries per CPU second")
    out.add(f"RSS with the room joined {rss / MB:.1f} MB, after {relay.rss / MB:.1f} MB")
    out.require(lost == 0 and tally.duplicates == 0 and tally.reordered == 0, "messages lost or out of order")
    out.require(tally.unexpected == 0, f"{tally.unexpected} unexpected messages")
    await close_all(members)
    return relay


async def _full_speed_run(port: int, size: Size, run: int) -> tuple[int, int, float]:
    n, per = size.fast_members, size.fast_messages
    tally = Tally(n, per)
    members = await room_of(port, f"fast{run}", n, tally)

    async def send_all(index: int) -> None:
        member = members[index]
        assert member.transport is not None
        for seq in range(per):
            member.write(message_frame(index, seq))
            if member.transport.get_write_buffer_size() > 64 * 1024:
                await asyncio.sleep(0.001)
            elif seq % 8 == 7:
                await asyncio.sleep(0)
        await member.sync(timeout=120)

    start = time.monotonic()
    await asyncio.gather(*(send_all(i) for i in range(n)))
    for member in members:
        await member.sync(timeout=120)
    elapsed = time.monotonic() - start
    cut = sum(1 for m in members if m.kinds["error"] or m.closed.is_set())
    lost = n * per * (n - 1) - len(tally.latencies)
    await close_all(members)
    return lost, cut, elapsed


async def fullspeed(size: Size, out: Outcome) -> Relay:
    """Members all send as fast as the relay takes it, and all read; a CPU hog runs beside them."""
    relay = Relay(*LOOPBACK)
    hog = None
    if size.fast_hog:
        spin = "import time\nend = time.monotonic() + 600\nwhile time.monotonic() < end: pass\n"
        hog = subprocess.Popen([sys.executable, "-c", spin])
    try:
        results = [await _full_speed_run(relay.port, size, run) for run in range(size.fast_runs)]
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    deliveries = size.fast_members * size.fast_messages * (size.fast_members - 1)
    lost = [r[0] for r in results]
    rates = [deliveries / r[2] / 1000 for r in results]
    hogged = " beside a CPU hog" if hog else ""
    out.add(
        f"{size.fast_members} members x {size.fast_messages} messages at full speed{hogged}, "
        f"{len(results)} runs"
    )
    out.add(f"lost per run {lost}; members cut {[r[1] for r in results]}")
    out.add(f"{min(rates):.0f}k to {max(rates):.0f}k deliveries/s")
    out.require(all(r[0] == 0 and r[1] == 0 for r in results), "messages lost to members that kept reading")
    return relay


async def _chat(
    members: list[Member], senders: list[int], rate: float, seconds: float, first_seq: int, long: bool = False
) -> int:
    """Members at ``senders`` take turns sending at ``rate`` for ``seconds``; the next free number."""
    start = time.monotonic()
    seq = first_seq
    k = 0
    while time.monotonic() - start < seconds:
        for index in senders:
            members[index].write(message_frame(index, seq, long=long))
            k += 1
            delay = start + k / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        seq += 1
    return seq


async def stalled(size: Size, out: Outcome) -> Relay:
    """Baseline chat, then 1 (and 30) members stop reading; the others' latency is measured."""
    relay = Relay(*LOOPBACK, *size.stall_flags)
    n = size.stall_room
    results = []
    for count in size.stall_counts:
        rounds = int((2 * size.stall_phase + TIMEOUT) * size.stall_rate / (n - count)) + 10
        tally = Tally(n, rounds)
        members: list[Member] = []
        for i in range(n):
            small = 4096 if i < count else None
            members.append(await connect(relay.port, f"m{i}", tally, receive_buffer=small))
        await asyncio.gather(*(m.join(f"stall{count}") for m in members))
        for member in members:
            await member.sync()
        active = list(range(count, n))
        seq = await _chat(members, active, size.stall_rate, size.stall_phase, 0, True)
        for index in active:
            await members[index].sync()
        baseline = tally.percentile(0.99)
        tally.latencies = type(tally.latencies)("d")
        for index in range(count):
            members[index].stop_reading()
        seq = await _chat(members, active, size.stall_rate, size.stall_phase, seq, True)
        for index in active:
            await members[index].sync()
        stalled_p99 = tally.percentile(0.99)
        watcher = members[-1]
        deadline = time.monotonic() + TIMEOUT
        while watcher.left["slow_reader"] < count and time.monotonic() < deadline:
            seq = await _chat(members, active, size.stall_rate, 0.2, seq, True)  # fill their queues
        for index in range(count):
            members[index].start_reading()  # read what waits: the error must come before the end
        for index in range(count):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(members[index].closed.wait(), TIMEOUT)
        got_error = sum(1 for i in range(count) if (members[i].last or {}).get("code") == "slow_reader")
        results.append((count, baseline, stalled_p99, got_error))
        out.add(
            f"{count} of {n} stop reading: others' p99 {baseline * 1000:.1f} -> {stalled_p99 * 1000:.1f} ms; "
            f"{got_error}/{count} got slow_reader last, before the end"
        )
        out.require(stalled_p99 - baseline <= 0.050, f"p99 rose by {(stalled_p99 - baseline) * 1000:.0f} ms")
        out.require(got_error == count, f"only {got_error} of {count} stalled members got their error")
        await close_all(members)
    return relay


async def _drip_and_join(relay: Relay, size: Size, legitimate_source: str) -> tuple[list[float], int]:
    """``size.loris`` drippers from 127.0.0.2 (back a second after each cut), a join every 0.25 s."""
    stop = time.monotonic() + size.loris_seconds
    cut = 0

    async def drip(i: int) -> None:
        nonlocal cut
        while time.monotonic() < stop:
            try:
                member = await connect(relay.port, f"loris{i}", source="127.0.0.2")
            except OSError:
                await asyncio.sleep(1.0)
                continue
            member.write((1024 * 1024).to_bytes(4, "big"))  # a 1 MiB frame, one byte a second
            while time.monotonic() < stop and not member.closed.is_set():
                member.write(b" ")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(member.closed.wait(), 1.0)
            if member.closed.is_set():
                cut += 1
                await asyncio.sleep(1.0)
            member.close()

    drippers = [asyncio.ensure_future(drip(i)) for i in range(size.loris)]
    await asyncio.sleep(min(2.0, size.loris_seconds / 4))  # let the drippers settle in
    times = []
    k = 0
    while time.monotonic() < stop:
        begin = time.monotonic()
        member = await connect(relay.port, f"student{k}", source=legitimate_source)
        await member.join("lecture", timeout=10)
        times.append(time.monotonic() - begin)
        member.close()
        k += 1
        await asyncio.sleep(0.25)
    await asyncio.gather(*drippers)
    return times, cut


async def slowloris(size: Size, out: Outcome) -> Relay:
    """Drippers from 127.0.0.2 hold unfinished frames while a legitimate client keeps joining: with
    the default flags (it joins from 127.0.0.1), then as behind one NAT (the cap per address raised,
    the server full of drippers, and it joins from their address); then unfinished 1 MiB frames."""
    relay = Relay(*size.loris_flags)
    times, cut = await _drip_and_join(relay, size, "127.0.0.1")
    out.add(
        f"default flags, {size.loris} drippers on 127.0.0.2 for {size.loris_seconds:g} s ({cut} cut or "
        f"refused): {len(times)} joins from 127.0.0.1, slowest {max(times, default=0) * 1000:.0f} ms"
    )
    out.require(bool(times) and max(times) < 1.0, "a legitimate join took 1 s or more")
    check_relay(relay, out)
    full = ("--max-per-address", "100000", "--max-connections", str(size.loris))
    relay = Relay(*full, *size.loris_flags)
    baseline = relay.rss
    times, cut = await _drip_and_join(relay, size, "127.0.0.2")
    during = relay.rss
    out.add(
        f"one NAT, server full ({size.loris} connections): {cut} drippers cut or evicted; "
        f"{len(times)} joins from their address, slowest {max(times, default=0) * 1000:.0f} ms"
    )
    out.require(bool(times) and max(times) < 1.0, "a legitimate join took 1 s or more")

    holders: list[Member] = []
    for i in range(size.partial_frames):
        member = await connect(relay.port, f"holder{i}", source="127.0.0.2")
        member.write((1024 * 1024).to_bytes(4, "big") + b" " * (1024 * 1024 - 1))
        holders.append(member)
    await asyncio.sleep(0.5)
    peak = relay.rss
    held_cut = sum(1 for m in holders if m.closed.is_set())
    member = await connect(relay.port, "after")
    begin = time.monotonic()
    await member.join("lecture", timeout=10)
    late_join = time.monotonic() - begin
    member.close()
    await close_all(holders)
    after = await settled_rss(relay)
    out.add(
        f"{size.partial_frames} unfinished 1 MiB frames: {held_cut} cut by the bound; join meanwhile "
        f"{late_join * 1000:.0f} ms; RSS {baseline / MB:.0f} -> {during / MB:.0f} (dripping) -> "
        f"{peak / MB:.0f} (holding) -> {after / MB:.0f} MB"
    )
    out.require(late_join < 1.0, "a join beside the unfinished frames took 1 s or more")
    out.require(after - baseline < 20 * MB, "RSS more than 20 MB above its baseline after the frames")
    return relay


STORM_KINDS = ("reset", "mid-frame", "half-close", "after-join", "before-join", "leave-then-close")


async def _storm_once(port: int, kind: str, i: int) -> None:
    member = await connect(port, f"storm{i}")
    if kind == "before-join":
        member.reset()
        return
    if kind == "mid-frame":
        member.write(join_frame(member.alias, "storm")[:50])
        await asyncio.sleep(0.005)
        member.reset()
        return
    await member.join("storm", timeout=10)
    if kind == "reset":
        member.write(message_frame(0, 0))
        member.reset()
    elif kind == "half-close":
        member.write(ping_frame())
        assert member.transport is not None
        member.transport.write_eof()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(member.closed.wait(), 5)
    elif kind == "after-join":
        member.close()
    else:
        member.write(frame({"type": "leave", "v": 2}))
        await member.expect("left", timeout=10)
        member.close()


async def storm(size: Size, out: Outcome) -> Relay:
    """Clients connect and vanish in six ways while a stable room chats; memory is read after."""
    relay = Relay(*LOOPBACK)
    await asyncio.sleep(0.5)
    baseline = relay.rss
    n = size.storm_room
    rounds = int(size.storm_seconds * 20)
    tally = Tally(n, rounds + 1)
    stable = await room_of(relay.port, "stable", n, tally, batch=n)
    stop = time.monotonic() + size.storm_seconds
    counts = dict.fromkeys(STORM_KINDS, 0)

    async def churn(worker: int) -> None:
        i = worker
        while time.monotonic() < stop:
            kind = STORM_KINDS[i % len(STORM_KINDS)]
            with contextlib.suppress(OSError, EOFError, TimeoutError):
                await _storm_once(relay.port, kind, i)
                counts[kind] += 1
            i += 8

    workers = [asyncio.ensure_future(churn(w)) for w in range(8)]
    seq = 0
    start = time.monotonic()
    while time.monotonic() < stop and seq < rounds:
        for index in range(n):
            stable[index].write(message_frame(index, seq))
        seq += 1
        await asyncio.sleep(max(start + seq / 20 - time.monotonic(), 0))
    await asyncio.gather(*workers)
    for member in stable:
        await member.sync()
    expected = seq * n * (n - 1)
    lost = expected - len(tally.latencies)
    await close_all(stable)
    after = await settled_rss(relay)
    out.add(
        f"{sum(counts.values())} connections over {size.storm_seconds:g} s: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    out.add(f"stable room of {n}: lost {lost}, duplicated {tally.duplicates}, reordered {tally.reordered}")
    out.add(
        f"RSS {baseline / MB:.1f} MB before, {after / MB:.1f} MB after ({(after - baseline) / MB:+.1f} MB)"
    )
    out.require(lost == 0 and tally.duplicates == 0 and tally.reordered == 0, "the stable room lost messages")
    out.require(after - baseline < 20 * MB, "RSS more than 20 MB above its baseline")
    return relay


def fuzzed_frame(rng: random.Random) -> bytes:
    """A frame the relay must refuse, whole (so the connection stays in step): one error frame each."""
    choice = rng.randrange(8)
    if choice == 0:
        return b"\x00\x00\x00\x00"  # empty
    if choice == 1:
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
        return len(junk).to_bytes(4, "big") + junk.replace(b"{", b"(")  # not JSON (or not an object)
    base: dict[str, object] = rng.choice(
        [
            {"type": "message", "v": 2, "body": {"ct": "AAAA"}},
            {
                "type": "key_bundle",
                "v": 2,
                "key_id": "x/1",
                "body": {},
                "payloads": {"nobody": {"w": "AA=="}},
            },
            {"type": "join", "v": 2, "alias": "fuzz", "room": "r", "identity": {}, "nonce": "A" * 22 + "=="},
            {"type": "leave", "v": 2},
        ]
    )
    obj = dict(base)
    if choice == 2:
        obj["v"] = rng.choice([0, 1, "2", None, 2.0])
    elif choice == 3:
        obj["type"] = rng.choice(["hello", "", "welcome", "pong", 7])
    elif choice == 4:
        obj[rng.choice(["extra", "from", "payload"])] = rng.choice([1, "x", [], {}])
    elif choice == 5:
        obj["alias" if "alias" in obj else "body"] = rng.choice(["bad alias", "", 5, {"k": 1}, "x" * 40])
    elif choice == 6:
        del obj["type"]
    else:
        obj["body"] = {"ct": "\ud800"}
    if obj.get("type") == "join" and choice in (4, 6):
        obj["type"] = "message"
    data = json.dumps(obj).encode()
    if data == json.dumps(base).encode():
        data = b"[]"
    return len(data).to_bytes(4, "big") + data


async def fuzz(size: Size, out: Outcome) -> Relay:
    """Malformed frames on eight connections in and out of a room, while a control room talks."""
    relay = Relay(*LOOPBACK, "--join-timeout", "0")  # the fuzzers out of a room stay out
    rng = random.Random(12)
    control_tally = Tally(2, size.fuzz_frames // 100 + 1)
    control = await room_of(relay.port, "control", 2, control_tally)
    fuzzers = [await connect(relay.port, f"fuzz{i}") for i in range(8)]
    for i, fuzzer in enumerate(fuzzers[:4]):
        await fuzzer.join(f"fuzzroom{i}")  # half in a room, half not
    for fuzzer in fuzzers:
        fuzzer.keep = lambda obj: obj["type"] in ("pong", "welcome", "left")
    sent = [0] * len(fuzzers)
    for k in range(size.fuzz_frames):
        i = k % len(fuzzers)
        data = fuzzed_frame(rng)
        fuzzers[i].write(data)
        sent[i] += 1
        if k % 100 == 0:
            control[0].write(message_frame(0, k // 100))
            await asyncio.sleep(0)
    for fuzzer in fuzzers:
        await fuzzer.sync(timeout=60)
    await control[1].sync()
    errors = [f.kinds["error"] for f in fuzzers]
    control_lost = (size.fuzz_frames + 99) // 100 - len(control_tally.latencies)
    out.add(f"{size.fuzz_frames} malformed frames: {sum(errors)} error frames")
    out.add(f"control room alongside: lost {control_lost}")
    out.require(errors == sent, f"error frames {errors} for frames sent {sent}")
    out.require(relay.process.poll() is None, "the relay exited")
    out.require(control_lost == 0, "the control room lost messages")
    await close_all(control + fuzzers)
    return relay


async def shutdown(size: Size, out: Outcome) -> Relay:
    """SIGTERM with clients connected, some of them not reading with a backlog waiting."""
    relay = Relay(*LOOPBACK)
    n = size.shutdown_clients
    members: list[Member] = []
    for start in range(0, n, 500):
        group = []
        for i in range(start, min(start + 500, n)):
            small = 4096 if i < size.shutdown_slow else None
            group.append(await connect(relay.port, f"m{i}", receive_buffer=small))
        await asyncio.gather(*(m.join(f"hall{start // 500}") for m in group))
        members.extend(group)
    slow = members[: size.shutdown_slow]
    for member in slow:
        member.stop_reading()
    talker = members[-1]
    for seq in range(200):
        talker.write(message_frame(n - 1, seq))
    await talker.sync()
    loop = asyncio.get_running_loop()
    begin = time.monotonic()
    status_future = loop.run_in_executor(None, relay.stop)
    await asyncio.sleep(0.2)
    for member in slow:
        member.start_reading()
    status = await status_future
    seconds = time.monotonic() - begin
    for member in members:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(member.closed.wait(), 5)
    told = sum(1 for m in members if (m.last or {}).get("type") == "shutdown")
    out.add(
        f"{n} clients, {len(slow)} not reading: {told}/{n} got shutdown; exit {status} after {seconds:.2f} s"
    )
    out.require(told == n, f"{n - told} clients did not get shutdown")
    out.require(status == 0 and seconds < 3.0, f"exit {status} after {seconds:.1f} s")
    await close_all(members)
    return relay


SCENARIOS: dict[str, tuple[str, Callable[[Size, Outcome], Awaitable[Relay]]]] = {
    "held": ("joined clients held, default flags: at least 1,000", held),
    "burst": ("one room, paced: 0 lost, 0 duplicated, 0 reordered", burst),
    "fullspeed": ("full speed beside a CPU hog: 0 lost to members that keep reading", fullspeed),
    "stalled": ("members stop reading: others' p99 +50 ms at most; the stalled get their error", stalled),
    "slowloris": ("slowloris from one address: a legitimate client joins within 1 s", slowloris),
    "storm": ("abrupt disconnects beside a stable room: nothing lost; RSS within 20 MB", storm),
    "fuzz": ("malformed frames: no crash, one error each, control room served", fuzz),
    "shutdown": ("SIGTERM: every reader gets shutdown, exit 0 within 3 s", shutdown),
}


def check_relay(relay: Relay, out: Outcome) -> None:
    """Stop ``relay`` (SIGTERM): it must exit 0 with no traceback on its stderr."""
    status = relay.stop()
    out.require(status == 0, f"the relay exited with status {status}")
    out.problems.extend(f"relay stderr: {line}" for line in relay.problems()[:5])
    relay.cleanup()


async def run_scenario(name: str, size: Size) -> Outcome:
    goal, scenario = SCENARIOS[name]
    out = Outcome(name, goal, load=load())
    begin = time.monotonic()
    relay: Relay | None = None
    try:
        relay = await asyncio.wait_for(scenario(size, out), 900)
    except (TimeoutError, OSError, EOFError, RuntimeError, AssertionError) as exc:
        out.problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        if relay is not None:
            check_relay(relay, out)
    out.seconds = time.monotonic() - begin
    out.load = max(out.load, load())
    gc.collect()
    return out


def run(names: list[str], size: Size) -> list[Outcome]:
    """Run the named scenarios in order, each bounded; their outcomes."""
    raise_open_file_limit(8192)

    async def main() -> list[Outcome]:
        return [await run_scenario(name, size) for name in names]

    return asyncio.run(main())


def show(outcomes: list[Outcome], console: Console) -> None:
    table = Table(box=box.SIMPLE_HEAD, show_lines=False)
    for column in ("scenario", "figures", "load", "goal"):
        table.add_column(column)
    for outcome in outcomes:
        verdict = "[green]met[/]" if outcome.ok else "[red]NOT MET[/]\n" + "\n".join(outcome.problems)
        table.add_row(
            f"{outcome.name}\n({outcome.seconds:.0f} s)",
            "\n".join(outcome.figures),
            f"{outcome.load:.2f}",
            verdict,
        )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.relay_load", description=__doc__.split("\n")[0])
    parser.add_argument(
        "scenarios", nargs="*", help=f"scenarios to run: {', '.join(SCENARIOS)} (default: all)"
    )
    parser.add_argument("--short", action="store_true", help="the short version make test runs")
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    names = args.scenarios or list(SCENARIOS)
    outcomes = run(names, SHORT if args.short else FULL)
    show(outcomes, Console(width=150))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())

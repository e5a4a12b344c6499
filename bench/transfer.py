"""Chat file transfer benchmark: 8 MiB with 3des between two real clients through a real relay.

The relay (``python -m chat server``, :class:`bench.server_process.ServerProcess`) and the
receiving client each run in a child process, so that each side has a core, as two machines would; the sending
client runs here. The figure is the file's size over the time from ``send_file`` to the sender's
result, which comes once the receiver has saved the file and checked its SHA-256.

Three ways of sending, in the same run, to the same receiver code:

* **today's defaults**: :class:`~chat.transfer.manager.TransferManager` as the clients create it,
  whose sender seals batches of :data:`~chat.transfer.chunks.HYBRID_CHUNK`-byte chunks together,
  each chunk its own message under its own key, encrypted side by side on bit slices
  (:func:`ciphers.modes.cbc_encrypt_each_job`), with at most
  :data:`~chat.transfer.outgoing.MAX_IN_FLIGHT` bytes of frames in flight (which bounds the window
  and the batch);
* **one chunk at a time**, as the sender did before: 32 KiB chunks, a window of 4, one chunk sealed
  at a time, so every chunk's CBC encryption runs on the table-driven path (CBC encryption of one
  stream is sequential). Receivers open chunks the same way in both (CBC decryption of a chunk is
  on bit slices either way);
* **2 MiB in flight**: the defaults with the bound of the previous version (before clients read
  ahead of their handlers, :mod:`chat.client.read_ahead`): a window of 161 chunks, sealed as one
  batch, so that the sender seals and the receiver opens in turn, to show what the window buys.

Then two of the ways again with a third member, carol, in a child process of her own: she
refuses the file, but opens every chunk (a hybrid suite's message goes to the whole room), and
sends a line every :data:`TALK_EVERY` seconds; bob reports how long the slowest took to reach him,
which is what the window costs the others' messages at a receiver.

Issue 11's goal is at least 4x the 405 KiB/s the transfer ran at before the bitslice path; both
ratios are printed. Every wait is bounded (:data:`TIMEOUT`).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.server_process import ServerProcess
from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.client.events import TransferEvent, TransferFinished
from chat.e2e.identity import Identity
from chat.protocol.limits import MiB
from chat.transfer import outgoing
from chat.transfer.chunks import HYBRID_CHUNK, hybrid_frame_bytes
from chat.transfer.manager import TransferManager
from chat.transfer.policy import Consent, OfferPolicy

SIZE = 8 << 20
SUITE = "3des"
ROOM = "files"
TIMEOUT = 120.0  # seconds any one transfer, start-up or shutdown may take
BEFORE = 405.0  # KiB/s: the 3des transfer before the bitslice path (issue 11)
GOAL = 4.0
STAMP = "sent at "  # carol's lines: the time she sent each
TALK_EVERY = 0.25  # seconds between carol's lines during a transfer


@dataclass(frozen=True)
class Sending:
    """How the sender sends: chunk size (None: the room's), window, acknowledgement pace, batch."""

    label: str
    chunk_size: int | None = None
    window: int | None = None
    ack_every: int | None = None
    batch: int | None = None
    in_flight: int | None = None  # bytes of frames in flight (None: the clients' own)


DEFAULTS = Sending("today's defaults (batched, bitslice)")
ONE_AT_A_TIME = Sending(
    "one chunk at a time (table-driven)", chunk_size=32 * 1024, window=4, ack_every=2, batch=1
)
SMALL_WINDOW = Sending("2 MiB in flight (window and batch of 161)", in_flight=2 << 20)


# --- the clients' child processes ----------------------------------------------------------------------


def receiver_main(pipe: Pipe, port: int, downloads: str) -> None:
    """Child process: bob joins, accepts every offer and reports each finished transfer's outcome,
    with how long each of carol's lines took to reach him during it (seconds, by the wall clock
    that the processes share)."""

    async def main() -> None:
        finished: asyncio.Queue[TransferFinished] = asyncio.Queue()
        delays: list[float] = []

        def on_event(event: TransferEvent) -> None:
            if isinstance(event, TransferFinished):
                finished.put_nowait(event)

        def on_line(event: ev.ChatEvent) -> None:
            if isinstance(event, ev.MessageReceived) and event.text.startswith(STAMP):
                delays.append(time.time() - float(event.text.removeprefix(STAMP)))

        client = ChatClient("bob", Identity.generate(), ping_interval=None)
        policy = OfferPolicy(Consent.ACCEPT, max_size=4 * SIZE, per_sender=64 * SIZE, total=64 * SIZE)
        manager = TransferManager(client, downloads, policy=policy, on_event=on_event, idle_timeout=TIMEOUT)
        async with asyncio.timeout(TIMEOUT):
            await client.connect("127.0.0.1", port)
            events = asyncio.ensure_future(_pump(client, manager, on_line))
            await client.join(ROOM, SUITE)
        pipe.send("joined")
        while pipe.poll(TIMEOUT) and pipe.recv() == "expect":
            delays.clear()
            async with asyncio.timeout(TIMEOUT):
                result = await finished.get()
            pipe.send((result.ok, result.reason, list(delays)))
        await manager.close()
        await client.close()
        events.cancel()

    asyncio.run(main())


async def _pump(
    client: ChatClient, manager: TransferManager, others: Callable[[ev.ChatEvent], None] | None = None
) -> None:
    async for event in client.events():
        if not manager.handle(event) and others is not None:
            others(event)


def talker_main(pipe: Pipe, port: int) -> None:
    """Child process: carol joins, refuses every offer (she still opens each chunk: a hybrid
    suite's message goes to the whole room), and between "talk" and "quiet" sends a line stamped
    with the time every :data:`TALK_EVERY` seconds: how long others' messages wait behind a
    transfer at its receiver."""

    async def main() -> None:
        client = ChatClient("carol", Identity.generate(), ping_interval=None)
        manager = TransferManager(client, policy=OfferPolicy(Consent.REFUSE), idle_timeout=TIMEOUT)
        async with asyncio.timeout(TIMEOUT):
            await client.connect("127.0.0.1", port)
            events = asyncio.ensure_future(_pump(client, manager))
            await client.join(ROOM, SUITE)
        pipe.send("joined")
        loop = asyncio.get_running_loop()
        while await loop.run_in_executor(None, pipe.poll, TIMEOUT) and pipe.recv() == "talk":
            quiet = loop.run_in_executor(None, pipe.poll, TIMEOUT)
            while not quiet.done():
                await client.send(f"{STAMP}{time.time()!r}")
                await asyncio.wait([quiet], timeout=TALK_EVERY)
            pipe.recv()  # "quiet"
        await manager.close()
        await client.close()
        events.cancel()

    asyncio.run(main())


class Child:
    """A child process for a ``with`` block, talking through a pipe."""

    def __init__(self, target: Any, *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=target, args=(child, *args), daemon=True)

    def __enter__(self) -> Child:
        self.process.start()
        return self

    def receive(self) -> Any:
        if not self.pipe.poll(TIMEOUT):
            raise RuntimeError("a benchmark child process did not answer in time")
        return self.pipe.recv()

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(OSError):
            self.pipe.send("stop")
        self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(10)


# --- the sender, here -----------------------------------------------------------------------------


async def send(
    port: int, source: Path, downloads: Path, ways: list[Sending], receiver: Child, talker: Child | None
) -> list[tuple[float, float | None]]:
    """alice joins and sends ``source`` once each way, carol (if there is a ``talker``) talking
    meanwhile; for each, the seconds it took end to end and the longest any of carol's lines took
    to reach bob (None without her, or if none reached him before the end)."""
    finished: asyncio.Queue[TransferFinished] = asyncio.Queue()

    def on_event(event: TransferEvent) -> None:
        if isinstance(event, TransferFinished):
            finished.put_nowait(event)

    client = ChatClient("alice", Identity.generate(), ping_interval=None)
    async with asyncio.timeout(TIMEOUT):
        await client.connect("127.0.0.1", port)
        await client.join(ROOM, SUITE)
        others = {"bob", "carol"} if talker is not None else {"bob"}
        while {m.alias for m in client.members} != others:
            await client.next_event(TIMEOUT)
    events = asyncio.ensure_future(_drain(client, []))
    seconds = []
    try:
        for way in ways:
            manager = TransferManager(
                client,
                downloads,
                policy=OfferPolicy(max_size=4 * SIZE),
                on_event=on_event,
                chunk_size=way.chunk_size,
                window=way.window if way.window is not None else outgoing.WINDOW,
                ack_every=way.ack_every if way.ack_every is not None else outgoing.ACK_EVERY,
                batch=way.batch if way.batch is not None else outgoing.BATCH,
                in_flight=way.in_flight if way.in_flight is not None else outgoing.MAX_IN_FLIGHT,
            )
            events.cancel()
            events = asyncio.ensure_future(_drain(client, [manager]))
            receiver.pipe.send("expect")
            if talker is not None:
                talker.pipe.send("talk")
            start = time.perf_counter()
            async with asyncio.timeout(TIMEOUT):
                result = await (await manager.send_file(source)).wait()
            elapsed = time.perf_counter() - start
            if talker is not None:
                talker.pipe.send("quiet")
            ok, reason, delays = await asyncio.get_running_loop().run_in_executor(None, receiver.receive)
            if not (("bob", True, "") in result.outcomes and ok):
                raise RuntimeError(f"benchmark transfer failed: {result.reason}; bob: {reason}")
            seconds.append((elapsed, max(delays, default=None)))
            await manager.close()
    finally:
        events.cancel()
        await client.close()
    return seconds


async def _drain(client: ChatClient, managers: list[TransferManager]) -> None:
    async for event in client.events():
        for manager in managers:
            manager.handle(event)


def measure(ways: list[Sending], size: int = SIZE, *, talk: bool = False) -> list[tuple[float, float | None]]:
    """For a ``size``-byte transfer each way, alice to bob through a relay, in this run: KiB/s,
    and with ``talk`` the longest a line of carol's, a third member, took to reach bob meanwhile
    (seconds; None without her)."""
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        source = tmp / "file.bin"
        source.write_bytes(os.urandom(size))
        relay = ServerProcess("--port", "0", "--quiet")
        port = relay.port
        try:
            with contextlib.ExitStack() as children:
                receiver = children.enter_context(Child(receiver_main, port, str(tmp / "bob")))
                talker = children.enter_context(Child(talker_main, port)) if talk else None
                if receiver.receive() != "joined" or (talker is not None and talker.receive() != "joined"):
                    raise RuntimeError("the receiver or the talker did not join")
                timings = asyncio.run(send(port, source, tmp / "alice", ways, receiver, talker))
                for i in range(len(ways)):
                    saved = tmp / "bob" / (source.name if i == 0 else f"file ({i}).bin")
                    if saved.read_bytes() != source.read_bytes():
                        raise RuntimeError(f"the file bob saved ({saved.name}) differs from the one sent")
        finally:
            relay.stop()
    return [(size / 1024 / elapsed, delay) for elapsed, delay in timings]


def run(console: Console) -> None:
    """Print the transfer table and the verdict on issue 11's goal."""
    load = os.getloadavg()[0]
    ways = [DEFAULTS, ONE_AT_A_TIME, SMALL_WINDOW]
    rates = [rate for rate, _ in measure(ways)]
    talking = [DEFAULTS, SMALL_WINDOW]
    with_carol = measure(talking, talk=True)
    table = Table(title=f"chat file transfer: {SIZE >> 20} MiB, {SUITE}, alice → relay → bob (127.0.0.1)")
    for column in ("sender", "KiB/s", f"÷ {BEFORE:.0f} KiB/s", "÷ one at a time"):
        table.add_column(column, justify="left" if column == "sender" else "right")
    for way, rate in zip(ways, rates, strict=True):
        table.add_row(way.label, f"{rate:,.0f}", f"{rate / BEFORE:.2f}x", f"{rate / rates[1]:.2f}x")
    console.print(table)
    table = Table(title="the same with carol in the room, talking: what the window costs her lines at bob")
    for column in ("sender", "KiB/s", "carol's slowest line to bob"):
        table.add_column(column, justify="left" if column == "sender" else "right")
    for way, (rate, delay) in zip(talking, with_carol, strict=True):
        table.add_row(way.label, f"{rate:,.0f}", "none arrived" if delay is None else f"{delay:.2f} s")
    console.print(table)
    ratio = rates[0] / BEFORE
    frame = hybrid_frame_bytes(HYBRID_CHUNK)
    window = min(outgoing.WINDOW, outgoing.MAX_IN_FLIGHT // frame)
    batch = min(outgoing.BATCH, window)
    verdict = "[green]met[/]" if ratio >= GOAL else "[red]missed[/]"
    console.print(
        f"Relay and receiver each in a child process, the sender here; in the second table carol too "
        f"(she refuses the file but opens every chunk, and sends a line every {TALK_EVERY:g} s). Load "
        f"{load:.1f} at the start. "
        f"Defaults: {HYBRID_CHUNK >> 10} KiB chunks, at most {outgoing.MAX_IN_FLIGHT / MiB:.1f} MiB of "
        f"frames in flight: a window of {window} chunks of about {frame / 1024:.1f} KiB, batches of {batch} "
        f"sealed together (each chunk its own message and key: one bit-slice lane each), the next sealed "
        f"while the last is opened, an acknowledgement every "
        f"{min(outgoing.ACK_EVERY, window)}. "
        f"Goal (issue 11): at least {GOAL:g}x {BEFORE:.0f} KiB/s: {ratio:.2f}x {verdict}."
    )

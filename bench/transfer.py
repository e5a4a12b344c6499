"""Chat file transfer benchmark: 8 MiB with 3des between two real clients through a real relay.

The relay (``chat.relay.server``, as ``python -m chat server`` runs it) and the receiving client
each run in a child process, so that each side has a core, as two machines would; the sending
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
* **no in-flight bound**: the defaults as they were before the bound, a window of 512 chunks
  (about 6 MiB of frames) and batches of 256, to show what the bound costs.

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
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from chat.client.chat_client import ChatClient
from chat.client.events import TransferEvent, TransferFinished
from chat.e2e.identity import Identity
from chat.protocol.limits import MiB
from chat.relay.server import ServerConfig, serve
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
UNBOUNDED = Sending(
    "no in-flight bound (window 512, batch 256)", window=512, ack_every=64, batch=256, in_flight=8 << 20
)


# --- the two child processes ----------------------------------------------------------------------


def relay_main(pipe: Pipe) -> None:
    """Child process: the relay, until the pipe closes or says stop."""

    async def main() -> None:
        server = await serve(ServerConfig(port=0))
        pipe.send(server.port)
        await asyncio.get_running_loop().run_in_executor(None, _wait_for_stop, pipe)
        await server.close()

    asyncio.run(main())


def _wait_for_stop(pipe: Pipe) -> None:
    with contextlib.suppress(EOFError, OSError):
        pipe.poll(TIMEOUT * 4)


def receiver_main(pipe: Pipe, port: int, downloads: str) -> None:
    """Child process: bob joins, accepts every offer and reports each finished transfer's outcome."""

    async def main() -> None:
        finished: asyncio.Queue[TransferFinished] = asyncio.Queue()

        def on_event(event: TransferEvent) -> None:
            if isinstance(event, TransferFinished):
                finished.put_nowait(event)

        client = ChatClient("bob", Identity.generate(), ping_interval=None)
        policy = OfferPolicy(Consent.ACCEPT, max_size=4 * SIZE, per_sender=64 * SIZE, total=64 * SIZE)
        manager = TransferManager(client, downloads, policy=policy, on_event=on_event, idle_timeout=TIMEOUT)
        async with asyncio.timeout(TIMEOUT):
            await client.connect("127.0.0.1", port)
            events = asyncio.ensure_future(_pump(client, manager))
            await client.join(ROOM, SUITE)
        pipe.send("joined")
        while pipe.poll(TIMEOUT) and pipe.recv() == "expect":
            async with asyncio.timeout(TIMEOUT):
                result = await finished.get()
            pipe.send((result.ok, result.reason))
        await manager.close()
        await client.close()
        events.cancel()

    asyncio.run(main())


async def _pump(client: ChatClient, manager: TransferManager) -> None:
    async for event in client.events():
        manager.handle(event)


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


async def send(port: int, source: Path, downloads: Path, ways: list[Sending], receiver: Child) -> list[float]:
    """alice joins and sends ``source`` once each way; the seconds each took, end to end."""
    finished: asyncio.Queue[TransferFinished] = asyncio.Queue()

    def on_event(event: TransferEvent) -> None:
        if isinstance(event, TransferFinished):
            finished.put_nowait(event)

    client = ChatClient("alice", Identity.generate(), ping_interval=None)
    async with asyncio.timeout(TIMEOUT):
        await client.connect("127.0.0.1", port)
        await client.join(ROOM, SUITE)
        while not any(m.alias == "bob" for m in client.members):
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
            start = time.perf_counter()
            async with asyncio.timeout(TIMEOUT):
                result = await (await manager.send_file(source)).wait()
            seconds.append(time.perf_counter() - start)
            ok, reason = await asyncio.get_running_loop().run_in_executor(None, receiver.receive)
            if not (result.ok and ok):
                raise RuntimeError(f"benchmark transfer failed: {result.reason}; bob: {reason}")
            await manager.close()
    finally:
        events.cancel()
        await client.close()
    return seconds


async def _drain(client: ChatClient, managers: list[TransferManager]) -> None:
    async for event in client.events():
        for manager in managers:
            manager.handle(event)


def measure(ways: list[Sending], size: int = SIZE) -> list[float]:
    """KiB/s of a ``size``-byte transfer each way, alice to bob through a relay, in this run."""
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        source = tmp / "file.bin"
        source.write_bytes(os.urandom(size))
        with Child(relay_main) as relay:
            port = relay.receive()
            with Child(receiver_main, port, str(tmp / "bob")) as receiver:
                if receiver.receive() != "joined":
                    raise RuntimeError("the receiver did not join")
                seconds = asyncio.run(send(port, source, tmp / "alice", ways, receiver))
                for i in range(len(ways)):
                    saved = tmp / "bob" / (source.name if i == 0 else f"file ({i}).bin")
                    if saved.read_bytes() != source.read_bytes():
                        raise RuntimeError(f"the file bob saved ({saved.name}) differs from the one sent")
    return [size / 1024 / s for s in seconds]


def run(console: Console) -> None:
    """Print the transfer table and the verdict on issue 11's goal."""
    load = os.getloadavg()[0]
    ways = [DEFAULTS, ONE_AT_A_TIME, UNBOUNDED]
    rates = measure(ways)
    table = Table(title=f"chat file transfer: {SIZE >> 20} MiB, {SUITE}, alice → relay → bob (127.0.0.1)")
    for column in ("sender", "KiB/s", f"÷ {BEFORE:.0f} KiB/s", "÷ one at a time"):
        table.add_column(column, justify="left" if column == "sender" else "right")
    for way, rate in zip(ways, rates, strict=True):
        table.add_row(way.label, f"{rate:,.0f}", f"{rate / BEFORE:.2f}x", f"{rate / rates[1]:.2f}x")
    console.print(table)
    ratio = rates[0] / BEFORE
    frame = hybrid_frame_bytes(HYBRID_CHUNK)
    window = min(outgoing.WINDOW, outgoing.MAX_IN_FLIGHT // frame)
    batch = min(outgoing.BATCH, window)
    verdict = "[green]met[/]" if ratio >= GOAL else "[red]missed[/]"
    console.print(
        f"Relay and receiver each in a child process, the sender here; load {load:.1f} at the start. "
        f"Defaults: {HYBRID_CHUNK >> 10} KiB chunks, at most {outgoing.MAX_IN_FLIGHT / MiB:g} MiB of frames "
        f"in flight: a window of {window} chunks of about {frame / 1024:.1f} KiB, {batch} sealed together "
        f"(each its own message and key: one bit-slice lane each), an acknowledgement every "
        f"{min(outgoing.ACK_EVERY, window)}. "
        f"Goal (issue 11): at least {GOAL:g}x {BEFORE:.0f} KiB/s: {ratio:.2f}x {verdict}."
    )

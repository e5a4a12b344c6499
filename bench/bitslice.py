"""Bitslice DES benchmark (``python -m bench des``): ours on bit slices against PyCryptodome (C)
and against our table-driven path, all measured in this run, on this machine, on the same data.

* **Bulk modes, 1 MiB**: ECB, CTR and CBC decryption, DES and 3DES, through :mod:`ciphers.modes`
  with the default ciphers, which take the bitslice path at this size. The table-driven path
  encrypts a 64 KiB prefix (it would take seconds on 1 MiB); every output is checked first.
* **CBC streams side by side**: 64 streams of 16 KiB under one key, :func:`ciphers.modes.cbc_encrypt_many`
  on the bitslice path against the streams one after another on the table-driven path (timed on
  4 streams and scaled to 64, the work being the same per stream).
* **Key search**: :func:`ciphers.attacks.des.exhaustive_search` over 2^24 keys (the key is not in
  the space, so all are tried) against :func:`~ciphers.attacks.des.sequential_search`, the one-key-
  at-a-time search it replaced, over 2^15 keys; keys per second.
* **Small inputs**: ECB of 8 bytes to 2 KiB on each path, with the default choice, and as the modes
  did it before the bitslice path existed, to show where the paths cross (how
  :data:`ciphers.des_fast.BITSLICE_THRESHOLD` was chosen) and that the default is no slower than
  before below it. Those calls take microseconds, so each is timed by its fastest run (the least
  disturbed); "before" and the default run on the same cipher object (two objects of one key can
  differ by a few percent, from where their tables lie in memory), and "before" is timed twice:
  how far apart two timings of the same code come out is the resolution against which "no slower"
  is judged.

Times are medians of runs interleaved across contenders (the small inputs: their fastest), so all
see the same load (reported from :func:`os.getloadavg`; the machine may be shared). DES is
insecure and 3DES legacy.
"""

from __future__ import annotations

import os
import statistics
import time
import timeit
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from Crypto.Cipher import DES as PyCryptodomeDES
from Crypto.Cipher import DES3 as PyCryptodomeDES3
from rich.console import Console
from rich.table import Table

from ciphers import modes
from ciphers.attacks import des as attacks
from ciphers.bitslice import sboxes
from ciphers.blockcipher import BlockCipher
from ciphers.des import set_odd_parity
from ciphers.des_fast import BITSLICE_THRESHOLD, TDES_BITSLICE_THRESHOLD, FastDES
from ciphers.errors import InsecureWarning
from ciphers.padding import pkcs7_pad
from ciphers.rng import DeterministicRNG
from ciphers.tdes import TripleDES

SIZE = 1 << 20
TABLE_PREFIX = 64 * 1024
RUNS = 5
STREAMS, STREAM_SIZE, TABLE_STREAMS = 64, 16 * 1024, 4
SEARCH_BITS, SEQUENTIAL_BITS, SEARCH_RUNS = 24, 15, 3
SMALL_SIZES = (8, 64, 128, 256, 384, 512, 576, 640, 704, 768, 1024, 2048)
SMALL_RUNS = 21
GOALS = {"bulk": 1.5, "streams": 10.0, "search": 50.0, "pydes": 40.0}
KWAN = "Kwan 1998: about 56 a box; Kwan 2000: 51.6 (AND, OR, XOR, NOT); later work 40-45 with ANDNOT/select"


Summary = Callable[[list[float]], float]


def interleaved_times(
    calls: Sequence[Callable[[], object]], runs: int, summary: Summary = statistics.median
) -> list[float]:
    """The median (or another ``summary``) wall time of each call, the calls run in turn ``runs`` times."""
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(runs):
        for samples, call in zip(times, calls, strict=True):
            start = time.perf_counter()
            call()
            samples.append(time.perf_counter() - start)
    return [summary(samples) for samples in times]


def rate(bytes_per_second: float) -> str:
    return (
        f"{bytes_per_second / 1e6:.2f} MB/s"
        if bytes_per_second >= 1e6
        else f"{bytes_per_second / 1e3:.1f} KB/s"
    )


def verdict(ratio: float, goal: float) -> str:
    return f"{ratio:.2f}x " + ("[green]met[/]" if ratio >= goal else "[red]not met[/]")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


@dataclass(frozen=True)
class BulkRow:
    """One mode of one cipher: ours (default path) on ``data``, the table path on a prefix, and
    PyCryptodome on ``data``, all three giving ``expected`` (a prefix of it for the table path)."""

    label: str
    ours: Callable[[bytes], bytes]
    table: Callable[[bytes], bytes]
    reference: Callable[[bytes], bytes]


def _pycryptodome(single: bool, key: bytes, mode: str, iv: bytes) -> Callable[[bytes], bytes]:
    """PyCryptodome's DES or DES3 in ``mode`` (CTR with the whole 8-byte block as the counter)."""
    module: Any = PyCryptodomeDES if single else PyCryptodomeDES3
    key = key[:8] if single else key

    def run(data: bytes) -> bytes:
        if mode == "ecb":
            return bytes(module.new(key, module.MODE_ECB).encrypt(data))
        if mode == "ctr":
            return bytes(module.new(key, module.MODE_CTR, nonce=b"", initial_value=iv).encrypt(data))
        return bytes(module.new(key, module.MODE_CBC, iv=iv).decrypt(data))

    return run


def _ours(cipher: BlockCipher, mode: str, iv: bytes) -> Callable[[bytes], bytes]:
    """Our ``mode`` through :mod:`ciphers.modes` (whole blocks, no padding)."""

    def run(data: bytes) -> bytes:
        if mode == "ecb":
            return modes.ecb_encrypt(cipher, data, pad=False)
        if mode == "ctr":
            return modes.ctr_encrypt(cipher, iv, data)
        return modes.cbc_decrypt(cipher, iv, data, pad=False)

    return run


def bulk_rows(key: bytes, iv: bytes) -> list[BulkRow]:
    rows = []
    labels = {"ecb": "ECB", "ctr": "CTR", "cbc-decrypt": "CBC decryption"}
    for name, single in (("DES", True), ("3DES", False)):
        ours: BlockCipher = FastDES(key[:8]) if single else TripleDES(key)
        table: BlockCipher = FastDES(key[:8], bitslice=False) if single else TripleDES(key, bitslice=False)
        for mode, label in labels.items():
            rows.append(
                BulkRow(
                    f"{name}-{label}",
                    _ours(ours, mode, iv),
                    _ours(table, mode, iv),
                    _pycryptodome(single, key, mode, iv),
                )
            )
    return rows


def bulk_table(console: Console, key: bytes, iv: bytes, data: bytes) -> None:
    table = Table(title=f"Bitslice DES and 3DES, {SIZE >> 20} MiB, median of {RUNS} interleaved runs")
    columns = ("ours (bitslice)", "ours (table-driven)", "PyCryptodome (C)", "÷ PyCryptodome", "÷ table")
    table.add_column("mode")
    for column in columns:
        table.add_column(column, justify="right")
    prefix = data[:TABLE_PREFIX]
    for row in bulk_rows(key, iv):
        expected = row.reference(data)
        if row.ours(data) != expected or row.table(prefix) != expected[: len(prefix)]:
            raise AssertionError(f"{row.label}: output differs from PyCryptodome's")
        ours, tabled, reference = interleaved_times(
            [partial(row.ours, data), partial(row.table, prefix), partial(row.reference, data)], RUNS
        )
        speeds = len(data) / ours, len(prefix) / tabled, len(data) / reference
        ratio = verdict(speeds[0] / speeds[2], GOALS["bulk"])
        table.add_row(row.label, *map(rate, speeds), ratio, f"{speeds[0] / speeds[1]:.1f}x")
    console.print(table)
    console.print(
        f"Goal: bitslice >= {GOALS['bulk']}x PyCryptodome. The table-driven path ran on the first "
        f"{TABLE_PREFIX >> 10} KiB. CBC and CFB encryption and OFB chain every block and stay on the "
        "table-driven path (the CBC-encryption table above)."
    )


def streams_line(key: bytes, rng: DeterministicRNG, count: int, size: int) -> tuple[float, str]:
    """``count`` DES-CBC streams of ``size`` bytes: side by side on bit slices against one at a
    time on the table-driven path (timed on a few streams and scaled, the work being the same per
    stream)."""
    streams = [(rng.bytes(8), rng.bytes(size)) for _ in range(count)]
    sliced, table = FastDES(key[:8], bitslice=True), FastDES(key[:8], bitslice=False)
    expected = [
        bytes(PyCryptodomeDES.new(key[:8], PyCryptodomeDES.MODE_CBC, iv=iv).encrypt(d)) for iv, d in streams
    ]
    if modes.cbc_encrypt_many(sliced, streams, pad=False) != expected:
        raise AssertionError("CBC streams side by side differ from PyCryptodome's")
    few = streams[: max(1, TABLE_STREAMS * STREAM_SIZE // size)]
    side, one_at_a_time = interleaved_times(
        [
            partial(modes.cbc_encrypt_many, sliced, streams, pad=False),
            partial(modes.cbc_encrypt_many, table, few, pad=False),
        ],
        3,
    )
    one_at_a_time *= count / len(few)
    total = count * size
    default = "side by side" if FastDES(key[:8]).bulk_threshold <= 8 * count else "one at a time"
    return one_at_a_time / side, (
        f"{count} streams of {size >> 10} KiB: side by side {rate(total / side)}, one at a time "
        f"{rate(total / one_at_a_time)} (timed on {len(few)}): side by side is "
        f"{one_at_a_time / side:.2f}x; cbc_encrypt_many's default: {default}"
    )


def streams_table(console: Console, key: bytes, rng: DeterministicRNG) -> None:
    ratio, first = streams_line(key, rng, STREAMS, STREAM_SIZE)
    _, wide = streams_line(key, rng, 1024, 1024)
    console.print(
        f"DES-CBC encryption of independent streams. {first}: {verdict(ratio, GOALS['streams'])} "
        f"(goal >= {GOALS['streams']:.0f}x). With {STREAMS} streams a word has {STREAMS} lanes, too "
        f"few to pay for Python's cost per operation. For scale, {wide}."
    )


def search_table(console: Console, rng: DeterministicRNG) -> None:
    base = set_odd_parity(rng.bytes(8))
    plaintext = b"known pt"
    ciphertext = FastDES(set_odd_parity(rng.bytes(8))).encrypt_block(plaintext)  # in neither space
    space = attacks.KeySpace(base, attacks.last_key_bits(SEARCH_BITS))
    small = attacks.KeySpace(base, attacks.last_key_bits(SEQUENTIAL_BITS))
    if attacks.exhaustive_search(small, plaintext, ciphertext) != attacks.sequential_search(
        small, plaintext, ciphertext
    ):
        raise AssertionError("bitslice and sequential searches disagree")
    sliced, sequential = interleaved_times(
        [
            lambda: attacks.exhaustive_search(space, plaintext, ciphertext),
            lambda: attacks.sequential_search(small, plaintext, ciphertext),
        ],
        SEARCH_RUNS,
    )
    fast, slow = space.size / sliced, small.size / sequential
    console.print(
        f"Exhaustive key search: {fast / 1e6:.2f} million keys/s on bit slices (2^{SEARCH_BITS} keys in "
        f"{sliced:.2f} s), {slow / 1e3:.0f} thousand keys/s one key at a time (2^{SEQUENTIAL_BITS} keys): "
        f"{verdict(fast / slow, GOALS['search'])} (goal >= {GOALS['search']:.0f}x), median of {SEARCH_RUNS}."
    )


def ecb_before_bitslice(cipher: BlockCipher, data: bytes, *, pad: bool = True) -> bytes:
    """ECB encryption exactly as :func:`ciphers.modes.ecb_encrypt` did it before the bitslice
    path existed (the same signature and helpers, without the bulk check): the baseline the
    default must not fall behind on small inputs."""
    modes._check_cipher(cipher)
    if pad:
        data = pkcs7_pad(data, modes.BLOCK_SIZE)
    blocks = modes._whole_blocks(data, "plaintext")
    return modes._pack(map(cipher.encrypt_int, blocks), len(blocks))


def _repeated(call: Callable[[], object], times: int) -> Callable[[], None]:
    """``call`` made ``times`` times: one timed sample of a call too short to time alone."""

    def run() -> None:
        for _ in range(times):
            call()

    return run


def _microseconds(seconds: float) -> str:
    return f"{seconds * 1e6:.0f}" if seconds >= 1e-4 else f"{seconds * 1e6:.3g}"


def small_table(console: Console, key: bytes, rng: DeterministicRNG) -> None:
    ciphers: dict[str, list[BlockCipher]] = {  # bit slices always, the default
        "DES": [FastDES(key[:8], bitslice=True), FastDES(key[:8])],
        "3DES": [TripleDES(key, bitslice=True), TripleDES(key)],
    }
    thresholds = {"DES": BITSLICE_THRESHOLD, "3DES": TDES_BITSLICE_THRESHOLD}
    inputs = [rng.bytes(size) for size in SMALL_SIZES]
    crossing: dict[str, int | None] = {}
    below: dict[str, tuple[float, int, float, float]] = {}  # worst ratio, its size, geometric mean, spread
    for name, (bitslice_path, default) in ciphers.items():
        title = f"Small inputs, {name}-ECB encryption: µs a call, fastest of {SMALL_RUNS} interleaved runs"
        table = Table(title=title)
        columns = ("bytes", "before", "bitslice", "default", "default ÷ before", "before ÷ before")
        for column in columns:
            table.add_column(column, justify="right")
        crossing[name] = None
        ratios: dict[int, float] = {}
        spread = 0.0
        for data in inputs:
            calls = max(1, 4096 // len(data))  # several calls a sample, so that short ones are measurable
            contenders = [
                partial(ecb_before_bitslice, default, data, pad=False),
                partial(modes.ecb_encrypt, bitslice_path, data, pad=False),
                partial(modes.ecb_encrypt, default, data, pad=False),
                partial(ecb_before_bitslice, default, data, pad=False),  # the same again: the resolution
            ]
            samples = [_repeated(c, calls) for c in contenders]
            times = [t / calls for t in interleaved_times(samples, SMALL_RUNS, summary=min)]
            if crossing[name] is None and times[1] <= times[0]:
                crossing[name] = len(data)
            ratio, again = times[2] / times[0], times[3] / times[0]
            if len(data) < thresholds[name]:
                ratios[len(data)] = ratio
                spread = max(spread, abs(again - 1))
            table.add_row(str(len(data)), *map(_microseconds, times[:3]), f"{ratio:.3f}", f"{again:.3f}")
        console.print(table)
        worst = max(ratios, key=ratios.__getitem__)
        below[name] = ratios[worst], worst, statistics.geometric_mean(ratios.values()), spread
    judged = "; ".join(
        f"{name}: default ÷ before {mean:.3f} on (geometric) average, at most {ratio:.3f} ({size} bytes), "
        f"two timings of the same code up to {spread:.1%} apart: "
        + ("[green]no slower[/]" if mean <= 1 + spread else "[red]slower[/]")
        for name, (ratio, size, mean, spread) in below.items()
    )
    check = min(timeit.repeat(partial(modes._bulk, ciphers["DES"][1], 8), number=100_000, repeat=5)) / 1e5
    console.print(
        f"Thresholds in use: {BITSLICE_THRESHOLD} bytes (DES), {TDES_BITSLICE_THRESHOLD} bytes (3DES); "
        f"in this run the bitslice path first beat the table-driven one at {crossing['DES']} and "
        f"{crossing['3DES']} bytes. 'before': the modes' code from before the bitslice path, on the "
        f"default cipher object. Below the thresholds (goal: no slower than before): {judged}. What the "
        f"default adds below them is the size check, {check * 1e9:.0f} ns a call."
    )


def gates_table(console: Console) -> None:
    counts = [f"S{box}: {gates}" for box, gates in enumerate(sboxes.GATES, start=1)]
    total = sum(sboxes.GATES)
    console.print(
        f"S-box circuits (ours, from ciphers.bitslice.search): {', '.join(counts)}; {total} gates, "
        f"{total / 8:.2f} a box. For comparison: {KWAN}."
    )


def run(console: Console) -> None:
    """Print the bitslice tables."""
    rng = DeterministicRNG("bitslice bench")
    key = set_odd_parity(rng.bytes(24))
    iv, data = rng.bytes(8), rng.bytes(SIZE)
    console.print(f"[bold]Bitslice DES[/] ({load()} at the start)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        gates_table(console)
        bulk_table(console, key, iv, data)
        streams_table(console, key, rng)
        search_table(console, rng)
        small_table(console, key, rng)
    console.print(f"({load()} at the end)")

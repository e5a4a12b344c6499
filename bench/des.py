"""DES benchmark: DES-CBC and 3DES-CBC encryption throughput, ours against pyDes (pure Python) and
PyCryptodome (C), all measured in this run, on this machine, on the same random data.

Ours is the fast path (:class:`ciphers.des_fast.FastDES`, :class:`ciphers.tdes.TripleDES`) through
:func:`ciphers.modes.cbc_encrypt`, the way the toolkit uses it (CBC encryption chains every block,
so it stays table-driven; the bitslice tables follow, :mod:`bench.bitslice`); the readable DES is shown for
reference. pyDes and the readable path are slow, so they get a prefix of the data; throughput is
bytes over the best of several runs. Every implementation's output is checked against
PyCryptodome's before its time is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version

import pyDes
from Crypto.Cipher import DES as PyCryptodomeDES
from Crypto.Cipher import DES3 as PyCryptodomeDES3
from rich.console import Console
from rich.table import Table

from bench import bitslice
from ciphers import modes
from ciphers.blockcipher import BlockCipher
from ciphers.des import DES, set_odd_parity
from ciphers.des_fast import FastDES
from ciphers.rng import SYSTEM
from ciphers.tdes import TripleDES

DATA_SIZE = 64 * 1024  # bytes, for the fast implementations
SLOW_SIZE = {"DES": 4 * 1024, "3DES": 2 * 1024}  # bytes, for pyDes and the readable path
ROUNDS = 7  # each implementation is timed once per round, in turn, and keeps its best time
WARM_UP = 512  # bytes encrypted, untimed, just before each timed run
TARGET_VS_PYDES = 40.0  # issue #2: ours >= 40x pyDes for DES-CBC


@dataclass(frozen=True)
class Contender:
    """One implementation of one cipher, with the data it encrypts and the output it must give."""

    label: str
    encrypt: Callable[[bytes], bytes]
    data: bytes
    expected: bytes


def contenders(name: str, key: bytes, iv: bytes, data: bytes) -> list[Contender]:
    """Every implementation of DES (8-byte key) or Triple DES (24-byte key) in CBC mode."""
    single = name == "DES"
    slow = data[: SLOW_SIZE[name]]
    expected = pycryptodome(single, key, iv, data)
    fast: BlockCipher = FastDES(key) if single else TripleDES(key)
    readable: BlockCipher = DES(key) if single else TripleDES(key, fast=False)

    def pydes(message: bytes) -> bytes:
        peer = pyDes.des(key, pyDes.CBC, iv) if single else pyDes.triple_des(key, pyDes.CBC, iv)
        return bytes(peer.encrypt(message))

    return [
        Contender("ours, fast path", ours_cbc(fast, iv), data, expected),
        Contender("ours, readable path", ours_cbc(readable, iv), slow, expected[: len(slow)]),
        Contender(f"pyDes {version('pyDes')} (pure Python)", pydes, slow, expected[: len(slow)]),
        Contender(
            f"PyCryptodome {version('pycryptodome')} (C)",
            lambda message: pycryptodome(single, key, iv, message),
            data,
            expected,
        ),
    ]


def pycryptodome(single: bool, key: bytes, iv: bytes, message: bytes) -> bytes:
    if single:
        return bytes(PyCryptodomeDES.new(key, PyCryptodomeDES.MODE_CBC, iv).encrypt(message))
    return bytes(PyCryptodomeDES3.new(key, PyCryptodomeDES3.MODE_CBC, iv).encrypt(message))


def ours_cbc(cipher: BlockCipher, iv: bytes) -> Callable[[bytes], bytes]:
    return lambda data: modes.cbc_encrypt(cipher, iv, data, pad=False)


def throughputs(field: list[Contender]) -> list[float]:
    """Bytes per second of each contender: checked first, then timed in turn so that all see the
    same machine load, each just after a short warm-up of its own; best of :data:`ROUNDS`."""
    for contender in field:
        if contender.encrypt(contender.data) != contender.expected:
            raise AssertionError(f"{contender.label}: output differs from PyCryptodome's")
    best = [float("inf")] * len(field)
    for _ in range(ROUNDS):
        for i, contender in enumerate(field):
            contender.encrypt(contender.data[:WARM_UP])  # its tables back in cache after the others ran
            start = time.perf_counter()
            contender.encrypt(contender.data)
            best[i] = min(best[i], time.perf_counter() - start)
    return [len(c.data) / t for c, t in zip(field, best, strict=True)]


def rate(bytes_per_second: float) -> str:
    if bytes_per_second >= 1e6:
        return f"{bytes_per_second / 1e6:.2f} MB/s"
    return f"{bytes_per_second / 1e3:.1f} KB/s"


def run(console: Console) -> None:
    """Measure and print the DES/3DES CBC table with our fast path's ratio to each peer."""
    data = SYSTEM.bytes(DATA_SIZE)
    iv = SYSTEM.bytes(8)
    key = set_odd_parity(SYSTEM.bytes(24))
    fields = {"DES": contenders("DES", key[:8], iv, data), "3DES": contenders("3DES", key, iv, data)}
    rates = {name: throughputs(field) for name, field in fields.items()}

    table = Table(title=f"DES and Triple DES, CBC encryption ({DATA_SIZE // 1024} KiB random data, same run)")
    table.add_column("implementation")
    for name in fields:
        table.add_column(f"{name}-CBC", justify="right")
        table.add_column("ours fast ÷ this", justify="right")
    for row, contender in enumerate(fields["DES"]):
        cells = [contender.label]
        for measured in rates.values():
            cells += [rate(measured[row]), f"{measured[0] / measured[row]:.2f}x"]
        table.add_row(*cells)
    console.print(table)

    versus_pydes = rates["DES"][0] / rates["DES"][2]
    verdict = "[green]met[/]" if versus_pydes >= TARGET_VS_PYDES else "[red]not met[/]"
    console.print(
        f"DES-CBC, ours fast path vs pyDes: {versus_pydes:.1f}x "
        f"(target >= {TARGET_VS_PYDES:.0f}x: {verdict}). Best of {ROUNDS} interleaved, warmed-up runs; "
        f"pyDes and the readable path encrypt the first {SLOW_SIZE['DES'] // 1024} KiB (DES) and "
        f"{SLOW_SIZE['3DES'] // 1024} KiB (3DES). DES is insecure (56-bit key); 3DES is legacy."
    )
    bitslice.run(console)

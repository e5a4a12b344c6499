"""Big-integer backends: our RSA-2048 on gmpy2 and on Python ints (what runs in the browser), same key.

:mod:`ciphers.bigint` picks its backend when first imported, so each backend is measured in a
child process of its own (``python -m bench.bigint`` with ``CIPHERCHAT_BIGINT`` set), which reads
the key as PEM on stdin and prints its medians as JSON; both children run one after the other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import timing
from ciphers import bigint
from ciphers.rsa import core, formats, keys, oaep

ROOT = Path(__file__).resolve().parent.parent
BITS = 2048
BACKENDS = ("gmpy2", "int")
KEYGEN_RUNS = 9
"""Keys timed per backend: a key's time varies with the gaps between primes, so a median of several."""
OP_BUDGET = 0.5
MIN_CALLS = 15
MESSAGE = b"benchmark message: the quick brown fox jumps over the lazy dog"
CHILD_TIMEOUT = 600


def measure(key: keys.RSAPrivateKey) -> dict[str, float]:
    """Medians on the backend this process runs: the private operation alone and in OAEP, key generation."""
    ciphertext = oaep.encrypt(key.public_key(), MESSAGE)
    c = core.os2ip(ciphertext)
    assert oaep.decrypt(key, ciphertext) == MESSAGE
    return {
        "RSADP (CRT, blinded, fault check)": timing.median_seconds(
            lambda: core.rsadp(key, c), OP_BUDGET, MIN_CALLS
        ),
        "OAEP decrypt": timing.median_seconds(lambda: oaep.decrypt(key, ciphertext), OP_BUDGET, MIN_CALLS),
        f"key generation (median of {KEYGEN_RUNS})": timing.median_of_runs(
            lambda: keys.generate(BITS), KEYGEN_RUNS
        ),
    }


def measure_in_child(backend: str, key_pem: bytes) -> dict[str, float]:
    """:func:`measure` in a fresh interpreter with ``CIPHERCHAT_BIGINT=backend``."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.bigint"],
        cwd=ROOT,
        input=key_pem,
        env={**os.environ, bigint.ENVIRONMENT_VARIABLE: backend},
        capture_output=True,
        timeout=CHILD_TIMEOUT,
        check=True,
    )
    report = json.loads(done.stdout)
    assert report.pop("backend") == backend, "the child ran on another backend than it was asked for"
    return {name: float(seconds) for name, seconds in report.items()}


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 0.1 else f"{seconds:.2f} s"


def run(console: Console) -> None:
    """Print our RSA-2048 times on each backend, with the cost of going without gmpy2."""
    key = keys.generate(BITS)
    key_pem = formats.dump_private_key(key)
    measured = {}
    for backend in BACKENDS:
        with console.status(f"timing RSA-{BITS} on the {backend} backend (a child process)"):
            measured[backend] = measure_in_child(backend, key_pem)
    table = Table(
        title=f"RSA-{BITS}, ours, on each big-integer backend (ciphers.bigint; same key, medians)",
        caption="int: Python's own integers, what the toolkit runs on where gmpy2 is missing (Pyodide)",
    )
    table.add_column("operation")
    for column in (*BACKENDS, "int ÷ gmpy2"):
        table.add_column(column, justify="right")
    for name, gmpy2_seconds in measured["gmpy2"].items():
        int_seconds = measured["int"][name]
        table.add_row(name, _ms(gmpy2_seconds), _ms(int_seconds), f"{int_seconds / gmpy2_seconds:.1f}x")
    console.print(table)


def main() -> int:
    """The child (``python -m bench.bigint``): read the key, print the backend and the medians as JSON."""
    key = formats.load_private_key(sys.stdin.buffer.read())
    print(json.dumps({"backend": bigint.BACKEND, **measure(key)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

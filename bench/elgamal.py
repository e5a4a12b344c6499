"""ElGamal benchmark: per-operation times in ffdhe2048, ours against PyCryptodome's ElGamal key
object on the same key (and its deterministic DSS for the DSA-form signatures), and custom
safe-prime group generation against PyCryptodome's ``ElGamal.generate``. Everything is measured in
this run, on this machine.
"""

from __future__ import annotations

import secrets
import statistics
import time
import warnings
from collections.abc import Callable
from math import gcd
from typing import Any

from Crypto.Hash import SHA256
from Crypto.PublicKey import DSA as PyCryptodomeDSA
from Crypto.PublicKey import ElGamal as PyCryptodomeElGamal
from Crypto.Random import get_random_bytes
from Crypto.Signature import DSS
from rich.console import Console
from rich.table import Table

from bench import timing
from ciphers.elgamal import core, dsa, hybrid, kem, signatures
from ciphers.elgamal.core import generate_private_key
from ciphers.elgamal.groups import generate_group, named_group
from ciphers.errors import InsecureWarning

GROUP_NAME = "ffdhe2048"
SAFE_PRIME_RUNS = {512: 9, 1024: 7, 2048: 5}
SAFE_PRIME_TARGET_2048 = 10.0
PEER_GENERATE_BITS = 512
OP_BUDGET = 0.5
"""Seconds spent on each per-operation measurement (at least MIN_CALLS calls)."""
MIN_CALLS = 10
HYBRID_MESSAGE = bytes(1024)


def median_seconds(fn: Callable[[], object], budget: float = OP_BUDGET, min_calls: int = MIN_CALLS) -> float:
    """The median time of one call of ``fn`` with this table's budget (see :mod:`bench.timing`)."""
    return timing.median_seconds(fn, budget, min_calls)


def _format_ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1e3:.2f} ms"


def _format_s(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f} s"


def _ratio(ours: float, peer: float | None) -> str:
    return "—" if peer is None else f"{peer / ours:.2f}x"


def _coprime_nonce(p: int) -> int:
    while True:
        k = 1 + secrets.randbelow(p - 2)
        if gcd(k, p - 1) == 1:
            return k


def operations_table() -> Table:
    """Encrypt/decrypt/sign/verify and the KEM in ffdhe2048, ours and PyCryptodome's."""
    group = named_group(GROUP_NAME)
    key = generate_private_key(group)
    public = key.public_key
    peer: Any = PyCryptodomeElGamal.construct((group.p, group.g, key.y, key.x))
    p, q = group.p, group.q
    m = group.power(secrets.randbelow(q - 1) + 1)
    ciphertext = core.encrypt_element(public, m)
    signature = signatures.sign(key, b"benchmark")
    h = signatures.hash_message(group, b"benchmark")
    peer_signature = peer._sign(h, _coprime_nonce(p))
    c1, _ = kem.encapsulate(public)
    sealed = hybrid.encrypt(public, HYBRID_MESSAGE)
    dsa_signature = dsa.sign(key, b"benchmark")
    dss_peer = DSS.new(PyCryptodomeDSA.construct((key.y, group.g, p, q, key.x)), "deterministic-rfc6979")
    dss_signature = dss_peer.sign(SHA256.new(b"benchmark"))

    rows: list[tuple[str, Callable[[], object], Callable[[], object] | None, str]] = [
        (
            "encrypt (textbook, element)",
            lambda: core.encrypt_element(public, m),
            lambda: peer._encrypt(m, 1 + secrets.randbelow(q - 1)),
            "",
        ),
        (
            "decrypt (textbook, element)",
            lambda: core.decrypt_element(key, ciphertext),
            lambda: peer._decrypt([ciphertext.c1, ciphertext.c2]),
            "PyCryptodome blinds: 2 more exponentiations",
        ),
        (
            "sign (DSA-form, RFC 6979; the default)",
            lambda: dsa.sign(key, b"benchmark"),
            lambda: dss_peer.sign(SHA256.new(b"benchmark")),
            "ours hedged (§3.6), peer deterministic",
        ),
        (
            "verify (DSA-form; the default)",
            lambda: dsa.verify(public, b"benchmark", dsa_signature),
            lambda: dss_peer.verify(SHA256.new(b"benchmark"), dss_signature),
            "",
        ),
        (
            "sign (classic, SHA-256; forgeable)",
            lambda: signatures.sign(key, b"benchmark"),
            lambda: peer._sign(h, _coprime_nonce(p)),
            "peer: raw h, ours hashes",
        ),
        (
            "verify (classic, SHA-256; forgeable)",
            lambda: signatures.verify(public, b"benchmark", signature),
            lambda: peer._verify(h, peer_signature),
            "",
        ),
        ("KEM encapsulate", lambda: kem.encapsulate(public), None, "no peer offers an ElGamal KEM"),
        ("KEM decapsulate", lambda: kem.decapsulate(key, c1), None, ""),
        (
            "hybrid encrypt 1 KiB",
            lambda: hybrid.encrypt(public, HYBRID_MESSAGE),
            None,
            "KEM + HMAC keystream + tag",
        ),
        ("hybrid decrypt 1 KiB", lambda: hybrid.decrypt(key, sealed), None, ""),
    ]
    table = Table(title=f"ElGamal in {GROUP_NAME} (median per operation; full-size exponents)")
    for column in ("operation", "ours", "PyCryptodome", "PyCryptodome / ours", "note"):
        table.add_column(column, justify="left" if column in ("operation", "note") else "right")
    for name, ours_fn, peer_fn, note in rows:
        ours = median_seconds(ours_fn)
        peer_time = None if peer_fn is None else median_seconds(peer_fn)
        table.add_row(name, _format_ms(ours), _format_ms(peer_time), _ratio(ours, peer_time), note)
    return table


def generation_table(console: Console) -> Table:
    """Custom safe-prime group generation (median over several runs) and PyCryptodome's generate."""
    table = Table(title="Custom ElGamal group generation (safe prime p = 2q + 1)")
    for column in ("bits", "runs", "ours median", "ours min", "ours max", "PyCryptodome generate", "target"):
        table.add_column(column, justify="right")
    for bits, runs in SAFE_PRIME_RUNS.items():
        times: list[float] = []
        with console.status(f"generating {runs} safe-prime groups of {bits} bits"):
            for _ in range(runs):
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", InsecureWarning)
                    generate_group(bits)
                times.append(time.perf_counter() - start)
        peer_time = None
        if bits == PEER_GENERATE_BITS:
            with console.status(f"PyCryptodome ElGamal.generate({bits}), once"):
                start = time.perf_counter()
                PyCryptodomeElGamal.generate(bits, get_random_bytes)
                peer_time = time.perf_counter() - start
        median = statistics.median(times)
        target = ""
        if bits == 2048:
            verdict = "met" if median <= SAFE_PRIME_TARGET_2048 else "MISSED"
            target = f"<= {SAFE_PRIME_TARGET_2048:.0f} s: {verdict}"
        table.add_row(
            str(bits),
            str(runs),
            _format_s(median),
            _format_s(min(times)),
            _format_s(max(times)),
            _format_s(peer_time),
            target,
        )
    return table


def run(console: Console) -> None:
    """Print the ElGamal tables."""
    with console.status("timing ElGamal operations"), warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)  # the textbook rows are timed on purpose
        operations = operations_table()
    console.print(operations)
    console.print(generation_table(console))
    console.print(
        "[dim]PyCryptodome's generate is timed once, at 512 bits only (about a minute at 1024). "
        "Its generator is a random square, ours 2 or 4 (see ciphers/elgamal/groups.py).[/]"
    )

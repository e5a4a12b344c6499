"""Small helpers the teaching notebooks share: tables, hex dumps, S-box statistics, exercise checks.

Anything a notebook computes that a test should be able to check lives here or elsewhere in the
package, not only in a notebook. Nothing here needs numpy or matplotlib: tables render as HTML in
Jupyter (``_repr_html_``) and as plain text anywhere else.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ciphers.des import RoundTrace, selection_function

F = TypeVar("F")


# --- tables -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A table of strings that Jupyter shows as HTML and ``print`` shows as aligned text."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""

    @classmethod
    def of(cls, header: Sequence[object], rows: Sequence[Sequence[object]], caption: str = "") -> Table:
        """A table from any values (each shown with ``str``); every row as long as the header."""
        head = tuple(str(h) for h in header)
        body = tuple(tuple(str(cell) for cell in row) for row in rows)
        if any(len(row) != len(head) for row in body):
            raise ValueError("every row must have as many cells as the header")
        return cls(head, body, caption)

    def _repr_html_(self) -> str:
        def cells(tag: str, row: Sequence[str]) -> str:
            return "".join(f"<{tag}>{html.escape(cell)}</{tag}>" for cell in row)

        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        body = "".join(f"<tr>{cells('td', row)}</tr>" for row in self.rows)
        head = f"<thead><tr>{cells('th', self.header)}</tr></thead>"
        return f'<table style="font-family: monospace">{caption}{head}<tbody>{body}</tbody></table>'

    def __str__(self) -> str:
        widths = [max(len(r[i]) for r in (self.header, *self.rows)) for i in range(len(self.header))]
        lines = [self.caption] if self.caption else []
        for row in (self.header, *self.rows):
            lines.append("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
        return "\n".join(lines)


def grid(values: Sequence[object], width: int, caption: str = "") -> Table:
    """``values`` laid out ``width`` to a row, as FIPS 46-3 prints its tables (columns numbered)."""
    if width < 1:
        raise ValueError("width must be positive")
    cells = [*values, *[""] * (-len(values) % width)]
    return Table.of(range(1, width + 1), [cells[i : i + width] for i in range(0, len(cells), width)], caption)


def round_table(rounds: Sequence[RoundTrace]) -> Table:
    """The rounds of a DES trace, one row each, in hex: K_n, E(R), E(R) xor K, S(...), f, L_n, R_n."""
    header = ("n", "K_n", "E(R_n-1)", "E xor K", "S1..S8", "f = P(S)", "L_n", "R_n")
    rows = [
        (
            r.round,
            f"{r.subkey:012x}",
            f"{r.expanded:012x}",
            f"{r.xored:012x}",
            "".join(f"{s:x}" for s in r.sbox_outputs),
            f"{r.p_output:08x}",
            f"{r.L:08x}",
            f"{r.R:08x}",
        )
        for r in rounds
    ]
    return Table.of(header, rows)


def hexdump(data: bytes, width: int = 16) -> str:
    """Offset, hex bytes and printable ASCII, ``width`` bytes a line (the layout of ``xxd``)."""
    lines = []
    for offset in range(0, len(data), width):
        chunk = data[offset : offset + width]
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{offset:08x}  {chunk.hex(' '):<{3 * width - 1}}  {text}")
    return "\n".join(lines)


# --- S-box statistics ---------------------------------------------------------------------------


def difference_distribution(sbox: int) -> list[list[int]]:
    """The difference distribution table of S-box ``sbox`` (1..8): entry [dx][dy] counts the 64
    inputs x with S(x) xor S(x xor dx) = dy (Biham and Shamir, "Differential cryptanalysis of
    DES-like cryptosystems", J. Cryptology 4(1), 1991, §2)."""
    table = [[0] * 16 for _ in range(64)]
    outputs = [selection_function(sbox, x) for x in range(64)]
    for dx in range(64):
        for x in range(64):
            table[dx][outputs[x] ^ outputs[x ^ dx]] += 1
    return table


def linear_approximation_count(sbox: int, input_mask: int, output_mask: int) -> int:
    """NS(a, b): how many of the 64 inputs x satisfy parity(x & a) = parity(S(x) & b)
    (Matsui, "Linear cryptanalysis method for DES cipher", EUROCRYPT 1993, §3). 32 means no bias."""
    return sum(
        (x & input_mask).bit_count() % 2 == (selection_function(sbox, x) & output_mask).bit_count() % 2
        for x in range(64)
    )


# --- Miller-Rabin opened up ---------------------------------------------------------------------


@dataclass(frozen=True)
class MillerRabinTrace:
    """One base of the strong probable-prime test: n - 1 = 2^s d, the powers a^d, a^2d, ... a^(2^s d)."""

    n: int
    base: int
    s: int
    d: int
    powers: tuple[int, ...]  # a^(2^r d) mod n for r = 0 .. s
    passed: bool  # a^d = 1, or some a^(2^r d) = -1 with r < s

    @property
    def witness(self) -> bool:
        """Whether the base proves n composite."""
        return not self.passed


def miller_rabin_trace(n: int, base: int) -> MillerRabinTrace:
    """Run one Miller-Rabin round on odd n > 3 with base a in [2, n - 2], keeping every power
    (FIPS 186-5 §B.3.1; the same test as :func:`ciphers.primes.miller_rabin`)."""
    if n < 5 or n % 2 == 0:
        raise ValueError("n must be odd and at least 5")
    if not 2 <= base <= n - 2:
        raise ValueError("the base must be in [2, n - 2]")
    s, d = 0, n - 1
    while d % 2 == 0:
        s, d = s + 1, d // 2
    powers = [pow(base, d, n)]
    for _ in range(s):
        powers.append(powers[-1] * powers[-1] % n)
    passed = powers[0] == 1 or (n - 1) in powers[:s]
    return MillerRabinTrace(n, base, s, d, tuple(powers), passed)


# --- measuring and exercises --------------------------------------------------------------------


def best_time(function: Callable[[], object], repeat: int = 3, number: int = 1) -> float:
    """The best of ``repeat`` wall-clock timings of ``number`` calls, in seconds per call.

    The minimum is the least disturbed by other work on the machine (as :mod:`timeit` advises).
    """
    if repeat < 1 or number < 1:
        raise ValueError("repeat and number must be positive")
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            function()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def check_exercise(check: Callable[[F], object], attempt: F, solution: F) -> str:
    """Run ``check`` (which asserts) on the student's ``attempt``; while the attempt is still the
    stub (it raises NotImplementedError), run it on the reference ``solution`` instead, so that the
    check itself is exercised either way. A wrong attempt fails the check's assertion."""
    try:
        check(attempt)
    except NotImplementedError:
        check(solution)
        return "not attempted yet: the reference solution passes the check"
    return "your answer passes the check"

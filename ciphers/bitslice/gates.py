"""S-box circuits as straight-line programs of AND, OR, XOR and NOT gates. INSECURE: DES, for study.

Biham's bitslice DES ("A Fast New DES Implementation in Software", FSE 1997) evaluates
each S-box as a Boolean circuit on whole words. Here a circuit is a list of two-input gates over
six input signals, b1..b6 of FIPS 46-3, "The Cipher Function f". Every signal's value can be a
*truth table*: bit ``v`` of input ``b_i`` is bit ``i`` of the 6-bit number ``v`` (``b1`` the most
significant), so a 64-bit integer holds a signal's value on all 64 inputs at once and one integer
operation evaluates a gate on all of them. That is how the circuits are checked against the
standard's tables, and it is the same computation the cipher runs on its bit slices.

Two liberties keep the circuits short, and cost nothing where they are used:

* **inputs may come complemented**: a circuit may ask for ``~b_i`` rather than ``b_i``. The cipher
  XORs every S-box input with a key bit anyway, so it complements the key bit instead;
* **outputs may come complemented**: the cipher XORs each S-box output into L, and keeps track of
  which bits of L it holds complemented (:mod:`ciphers.bitslice.des`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ciphers.des_tables import S_BOXES

AND, OR, XOR, NOT = "and", "or", "xor", "not"
OPERATORS = {AND: "&", OR: "|", XOR: "^"}
INPUTS = 6
ALL_64 = (1 << 64) - 1


def sbox_value(box: int, b: int) -> int:
    """S_box(b) for a 6-bit b: the outer bits pick the row, the middle four the column (FIPS 46-3)."""
    row = ((b >> 4) & 0b10) | (b & 1)
    return S_BOXES[box - 1][row][(b >> 1) & 0xF]


def input_truth_table(i: int) -> int:
    """The truth table of input b_i (1..6) over the 64 inputs: bit v is set when b_i of v is 1."""
    return sum(1 << v for v in range(64) if (v >> (INPUTS - i)) & 1)


def output_truth_table(box: int, j: int) -> int:
    """The truth table of output bit j (1..4, 1 the leftmost) of S-box ``box`` (1..8)."""
    return sum(1 << v for v in range(64) if (sbox_value(box, v) >> (4 - j)) & 1)


@dataclass(frozen=True)
class Gate:
    """One gate: ``op`` of signals ``a`` and ``b`` (``b`` is None for NOT)."""

    op: str
    a: int
    b: int | None = None


def apply_gate(op: str, a: int, b: int, ones: int) -> int:
    """The value of one gate on words (``ones`` is the all-ones word, for NOT)."""
    if op == AND:
        return a & b
    if op == OR:
        return a | b
    if op == XOR:
        return a ^ b
    return a ^ ones


@dataclass(frozen=True)
class Circuit:
    """A circuit for one S-box: signals 0..5 are the inputs, signal 6 + k is gate k.

    ``complemented_inputs`` and ``complemented_outputs`` are bit masks (bit i - 1 for b_i, bit
    j - 1 for output j): the circuit expects those inputs complemented and delivers those outputs
    complemented.
    """

    box: int
    gates: tuple[Gate, ...]
    outputs: tuple[int, int, int, int]
    complemented_inputs: int = 0
    complemented_outputs: int = 0

    def evaluate(self, inputs: Sequence[int], ones: int) -> list[int]:
        """Every signal's value, given the six input words (already complemented as required)."""
        values = list(inputs)
        for gate in self.gates:
            values.append(apply_gate(gate.op, values[gate.a], values[gate.b or 0], ones))
        return values

    def truth_tables(self) -> list[int]:
        """The four outputs' truth tables, with the complemented inputs and outputs undone."""
        inputs = [
            input_truth_table(i) ^ (ALL_64 if self.complemented_inputs >> (i - 1) & 1 else 0)
            for i in range(1, 7)
        ]
        values = self.evaluate(inputs, ALL_64)
        return [
            values[signal] ^ (ALL_64 if self.complemented_outputs >> j & 1 else 0)
            for j, signal in enumerate(self.outputs)
        ]

    def is_correct(self) -> bool:
        """Whether the circuit computes S_box on all 64 inputs (FIPS 46-3 Appendix 1)."""
        return self.truth_tables() == [output_truth_table(self.box, j) for j in range(1, 5)]

    def gate_counts(self) -> dict[str, int]:
        """How many gates of each kind, and in all."""
        counts = {op: sum(g.op == op for g in self.gates) for op in (AND, OR, XOR, NOT)}
        counts["total"] = len(self.gates)
        return counts


def python_function(circuit: Circuit) -> str:
    """The circuit as a Python function of the six input words and the all-ones word, one line a
    gate, returning the four output words (in the polarity the circuit delivers them)."""
    counts = circuit.gate_counts()
    kinds = ", ".join(f"{counts[op]} {op.upper()}" for op in (AND, OR, XOR, NOT) if counts[op])
    notes = []
    if circuit.complemented_inputs:
        names = [f"b{i}" for i in range(1, 7) if circuit.complemented_inputs >> (i - 1) & 1]
        notes.append(f"takes {_words(names)} complemented")
    if circuit.complemented_outputs:
        names = [str(j) for j in range(1, 5) if circuit.complemented_outputs >> (j - 1) & 1]
        notes.append(f"gives output{'s' if len(names) > 1 else ''} {_words(names)} complemented")
    note = f" It {' and '.join(notes)}." if notes else ""
    names = [f"b{i}" for i in range(1, 7)] + [f"x{k}" for k in range(1, len(circuit.gates) + 1)]
    lines = [
        f"def s{circuit.box}(b1: int, b2: int, b3: int, b4: int, b5: int, b6: int, ones: int) -> Words4:",
        f'    """S{circuit.box} in {counts["total"]} gates ({kinds}).{note}"""',
    ]
    for k, gate in enumerate(circuit.gates, start=1):
        if gate.op == NOT:
            lines.append(f"    x{k} = {names[gate.a]} ^ ones")
        else:
            assert gate.b is not None
            lines.append(f"    x{k} = {names[gate.a]} {OPERATORS[gate.op]} {names[gate.b]}")
    lines.append(f"    return {', '.join(names[o] for o in circuit.outputs)}")
    return "\n".join(lines) + "\n"


def _words(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

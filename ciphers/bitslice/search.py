"""Our search for short S-box circuits, from the FIPS 46-3 tables. INSECURE: DES, for study.

``python -m ciphers.bitslice.search`` rewrites :mod:`ciphers.bitslice.sboxes` from the seeds listed
there (``--search N`` tries N new seeds per S-box first and keeps what is shorter).

Three steps, all on truth tables (:mod:`ciphers.bitslice.gates`: one 64-bit integer per signal):

1. **Multiplexer decomposition with don't-cares** (Kwan, "Reducing the Gate Count of Bitslice DES",
   IACR ePrint 2000/051). To make a signal that equals a target where a *care* mask is set: reuse a
   signal that already does, or one gate on two signals that already exist; otherwise pick a
   selection signal s and build the target as ``h ^ (g & s)`` (or ``h ^ (g | s)``, ``h | (g & s)``,
   ``h & (g | s)``), where h only has to be right where s is 0 and g only where s is 1: two smaller
   problems with half the care bits each, built on all the gates made so far. Or use an existing
   signal p as one side: ``p & r`` if the target is 0 wherever p is (then r only has to be right
   where p is 1), ``p | r`` if the target is 1 wherever p is, or ``p ^ r``: one smaller problem.
   The four outputs share one pool of gates, so later outputs reuse earlier ones. The choices are
   searched (many near the top, fewer further down), in random order from a seed.
2. **Resubstitution with observability don't-cares**: a gate only has to be right on the inputs
   where changing it would change an output; if some existing signal, or one new gate (two, if
   that frees three), agrees with it there, the gate is replaced and whatever fed only it is dropped.
3. **Complements where they are free**: every signal may be held complemented if that saves a NOT
   (De Morgan turns AND into OR on complemented inputs, XOR passes complements on), trying all 64
   ways to complement the inputs; then step 2 again.

The gate count is what the cipher pays per S-box, one big-integer operation per gate. Inputs and
outputs may be complemented for free (see :mod:`ciphers.bitslice.gates`).
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from ciphers.bitslice.gates import (
    ALL_64,
    AND,
    INPUTS,
    NOT,
    OR,
    XOR,
    Circuit,
    Gate,
    apply_gate,
    input_truth_table,
    output_truth_table,
    python_function,
)

RawGate = tuple[str, int, int]  # (op, a, b); b == a for NOT
_AND_WITH, _OR_WITH, _XOR_WITH = 4, 5, 6  # the one-sided forms, after the four multiplexer forms
_INPUT_TABLES = [input_truth_table(i) for i in range(1, INPUTS + 1)]


@dataclasses.dataclass(frozen=True)
class Settings:
    """How wide the decomposition search is: ``widths[d]`` choices of selection signal are tried
    at depth d (1 below that), two-gate matches are looked for above ``two_gate_depth``, existing
    gates are tried as selection signals above ``pool_depth``, and above ``one_sided_depth`` the
    ``one_sided`` existing signals that leave the fewest care bits are tried as one side of an AND
    or OR (and ``one_sided_xor`` of them, closest to the target, as one side of an XOR)."""

    widths: tuple[int, ...] = (24, 24, 8, 4)
    two_gate_depth: int = 1
    pool_depth: int = 0
    one_sided_depth: int = 0
    one_sided: int = 0
    one_sided_xor: int = 0
    resubstitution_rounds: int = 60


class _Net:
    """The pool of signals while searching: 0..5 the inputs, 6..11 their free complements."""

    __slots__ = ("gates", "values")

    def __init__(self) -> None:
        self.values: list[int] = _INPUT_TABLES + [t ^ ALL_64 for t in _INPUT_TABLES]
        self.gates: list[RawGate] = [("in", i, i) for i in range(INPUTS)] + [
            (NOT, i, i) for i in range(INPUTS)
        ]

    def copy(self) -> _Net:
        net = _Net.__new__(_Net)
        net.values, net.gates = list(self.values), list(self.gates)
        return net

    @property
    def cost(self) -> int:
        return len(self.values) - 2 * INPUTS

    def add(self, op: str, a: int, b: int) -> int:
        self.values.append(apply_gate(op, self.values[a], self.values[b], ALL_64))
        self.gates.append((op, a, b))
        return len(self.values) - 1


def _one_gate(values: Sequence[int], target: int, care: int) -> RawGate | None:
    """A gate on two existing signals equal to ``target`` wherever ``care`` is set, if any."""
    ones, zeros = target & care, care & ~target
    first: dict[int, int] = {}
    for i, v in enumerate(values):
        first.setdefault(v & care, i)
    for i, v in enumerate(values):
        j = first.get((target ^ v) & care)
        if j is not None and j != i:
            return (XOR, i, j)
    covering = [i for i, v in enumerate(values) if v & ones == ones]
    for x, i in enumerate(covering):
        extra = values[i] & zeros
        for j in covering[x + 1 :]:
            if not extra & values[j]:
                return (AND, i, j)
    inside = [i for i, v in enumerate(values) if not v & zeros]
    for x, i in enumerate(inside):
        part = values[i] & ones
        for j in inside[x + 1 :]:
            if (part | values[j]) & ones == ones:
                return (OR, i, j)
    return None


def _two_gates(values: Sequence[int], target: int, care: int) -> tuple[RawGate, str, int] | None:
    """``op2(op1(a, b), c)`` equal to ``target`` on ``care``: the inner gate and (op2, c)."""
    ones, zeros = target & care, care & ~target
    first: dict[int, int] = {}
    for i, v in enumerate(values):
        first.setdefault(v & care, i)
    covering = [i for i, v in enumerate(values) if v & ones == ones]
    inside = [i for i, v in enumerate(values) if not v & zeros]
    for a, va in enumerate(values):
        for b in range(a + 1, len(values)):
            vb = values[b]
            for op, u in ((AND, va & vb), (OR, va | vb), (XOR, va ^ vb)):
                c = first.get((target ^ u) & care)
                if c is not None:
                    return (op, a, b), XOR, c
                if u & ones == ones:
                    wrong = u & zeros
                    for c in covering:
                        if not values[c] & wrong:
                            return (op, a, b), AND, c
                if not u & zeros:
                    missing = ones & ~u
                    for c in inside:
                        if values[c] & missing == missing:
                            return (op, a, b), OR, c
    return None


def _leaf(net: _Net, target: int, care: int, two_gates: bool) -> int | None:
    """An existing signal, or one or two new gates, equal to ``target`` on ``care``."""
    values = net.values
    for i, v in enumerate(values):
        if not (v ^ target) & care:
            return i
    found = _one_gate(values, target, care)
    if found is not None:
        return net.add(*found)
    for i, v in enumerate(values):
        if not (v ^ target ^ ALL_64) & care:
            return net.add(NOT, i, i)
    if two_gates:
        pair = _two_gates(values, target, care)
        if pair is not None:
            (op, a, b), op2, c = pair
            return net.add(op2, net.add(op, a, b), c)
    return None


class _Search:
    def __init__(self, settings: Settings, rng: random.Random) -> None:
        self.settings, self.rng = settings, rng

    def synthesize(self, net: _Net, target: int, care: int, depth: int = 0) -> tuple[_Net, int]:
        """A net holding a signal equal to ``target`` on ``care`` (the given net may be extended)."""
        found = _leaf(net, target, care, depth < self.settings.two_gate_depth)
        if found is not None:
            return net, found
        selectors = [
            s for s, v in enumerate(net.values[: 2 * INPUTS]) if care & v and care & ~v
        ]  # inputs and their complements that split the care set
        if depth < self.settings.pool_depth:
            pool = [
                s
                for s in range(2 * INPUTS, len(net.values))
                if care & net.values[s] and care & ~net.values[s]
            ]
            self.rng.shuffle(pool)
            selectors += pool[:8]
        options = [(s, form) for s in selectors for form in range(4)]
        self.rng.shuffle(options)
        widths = self.settings.widths
        options = options[: widths[depth] if depth < len(widths) else 1]
        if depth < self.settings.one_sided_depth:
            options = self.one_sided_options(net, target, care) + options
        best: tuple[_Net, int] | None = None
        for s, form in options:
            trial = self.multiplex(net.copy(), target, care, s, form, depth + 1)
            if best is None or trial[0].cost < best[0].cost:
                best = trial
        assert best is not None
        return best

    def one_sided_options(self, net: _Net, target: int, care: int) -> list[tuple[int, int]]:
        """Existing signals p that can be one side of the target: ``p & r`` where the target is
        0 wherever p is (r then only matters where p is 1), ``p | r`` where the target is 1
        wherever p is, and ``p ^ r``; the most promising first (fewest care bits left for r, or
        fewest bits where p differs from the target)."""
        ands, ors, xors = [], [], []
        for p, v in enumerate(net.values):
            if not target & ~v & care and care & ~v:
                ands.append(((care & v).bit_count(), p))
            if not v & ~target & care and care & v:
                ors.append(((care & ~v).bit_count(), p))
            xors.append((((target ^ v) & care).bit_count(), p))
        count = self.settings.one_sided
        return (
            [(p, _AND_WITH) for _, p in sorted(ands)[:count]]
            + [(p, _OR_WITH) for _, p in sorted(ors)[:count]]
            + [(p, _XOR_WITH) for _, p in sorted(xors)[: self.settings.one_sided_xor]]
        )

    def multiplex(self, net: _Net, t: int, care: int, s: int, form: int, depth: int) -> tuple[_Net, int]:
        """Build ``t`` on ``care`` with selection signal ``s`` in one of four forms, or with the
        existing signal ``s`` as one side of an AND, OR or XOR (``_AND_WITH`` and so on)."""
        v = net.values[s]
        if form == _AND_WITH:  # t = s & r: r is t where s = 1
            net, r = self.synthesize(net, t, care & v, depth)
            return net, net.add(AND, s, r)
        if form == _OR_WITH:  # t = s | r: r is t where s = 0
            net, r = self.synthesize(net, t, care & ~v, depth)
            return net, net.add(OR, s, r)
        if form == _XOR_WITH:  # t = s ^ r
            net, r = self.synthesize(net, t ^ v, care, depth)
            return net, net.add(XOR, s, r)
        if form == 0:  # t = h ^ (g & s): h is t where s = 0, g is t ^ h where s = 1
            net, h = self.synthesize(net, t, care & ~v, depth)
            net, g = self.synthesize(net, t ^ net.values[h], care & v, depth)
            return net, net.add(XOR, h, net.add(AND, g, s))
        if form == 1:  # t = h ^ (g | s): h is ~t where s = 1, g is t ^ h where s = 0
            net, h = self.synthesize(net, t ^ ALL_64, care & v, depth)
            net, g = self.synthesize(net, t ^ net.values[h], care & ~v, depth)
            return net, net.add(XOR, h, net.add(OR, g, s))
        if form == 2:  # t = h | (g & s): h is t where s = 0 and 0 where t is
            net, h = self.synthesize(net, t, care & (~v | ~t), depth)
            net, g = self.synthesize(net, t, care & v & ~net.values[h], depth)
            return net, net.add(OR, h, net.add(AND, g, s))
        # t = h & (g | s): h is t where s = 1 and 1 where t is
        net, h = self.synthesize(net, t, care & (v | t), depth)
        net, g = self.synthesize(net, t, care & ~v & net.values[h], depth)
        return net, net.add(AND, h, net.add(OR, g, s))


def decompose(box: int, seed: int, settings: Settings) -> Circuit:
    """Step 1: one run of the multiplexer decomposition for all four outputs, in a seeded order."""
    rng = random.Random(f"S{box} seed {seed}")
    search = _Search(settings, rng)
    net = _Net()
    order = [1, 2, 3, 4]
    rng.shuffle(order)
    outputs: dict[int, tuple[int, bool]] = {}
    for j in order:
        target = output_truth_table(box, j)
        for complemented in (False, True):  # an output may come out complemented for free
            value = target ^ ALL_64 if complemented else target
            if value in net.values:
                outputs[j] = (net.values.index(value), complemented)
                break
        else:
            net, signal = search.synthesize(net, target, ALL_64)
            outputs[j] = (signal, False)
    return _to_circuit(box, net.gates, [outputs[j] for j in (1, 2, 3, 4)])


def _to_circuit(box: int, raw: Sequence[RawGate], outputs: Sequence[tuple[int, bool]]) -> Circuit:
    """Keep the gates the outputs need; an input used only complemented is passed in complemented."""
    live: set[int] = set()
    stack = [signal for signal, _ in outputs]
    while stack:
        i = stack.pop()
        if i in live:
            continue
        live.add(i)
        op, a, b = raw[i]
        if op != "in":
            stack += [a, b]
    complemented_inputs = 0
    for i in range(INPUTS):
        if INPUTS + i in live and i not in live:
            complemented_inputs |= 1 << i
    renumber: dict[int, int] = {}
    for i in range(INPUTS):
        renumber[i] = i
        if complemented_inputs >> i & 1:
            renumber[INPUTS + i] = i
    gates: list[Gate] = []
    for i in range(INPUTS, len(raw)):
        if i in live and i not in renumber:
            op, a, b = raw[i]
            gates.append(Gate(op, renumber[a]) if op == NOT else Gate(op, renumber[a], renumber[b]))
            renumber[i] = INPUTS + len(gates) - 1
    o1, o2, o3, o4 = (renumber[signal] for signal, _ in outputs)
    complemented_outputs = sum(1 << j for j, (_, c) in enumerate(outputs) if c)
    return Circuit(box, tuple(gates), (o1, o2, o3, o4), complemented_inputs, complemented_outputs)


# --- step 2: resubstitution -----------------------------------------------------------------------


class _Program:
    """A circuit being rewritten: raw gates after the six inputs, outputs with their polarity."""

    def __init__(self, circuit: Circuit) -> None:
        self.box = circuit.box
        self.inputs = [
            t ^ (ALL_64 if circuit.complemented_inputs >> i & 1 else 0) for i, t in enumerate(_INPUT_TABLES)
        ]
        self.complemented_inputs = circuit.complemented_inputs
        self.gates: list[RawGate] = [(g.op, g.a, g.a if g.b is None else g.b) for g in circuit.gates]
        self.outputs = list(circuit.outputs)
        self.complemented_outputs = circuit.complemented_outputs

    def values(self) -> list[int]:
        values = list(self.inputs)
        for op, a, b in self.gates:
            values.append(apply_gate(op, values[a], values[b], ALL_64))
        return values

    def circuit(self) -> Circuit:
        gates = tuple(Gate(op, a) if op == NOT else Gate(op, a, b) for op, a, b in self.gates)
        outputs = (self.outputs[0], self.outputs[1], self.outputs[2], self.outputs[3])
        return Circuit(self.box, gates, outputs, self.complemented_inputs, self.complemented_outputs)

    def care(self, values: Sequence[int], gate: int) -> int:
        """The inputs on which complementing signal ``gate`` changes some output."""
        changed = {gate: values[gate] ^ ALL_64}
        for i in range(gate - INPUTS + 1, len(self.gates)):
            op, a, b = self.gates[i]
            if a in changed or b in changed:
                v = apply_gate(op, changed.get(a, values[a]), changed.get(b, values[b]), ALL_64)
                if v != values[INPUTS + i]:
                    changed[INPUTS + i] = v
        care = 0
        for o in self.outputs:
            if o in changed:
                care |= changed[o] ^ values[o]
        return care

    def fanout_cone(self, gate: int) -> set[int]:
        cone = {gate}
        for i, (_, a, b) in enumerate(self.gates):
            if a in cone or b in cone:
                cone.add(INPUTS + i)
        return cone

    def freed_by(self, gate: int) -> set[int]:
        """The gates that are dead once ``gate`` is (its maximum fanout-free cone)."""
        uses = [0] * (INPUTS + len(self.gates))
        for _, a, b in self.gates:
            uses[a] += 1
            if b != a:
                uses[b] += 1
        for o in self.outputs:
            uses[o] += 1
        dead, stack = {gate}, [gate]
        while stack:
            _, a, b = self.gates[stack.pop() - INPUTS]
            for x in {a, b}:
                uses[x] -= 1
                if x >= INPUTS and uses[x] == 0:
                    dead.add(x)
                    stack.append(x)
        return dead

    def replace(self, gate: int, new: RawGate | int, outer: tuple[str, int] | None = None) -> None:
        """Every use of signal ``gate`` reads ``new`` instead: an existing signal, a new gate, or
        (with ``outer`` = (op, c)) the new gate ``op(new, c)``."""
        nodes: dict[int, RawGate] = {INPUTS + i: g for i, g in enumerate(self.gates)}
        target = new if isinstance(new, int) else max(nodes, default=INPUTS) + 1
        if not isinstance(new, int):
            nodes[target] = new
            if outer is not None:
                nodes[target + 1] = (outer[0], target, outer[1])
                target += 1
        del nodes[gate]
        nodes = {
            i: (op, target if a == gate else a, target if b == gate else b) for i, (op, a, b) in nodes.items()
        }
        self.outputs = [target if o == gate else o for o in self.outputs]
        self._rebuild(nodes)

    def _rebuild(self, nodes: dict[int, RawGate]) -> None:
        """Topologically sort the live gates and number them again."""
        order: list[int] = []
        done: set[int] = set()
        for root in self.outputs:
            stack = [root]
            while stack:
                x = stack[-1]
                if x < INPUTS or x in done:
                    stack.pop()
                    continue
                _, a, b = nodes[x]
                pending = [c for c in (a, b) if c >= INPUTS and c not in done]
                if pending:
                    stack.extend(pending)
                else:
                    done.add(x)
                    order.append(x)
                    stack.pop()
        number = {i: i for i in range(INPUTS)}
        self.gates = []
        for x in order:
            op, a, b = nodes[x]
            self.gates.append((op, number[a], number[b]))
            number[x] = INPUTS + len(self.gates) - 1
        self.outputs = [number[o] for o in self.outputs]
        self._absorb_complements()

    def _absorb_complements(self) -> None:
        """A NOT that only feeds outputs, or that is the only use of an input, is free: drop it."""
        for i, (op, a, _) in enumerate(self.gates):
            if op != NOT:
                continue
            signal = INPUTS + i
            users = [j for j, (_, x, y) in enumerate(self.gates) if signal in (x, y)]
            if not users and signal in self.outputs:
                for k, o in enumerate(self.outputs):
                    if o == signal:
                        self.outputs[k] = a
                        self.complemented_outputs ^= 1 << k
                self._drop_not(signal, a)
                return
            other_uses = [j for j, (_, x, y) in enumerate(self.gates) if j != i and a in (x, y)]
            if a < INPUTS and not other_uses and a not in self.outputs:
                self.inputs[a] ^= ALL_64
                self.complemented_inputs ^= 1 << a
                self._drop_not(signal, a)
                return

    def _drop_not(self, signal: int, source: int) -> None:
        nodes = {INPUTS + i: g for i, g in enumerate(self.gates)}
        del nodes[signal]
        nodes = {
            i: (op, source if a == signal else a, source if b == signal else b)
            for i, (op, a, b) in nodes.items()
        }
        self.outputs = [source if o == signal else o for o in self.outputs]
        self._rebuild(nodes)


def _resubstitution(program: _Program, rng: random.Random, neutral: bool) -> bool:
    """One improving (or, if ``neutral``, cost-preserving) rewrite of some gate; False if none."""
    values = program.values()
    order = list(range(INPUTS, INPUTS + len(program.gates)))
    rng.shuffle(order)
    for gate in order:
        care = program.care(values, gate)
        value = values[gate]
        cone = program.fanout_cone(gate)
        others = [i for i in range(len(values)) if i not in cone]
        for s in others:
            if not (values[s] ^ value) & care:
                program.replace(gate, s)
                return True
        freed = program.freed_by(gate)
        if len(freed) < 2 and not neutral:
            continue
        usable = [i for i in others if i not in freed]
        rng.shuffle(usable)
        for s in usable:
            if not (values[s] ^ value ^ ALL_64) & care:
                program.replace(gate, (NOT, s, s))
                return True
        found = _one_gate([values[i] for i in usable], value, care)
        if found is not None:
            op, a, b = found
            if (op, usable[a], usable[b]) != program.gates[gate - INPUTS]:
                program.replace(gate, (op, usable[a], usable[b]))
                return True
        if len(freed) >= 3:  # two new gates for three or more freed ones
            pair = _two_gates([values[i] for i in usable], value, care)
            if pair is not None:
                (op, a, b), op2, c = pair
                program.replace(gate, (op, usable[a], usable[b]), (op2, usable[c]))
                return True
    return False


def resubstitute(circuit: Circuit, seed: int, rounds: int) -> Circuit:
    """Step 2: rewrite gates against their observability don't-cares while that shortens the
    circuit, with cost-preserving rewrites in between to get out of local minima."""
    rng = random.Random(f"S{circuit.box} resubstitution {seed}")
    program = _Program(circuit)
    program._rebuild({INPUTS + i: g for i, g in enumerate(program.gates)})
    best = program.circuit()
    stale = 0
    while stale < rounds:
        improved = _resubstitution(program, rng, neutral=False)
        if not improved and not _resubstitution(program, rng, neutral=True):
            break
        if len(program.gates) < len(best.gates):
            best, stale = program.circuit(), 0
        else:
            stale += 1
    assert best.is_correct()
    return best


# --- step 3: complements where they are free ------------------------------------------------------


def _with_polarity(circuit: Circuit, flips: int) -> Circuit:
    """The same circuit with every signal held in the polarity the gates make cheapest, starting
    from inputs complemented as ``flips`` says: a NOT becomes a renaming, AND and OR on two
    complemented inputs become OR and AND (De Morgan) with a complemented output, XOR passes the
    complements on, and only an AND or OR on one complemented input pays for a NOT."""
    gates: list[Gate] = []
    held = list(range(INPUTS))  # where each signal of ``circuit`` is, in the new circuit
    polarity = [flips >> i & 1 for i in range(INPUTS)]  # and whether it is held complemented
    opposite: dict[int, int] = {}  # new signal -> its complement, once a NOT has made it

    def emit(op: str, a: int, b: int | None = None) -> int:
        gates.append(Gate(op, a, b))
        return INPUTS + len(gates) - 1

    def flipped(signal: int) -> int:
        if signal not in opposite:
            opposite[signal] = emit(NOT, signal)
            opposite[opposite[signal]] = signal
        return opposite[signal]

    for gate in circuit.gates:
        a, pa = held[gate.a], polarity[gate.a]
        if gate.op == NOT:
            held.append(a)
            polarity.append(pa ^ 1)
            continue
        assert gate.b is not None
        b, pb = held[gate.b], polarity[gate.b]
        if gate.op == XOR:
            held.append(emit(XOR, a, b))
            polarity.append(pa ^ pb)
            continue
        if pa != pb:  # make them agree, on the side whose complement already exists if either does
            if a in opposite or b not in opposite:
                a, pa = flipped(a), pb
            else:
                b, pb = flipped(b), pa
        op = gate.op if not pa else (OR if gate.op == AND else AND)
        held.append(emit(op, a, b))
        polarity.append(pa)
    outputs = tuple(held[o] for o in circuit.outputs)
    complemented_outputs = circuit.complemented_outputs
    for j, o in enumerate(circuit.outputs):
        complemented_outputs ^= polarity[o] << j
    return Circuit(
        circuit.box,
        tuple(gates),
        (outputs[0], outputs[1], outputs[2], outputs[3]),
        circuit.complemented_inputs ^ flips,
        complemented_outputs,
    )


def free_complements(circuit: Circuit) -> Circuit:
    """Step 3: the shortest of :func:`_with_polarity` over the 64 ways to complement the inputs."""
    best = min((_with_polarity(circuit, flips) for flips in range(64)), key=lambda c: len(c.gates))
    return best if len(best.gates) < len(circuit.gates) else circuit


def search(box: int, seed: int, settings: Settings) -> Circuit:
    """The three steps for one seed (resubstitution again if the complements changed anything)."""
    circuit = resubstitute(decompose(box, seed, settings), seed, settings.resubstitution_rounds)
    complemented = free_complements(circuit)
    if complemented is circuit:
        return circuit
    return resubstitute(complemented, seed, settings.resubstitution_rounds)


# --- the generated module -------------------------------------------------------------------------

MODULE = Path(__file__).with_name("sboxes.py")

_HEADER = '''"""The eight DES S-boxes as Boolean circuits, for the bitslice DES. INSECURE: DES, for study.

GENERATED by ``python -m ciphers.bitslice.search`` from the FIPS 46-3 tables in
:mod:`ciphers.des_tables`; do not edit. Running that command again rebuilds this file from the
seeds and settings below (``--search N`` also tries N new seeds per S-box and keeps any shorter
circuit). The tests check every circuit on all 64 inputs of its S-box.

Each function takes the six input words b1..b6 of one S-box (FIPS 46-3, "The Cipher Function f")
and the all-ones word, and returns its four output words: one gate, one big-integer operation, per
line (Biham, "A Fast New DES Implementation in Software", FSE 1997). Where an input or an output
is complemented (see :mod:`ciphers.bitslice.gates`), ``COMPLEMENTED_INPUTS`` and
``COMPLEMENTED_OUTPUTS`` say so, bit i - 1 for b_i and bit j - 1 for output j.
"""

from __future__ import annotations

from collections.abc import Callable

Words4 = tuple[int, int, int, int]
SboxFunction = Callable[[int, int, int, int, int, int, int], Words4]
'''


def render_module(circuits: Sequence[Circuit], seeds: Sequence[int], settings: Settings) -> str:
    """The text of :mod:`ciphers.bitslice.sboxes` for these circuits (S1..S8 in order)."""
    parts = [_HEADER]
    fields = "".join(f'    "{name}": {value!r},\n' for name, value in dataclasses.asdict(settings).items())
    parts.append(f"SETTINGS = {{\n{fields}}}\n")
    parts.append(f"SEEDS = {tuple(seeds)!r}\n")
    parts.append(f"GATES = {tuple(len(c.gates) for c in circuits)!r}\n")
    parts.append(f"COMPLEMENTED_INPUTS = {tuple(c.complemented_inputs for c in circuits)!r}\n")
    parts.append(f"COMPLEMENTED_OUTPUTS = {tuple(c.complemented_outputs for c in circuits)!r}\n")
    for circuit in circuits:
        parts.append("\n\n" + python_function(circuit))
    parts.append("\n\nSBOXES: tuple[SboxFunction, ...] = (s1, s2, s3, s4, s5, s6, s7, s8)\n")
    return "".join(parts)


def regenerate(seeds: Sequence[int], settings: Settings) -> list[Circuit]:
    """The circuits the generated module holds, rebuilt from its seeds and settings."""
    return [search(box, seed, settings) for box, seed in zip(range(1, 9), seeds, strict=True)]


def main(argv: Sequence[str] | None = None) -> int:
    """Rebuild :mod:`ciphers.bitslice.sboxes` (``--check``: only say whether it would change)."""
    parser = argparse.ArgumentParser(prog="python -m ciphers.bitslice.search", description=main.__doc__)
    parser.add_argument("--search", type=int, default=0, metavar="N", help="also try N new seeds per S-box")
    parser.add_argument("--check", action="store_true", help="exit 1 if the module would change")
    args = parser.parse_args(argv)
    from ciphers.bitslice import sboxes

    settings = Settings(**cast(dict[str, Any], sboxes.SETTINGS))
    seeds = list(sboxes.SEEDS)
    circuits = []
    for box, seed in zip(range(1, 9), seeds, strict=True):
        start = time.perf_counter()
        best = search(box, seed, settings)
        for candidate in range(max(seeds) + 1, max(seeds) + 1 + args.search):
            circuit = search(box, candidate, settings)
            if len(circuit.gates) < len(best.gates):
                best, seeds[box - 1] = circuit, candidate
        circuits.append(best)
        print(f"S{box}: {len(best.gates)} gates (seed {seeds[box - 1]}, {time.perf_counter() - start:.0f} s)")
    text = render_module(circuits, seeds, settings)
    if args.check:
        same = MODULE.read_text(encoding="utf-8") == text
        print("unchanged" if same else f"{MODULE} would change")
        return 0 if same else 1
    MODULE.write_text(text, encoding="utf-8")
    print(f"wrote {MODULE}: {sum(len(c.gates) for c in circuits)} gates in all")
    print("now run python -m ciphers.bitslice.inline, which copies the circuits into the round")
    return 0


if __name__ == "__main__":
    sys.exit(main())

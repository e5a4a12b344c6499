"""The S-box circuits of the bitslice DES: every one right on all 64 inputs of its S-box, and the
program that made them (ciphers.bitslice.search) making right circuits from the FIPS 46-3 tables."""

from __future__ import annotations

import inspect
from typing import Any, cast

import pytest

from ciphers.bitslice import sboxes
from ciphers.bitslice.gates import (
    ALL_64,
    AND,
    Circuit,
    Gate,
    input_truth_table,
    output_truth_table,
    python_function,
    sbox_value,
)
from ciphers.bitslice.search import (
    Settings,
    _with_polarity,
    decompose,
    free_complements,
    render_module,
    resubstitute,
    search,
)
from ciphers.des import selection_function

BOXES = range(1, 9)


def truth_tables_of(box: int) -> list[int]:
    """Run the generated function for S-box ``box`` once, on the 64 inputs at once (64-bit words)."""
    flips = sboxes.COMPLEMENTED_INPUTS[box - 1]
    inputs = [input_truth_table(i) ^ (ALL_64 if flips >> (i - 1) & 1 else 0) for i in range(1, 7)]
    outputs = sboxes.SBOXES[box - 1](*inputs, ALL_64)
    flips = sboxes.COMPLEMENTED_OUTPUTS[box - 1]
    return [word ^ (ALL_64 if flips >> j & 1 else 0) for j, word in enumerate(outputs)]


def test_truth_tables_are_the_standards_tables() -> None:
    for box in BOXES:
        for b in range(64):
            assert sbox_value(box, b) == selection_function(box, b)
            assert all(
                output_truth_table(box, j) >> b & 1 == sbox_value(box, b) >> (4 - j) & 1 for j in range(1, 5)
            )


@pytest.mark.parametrize("box", BOXES)
def test_generated_circuit_is_the_sbox_on_all_64_inputs(box: int) -> None:
    tables = truth_tables_of(box)
    for b in range(64):
        value = sum((tables[j] >> b & 1) << (3 - j) for j in range(4))
        assert value == selection_function(box, b), f"S{box}({b:06b})"


@pytest.mark.parametrize("box", BOXES)
def test_gate_counts_are_the_lines_of_the_generated_functions(box: int) -> None:
    source = python_function_source(box)
    assert source.count("\n    x") == sboxes.GATES[box - 1]
    assert f"in {sboxes.GATES[box - 1]} gates" in source


def python_function_source(box: int) -> str:
    return inspect.getsource(sboxes.SBOXES[box - 1])


def test_the_search_makes_right_circuits_from_the_tables() -> None:
    """A quick run of both steps (narrow search, few rewrites) for two S-boxes."""
    quick = Settings(widths=(4, 2), two_gate_depth=0, resubstitution_rounds=5)
    for box in (1, 5):
        first = decompose(box, seed=0, settings=quick)
        assert first.is_correct()
        second = resubstitute(first, seed=0, rounds=quick.resubstitution_rounds)
        assert second.is_correct() and len(second.gates) <= len(first.gates)


def test_complements_are_moved_without_changing_the_function() -> None:
    """Holding signals complemented, from any of the 64 input polarities, computes the same S-box."""
    circuit = decompose(6, 0, Settings(widths=(4, 2), two_gate_depth=0))
    assert all(_with_polarity(circuit, flips).is_correct() for flips in range(64))
    shorter = free_complements(circuit)
    assert shorter.is_correct() and len(shorter.gates) <= len(circuit.gates)


def test_rendered_functions_compute_the_circuit() -> None:
    circuit = resubstitute(decompose(3, 1, Settings(widths=(4, 2), two_gate_depth=0)), 1, 3)
    namespace: dict[str, object] = {}
    exec(python_function(circuit), {"Words4": tuple}, namespace)  # the text the module is made of
    function = namespace["s3"]
    inputs = [
        input_truth_table(i) ^ (ALL_64 if circuit.complemented_inputs >> (i - 1) & 1 else 0)
        for i in range(1, 7)
    ]
    assert callable(function)
    outputs = function(*inputs, ALL_64)
    values = circuit.evaluate(inputs, ALL_64)
    assert list(outputs) == [values[o] for o in circuit.outputs]
    text = render_module([circuit] * 8, [1] * 8, Settings())
    assert text.startswith('"""The eight DES S-boxes') and "GENERATED" in text


def test_complemented_inputs_and_outputs_are_honoured() -> None:
    """A one-gate circuit for 'output 1 of S1' would be wrong; complement flags are checked."""
    wrong = Circuit(1, (Gate(AND, 0, 1),), (6, 6, 6, 6))
    assert not wrong.is_correct()
    assert wrong.gate_counts() == {"and": 1, "or": 0, "xor": 0, "not": 0, "total": 1}


def test_regenerating_s4_gives_the_committed_circuit() -> None:
    """python -m ciphers.bitslice.search --check does this for all eight (about 30 s); S4 is the
    quickest to rebuild from its recorded seed, so the suite rebuilds that one."""
    settings = Settings(**cast(dict[str, Any], sboxes.SETTINGS))
    circuit = search(4, sboxes.SEEDS[3], settings)
    assert python_function(circuit) == inspect.getsource(sboxes.s4)
    assert (circuit.complemented_inputs, circuit.complemented_outputs) == (
        sboxes.COMPLEMENTED_INPUTS[3],
        sboxes.COMPLEMENTED_OUTPUTS[3],
    )

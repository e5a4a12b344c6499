"""The readable DES's intermediate values against a published worked example, step by step.

Grabbe's "The DES Algorithm Illustrated" prints the 16 subkeys, IP's output, the whole of round 1
(E, the key mix, the S-boxes, f) and L16/R16 for one block; the trace must reproduce each.
"""

from typing import Any

import pytest

from ciphers.des import key_schedule, trace_block
from ciphers.vectors import vector_file
from ciphers.vectors.loader import load_json

GRABBE = load_json(vector_file("grabbe_des_illustrated.json"))


def bits(text: str) -> int:
    """A bit string as printed (spaces between groups) to an integer."""
    return int(text.replace(" ", ""), 2)


@pytest.fixture(scope="module")
def trace() -> Any:
    return trace_block(bytes.fromhex(GRABBE["key"]), bytes.fromhex(GRABBE["plaintext"]))


@pytest.mark.parametrize("n", range(1, 17), ids=lambda n: f"grabbe:K{n}")
def test_subkeys(n: int) -> None:
    assert key_schedule(bytes.fromhex(GRABBE["key"]))[n - 1] == bits(GRABBE["subkeys"][n - 1])


def test_initial_permutation_and_halves(trace: Any) -> None:
    assert trace.ip_output == bits(GRABBE["ip"])
    assert trace.ip_output >> 32 == bits(GRABBE["l0"])
    assert trace.ip_output & 0xFFFFFFFF == bits(GRABBE["r0"])


def test_round_one_opened_up(trace: Any) -> None:
    first, expected = trace.rounds[0], GRABBE["round1"]
    assert first.expanded == bits(expected["expanded"])
    assert first.xored == bits(expected["xored"])
    outputs = [int(group, 2) for group in expected["sbox_outputs"].split()]
    assert list(first.sbox_outputs) == outputs
    assert first.p_output == bits(expected["f"])
    assert first.L == bits(GRABBE["r0"])
    assert first.R == bits(expected["r1"])


def test_last_round_preoutput_and_ciphertext(trace: Any) -> None:
    last = trace.rounds[-1]
    assert (last.L, last.R) == (bits(GRABBE["l16"]), bits(GRABBE["r16"]))
    assert trace.preoutput == bits(GRABBE["r16l16"])
    assert trace.output.hex() == GRABBE["ciphertext"]
    assert int(GRABBE["ciphertext"], 16) == bits(GRABBE["ciphertext_bits"])

"""The DES trace: its result is the published ciphertext, its rounds obey FIPS 46-3's equations,
its intermediate values match a published worked example, and avalanche behaves as it must."""

from __future__ import annotations

import json
from collections.abc import Iterator
from statistics import mean
from typing import Any

import pytest

from ciphers.bits import permute
from ciphers.des import DESTrace, avalanche, feistel, key_schedule, trace_block
from ciphers.des_tables import IP, IP_INV, S_BOXES, E, P
from ciphers.rng import DeterministicRNG, randbelow
from ciphers.vectors.loader import load_json
from tests import kat

MASK32 = (1 << 32) - 1
SP800_17_GROUPS: list[dict[str, Any]] = load_json(kat.vector_path("des", "des_sp800_17_kat.json"))["groups"]


def sp800_17() -> Iterator[Any]:
    for group in SP800_17_GROUPS:
        for i, v in enumerate(group["vectors"]):
            yield pytest.param(v["key"], v["plaintext"], v["ciphertext"], id=f"SP800-17:{group['name']}#{i}")


SP800_17 = list(sp800_17())


def sbox(n: int, six: int) -> int:
    """S_n looked up straight from the printed table: row = first and last bit, column = middle four."""
    row = int(f"{six:06b}"[0] + f"{six:06b}"[5], 2)
    column = int(f"{six:06b}"[1:5], 2)
    return S_BOXES[n - 1][row][column]


def check_equations(trace: DESTrace) -> None:
    """Every round of ``trace`` follows FIPS 46-3, step by step, from the printed tables."""
    assert trace.ip_output == permute(int.from_bytes(trace.block, "big"), IP, 64)
    left, right = trace.ip_output >> 32, trace.ip_output & MASK32
    order = trace.subkeys[::-1] if trace.decrypt else trace.subkeys
    assert [r.round for r in trace.rounds] == list(range(1, 17))
    for step, subkey in zip(trace.rounds, order, strict=True):
        assert step.subkey == subkey
        assert step.expanded == permute(right, E, 32)
        assert step.xored == step.expanded ^ subkey
        assert step.sbox_inputs == tuple((step.xored >> (42 - 6 * j)) & 0x3F for j in range(8))
        assert step.sbox_outputs == tuple(sbox(n, b) for n, b in enumerate(step.sbox_inputs, start=1))
        joined = int("".join(f"{s:x}" for s in step.sbox_outputs), 16)
        assert step.p_output == permute(joined, P, 32)
        assert step.p_output == feistel(right, subkey)
        assert right == step.L  # L_n = R_(n-1)
        assert left ^ step.p_output == step.R  # R_n = L_(n-1) xor f(R_(n-1), K_n)
        left, right = step.L, step.R
    assert trace.preoutput == (right << 32) | left  # R16 L16
    assert trace.output == permute(trace.preoutput, IP_INV, 64).to_bytes(8, "big")


@pytest.mark.parametrize(("key", "plaintext", "ciphertext"), SP800_17)
def test_trace_gives_the_vector_and_obeys_the_equations(key: str, plaintext: str, ciphertext: str) -> None:
    k, p, c = bytes.fromhex(key), bytes.fromhex(plaintext), bytes.fromhex(ciphertext)
    forward = trace_block(k, p)
    assert forward.output == c
    assert forward.subkeys == tuple(key_schedule(k))
    check_equations(forward)
    backward = trace_block(k, c, decrypt=True)
    assert backward.output == p
    check_equations(backward)


def test_sp800_17_appendix_a_example() -> None:
    """SP 800-17 Appendix A walks through key 10316E028C8F3B4A on the zero block."""
    (group,) = [g for g in SP800_17_GROUPS if g["name"] == "sample_round_outputs"]
    (vector,) = group["vectors"]
    trace = trace_block(bytes.fromhex(vector["key"]), bytes.fromhex(vector["plaintext"]))
    assert trace.to_dict()["ciphertext"] == vector["ciphertext"]
    check_equations(trace)


def textbook() -> dict[str, str]:
    """The Stinson/Grabbe worked example from des_misc_kat.json."""
    vectors = load_json(kat.vector_path("des", "des_misc_kat.json"))["vectors"]
    (vector,) = [v for v in vectors if v["name"] == "textbook_stinson_grabbe"]
    return {name: vector[name] for name in ("key", "plaintext", "ciphertext")}


def test_to_dict_is_json_with_the_required_keys() -> None:
    v = textbook()
    trace = trace_block(bytes.fromhex(v["key"]), bytes.fromhex(v["plaintext"]))
    data = json.loads(json.dumps(trace.to_dict()))
    assert data["ciphertext"] == v["ciphertext"]
    assert data["plaintext"] == data["input"] == v["plaintext"]
    assert data["key"] == v["key"]
    assert len(data["rounds"]) == 16
    for number, (entry, step) in enumerate(zip(data["rounds"], trace.rounds, strict=True), start=1):
        assert entry["round"] == number
        assert int(entry["subkey"], 16) == step.subkey and len(entry["subkey"]) == 12
        assert int(entry["L"], 16) == step.L and len(entry["L"]) == 8
        assert int(entry["R"], 16) == step.R and len(entry["R"]) == 8
        assert [int(x, 16) for x in entry["sbox_outputs"]] == list(step.sbox_outputs)
        assert [int(x, 16) for x in entry["sbox_inputs"]] == list(step.sbox_inputs)


def test_to_dict_of_a_decryption_names_both_texts() -> None:
    v = textbook()
    data = trace_block(bytes.fromhex(v["key"]), bytes.fromhex(v["ciphertext"]), decrypt=True).to_dict()
    assert data["operation"] == "decrypt"
    assert data["plaintext"] == data["output"] == v["plaintext"]
    assert data["ciphertext"] == data["input"] == v["ciphertext"]


# --- avalanche ----------------------------------------------------------------------------------

rng = DeterministicRNG("avalanche")
SAMPLES = [(rng.bytes(8), rng.bytes(8), 1 + randbelow(64, rng)) for _ in range(60)]


def test_avalanche_of_a_plaintext_bit() -> None:
    runs = [avalanche(k, p, flip_plaintext_bit=bit) for k, p, bit in SAMPLES]
    for distances in runs:
        assert len(distances) == 17
        assert distances[0] == 1  # IP moves the flipped bit; it does not multiply it
        assert distances[1] <= 1 + 8  # one half unchanged but for that bit; f spreads it to <= 2 S-boxes
    assert 24 <= mean(d[16] for d in runs) <= 40
    assert 24 <= mean(d[5] for d in runs) <= 40  # by round 5 the change has spread everywhere


def test_avalanche_of_a_key_bit() -> None:
    runs = []
    for k, p, bit in SAMPLES:
        bit = bit if bit % 8 else bit - 1  # a key bit, not a parity bit
        runs.append(avalanche(k, p, flip_key_bit=bit))
    for distances in runs:
        assert distances[0] == 0  # the key does not enter IP
    assert 24 <= mean(d[16] for d in runs) <= 40


@pytest.mark.parametrize("parity_bit", [8, 16, 24, 32, 40, 48, 56, 64])
def test_avalanche_of_a_parity_bit_is_nothing(parity_bit: int) -> None:
    k, p, _ = SAMPLES[0]
    assert avalanche(k, p, flip_key_bit=parity_bit) == [0] * 17


@pytest.mark.parametrize("bit", [0, 65, -1])
def test_avalanche_bit_out_of_range(bit: int) -> None:
    with pytest.raises(ValueError, match=r"1\.\.64"):
        avalanche(bytes(8), bytes(8), flip_plaintext_bit=bit)


def test_avalanche_needs_a_flip() -> None:
    with pytest.raises(ValueError, match="flip"):
        avalanche(bytes(8), bytes(8))

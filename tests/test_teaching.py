"""The notebooks' helpers: tables, hex dumps, S-box statistics from the literature, Miller-Rabin
opened up (against our own test and a textbook example), and the exercise checker."""

from __future__ import annotations

import pytest
import sympy

from ciphers import teaching
from ciphers.des import trace_block
from ciphers.des_tables import S_BOXES
from ciphers.primes import miller_rabin
from ciphers.vectors import vector_file
from ciphers.vectors.loader import load_json

GRABBE = load_json(vector_file("grabbe_des_illustrated.json"))


# --- tables -------------------------------------------------------------------------------------


def test_table_renders_escaped_html_and_aligned_text() -> None:
    table = teaching.Table.of(["x", "name"], [[1, "<b>"], [22, "ok"]], caption="c & d")
    html = table._repr_html_()
    assert "<th>x</th><th>name</th>" in html
    assert "<td>&lt;b&gt;</td>" in html and "<b>" not in html
    assert "<caption>c &amp; d</caption>" in html
    assert str(table).splitlines() == ["c & d", " x  name", " 1   <b>", "22    ok"]


def test_table_rejects_ragged_rows() -> None:
    with pytest.raises(ValueError, match="as many cells"):
        teaching.Table.of(["a", "b"], [[1]])


def test_grid_lays_values_out_in_rows_and_pads_the_last() -> None:
    table = teaching.grid(list(range(10)), 4)
    assert table.header == ("1", "2", "3", "4")
    assert table.rows == (("0", "1", "2", "3"), ("4", "5", "6", "7"), ("8", "9", "", ""))
    with pytest.raises(ValueError):
        teaching.grid([1], 0)


def test_round_table_shows_grabbes_first_round() -> None:
    trace = trace_block(bytes.fromhex(GRABBE["key"]), bytes.fromhex(GRABBE["plaintext"]))
    table = teaching.round_table(trace.rounds)
    assert len(table.rows) == 16
    first = dict(zip(table.header, table.rows[0], strict=True))

    def hex_of(bits: str, digits: int) -> str:
        return f"{int(bits.replace(' ', ''), 2):0{digits}x}"

    assert first["n"] == "1"
    assert first["K_n"] == hex_of(GRABBE["subkeys"][0], 12)
    assert first["E(R_n-1)"] == hex_of(GRABBE["round1"]["expanded"], 12)
    assert first["E xor K"] == hex_of(GRABBE["round1"]["xored"], 12)
    assert first["S1..S8"] == "".join(f"{int(b, 2):x}" for b in GRABBE["round1"]["sbox_outputs"].split())
    assert first["f = P(S)"] == hex_of(GRABBE["round1"]["f"], 8)
    assert first["R_n"] == hex_of(GRABBE["round1"]["r1"], 8)
    last = dict(zip(table.header, table.rows[-1], strict=True))
    assert (last["L_n"], last["R_n"]) == (hex_of(GRABBE["l16"], 8), hex_of(GRABBE["r16"], 8))


def test_hexdump_layout() -> None:
    assert teaching.hexdump(b"ABC\x00\xff", width=4).splitlines() == [
        "00000000  41 42 43 00  ABC.",
        "00000004  ff           .",
    ]
    assert teaching.hexdump(b"") == ""


# --- S-box statistics ---------------------------------------------------------------------------


def sbox_by_hand(n: int, x: int) -> int:
    """S_n(x) read straight off the printed table: row = bits 1 and 6, column = bits 2..5."""
    return S_BOXES[n - 1][(x >> 5) << 1 | (x & 1)][(x >> 1) & 0xF]


@pytest.mark.parametrize("n", range(1, 9), ids=lambda n: f"S{n}")
def test_difference_distribution_matches_a_direct_count(n: int) -> None:
    table = teaching.difference_distribution(n)
    for dx in (0, 1, 0x34, 63):
        counts = [0] * 16
        for x in range(64):
            counts[sbox_by_hand(n, x) ^ sbox_by_hand(n, x ^ dx)] += 1
        assert table[dx] == counts
    assert table[0] == [64] + [0] * 15
    assert all(sum(row) == 64 and all(c % 2 == 0 for c in row) for row in table)
    # Biham and Shamir 1991: no non-zero input difference of a DES S-box gives one output difference
    # more than 16 times in 64.
    assert max(max(row) for row in table[1:]) <= 16


def test_difference_distribution_entries_from_biham_and_shamir() -> None:
    # Biham and Shamir 1991, §2: in S1, input difference 34x gives output difference 2x for 16 of
    # the 64 pairs. And a one-bit input difference changes at least two output bits (Coppersmith,
    # "The Data Encryption Standard (DES) and its strength against attacks", IBM J. R&D 38(3), 1994,
    # design criterion S-3).
    assert teaching.difference_distribution(1)[0x34][0x2] == 16
    for n in range(1, 9):
        table = teaching.difference_distribution(n)
        assert all(table[1 << bit][dy] == 0 for bit in range(6) for dy in range(16) if dy.bit_count() < 2)


def test_matsui_best_linear_approximation_of_s5() -> None:
    # Matsui 1993, §3: NS_5(16, 15) = 12, the most biased approximation of any DES S-box.
    assert teaching.linear_approximation_count(5, 16, 15) == 12
    assert teaching.linear_approximation_count(5, 0, 0) == 64


# --- Miller-Rabin -------------------------------------------------------------------------------


def test_miller_rabin_trace_of_the_textbook_example() -> None:
    # 221 = 13 * 17: 174 is a strong liar, 137 a witness (n - 1 = 2^2 * 55).
    liar = teaching.miller_rabin_trace(221, 174)
    assert (liar.s, liar.d) == (2, 55)
    assert liar.powers == (47, 220, 1)
    assert liar.passed and not liar.witness
    assert teaching.miller_rabin_trace(221, 137).witness


@pytest.mark.parametrize("n", [*range(5, 400, 2), 561, 2047, 3277, 8911])
def test_miller_rabin_trace_agrees_with_the_library_for_every_base(n: int) -> None:
    for a in range(2, min(n - 1, 60)):
        trace = teaching.miller_rabin_trace(n, a)
        assert trace.passed == miller_rabin(n, [a])
        assert trace.powers[-1] == pow(a, n - 1, n)
        assert 2**trace.s * trace.d == n - 1 and trace.d % 2 == 1
    if sympy.isprime(n):
        assert all(teaching.miller_rabin_trace(n, a).passed for a in range(2, n - 1))


def test_miller_rabin_trace_rejects_bad_inputs() -> None:
    for n, a in ((4, 2), (3, 2), (9, 1), (9, 8)):
        with pytest.raises(ValueError):
            teaching.miller_rabin_trace(n, a)


# --- measuring and exercises --------------------------------------------------------------------


def test_best_time_calls_repeat_times_number() -> None:
    calls = []
    seconds = teaching.best_time(lambda: calls.append(1), repeat=3, number=4)
    assert len(calls) == 12
    assert 0 <= seconds < 1
    with pytest.raises(ValueError):
        teaching.best_time(lambda: None, repeat=0)


def _square_check(f: object) -> None:
    assert callable(f)
    assert [f(x) for x in range(5)] == [0, 1, 4, 9, 16]


def _stub(x: int) -> int:
    raise NotImplementedError


def test_check_exercise_falls_back_to_the_solution_only_for_a_stub() -> None:
    solution = lambda x: x * x  # noqa: E731
    assert teaching.check_exercise(_square_check, _stub, solution).startswith("not attempted")
    assert teaching.check_exercise(_square_check, lambda x: x**2, solution).startswith("your answer")
    with pytest.raises(AssertionError):
        teaching.check_exercise(_square_check, lambda x: x + x, solution)
    with pytest.raises(AssertionError):
        teaching.check_exercise(_square_check, _stub, lambda x: x)

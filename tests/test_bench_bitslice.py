"""bench/bitslice.py's small-input table runs (on two sizes, a few runs) and judges what it measured,
so the bench cannot rot; its baseline is the modes' code from before the bitslice path."""

from __future__ import annotations

import io
import re
import warnings

import pytest
from rich.console import Console

from bench import bitslice
from ciphers import modes
from ciphers.des_fast import FastDES
from ciphers.errors import InsecureWarning
from ciphers.rng import DeterministicRNG


def test_the_small_table_judges_the_default_against_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bitslice, "SMALL_SIZES", (8, 64, 2048))
    monkeypatch.setattr(bitslice, "SMALL_RUNS", 3)
    out = io.StringIO()
    rng = DeterministicRNG("small bench")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        bitslice.small_table(Console(file=out, width=300), rng.bytes(24), rng)
    text = " ".join(out.getvalue().split())  # the console wraps lines
    assert text.count("before ÷ before") == 2  # the resolution column, DES and 3DES
    assert "DES: default ÷ before" in text and "3DES: default ÷ before" in text
    assert "the size check" in text
    assert len(re.findall(r"apart: (?:no slower|slower)", text)) == 2  # a verdict each


def test_the_baseline_is_ecb_as_the_modes_compute_it() -> None:
    rng = DeterministicRNG("before")
    key, data = rng.bytes(8), rng.bytes(100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        cipher = FastDES(key, bitslice=False)
        assert bitslice.ecb_before_bitslice(cipher, data) == modes.ecb_encrypt(cipher, data)
        assert bitslice.ecb_before_bitslice(cipher, data[:96], pad=False) == modes.ecb_encrypt(
            FastDES(key), data[:96], pad=False
        )

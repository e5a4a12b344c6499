"""``python -m ciphers des|3des``: round trips, the IV prefix, the trace, and one clean line per bad input.

Expected ciphertexts come from the vector files (des_misc_kat.json, des_sp800_17_kat.json) or from
PyCryptodome, never from our own code.
"""

from __future__ import annotations

import io
import itertools
import json
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from Crypto.Cipher import DES as RefDES
from Crypto.Cipher import DES3 as RefDES3
from Crypto.Util.Padding import pad as ref_pad

from ciphers import modes
from ciphers.vectors.loader import load_json
from tests import kat
from tests.cli_support import run

MISC: list[dict[str, Any]] = load_json(kat.vector_path("des", "des_misc_kat.json"))["vectors"]
SP800_17: list[dict[str, str]] = [
    v for g in load_json(kat.vector_path("des", "des_sp800_17_kat.json"))["groups"] for v in g["vectors"]
]
TEXTBOOK = next(v for v in MISC if v["name"] == "textbook_stinson_grabbe")
DES_KEY = "0123456789abcdef"
TDES_KEY = "385d7189a5c3d485e1370aa5d408082b5ccccb5e19f2d90e"
MESSAGE = bytes(range(256)) + b"\r\n\x00 binary-safe \x1a\xff"


def invoke(
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    stdin: bytes = b"",
) -> tuple[int, bytes, str]:
    """Run the CLI in-process: (exit status, stdout bytes, stderr text)."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    status = run(argv)
    out, err = capsysbinary.readouterr()
    return status, out, err.decode()


def run_module(args: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m ciphers`` in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "ciphers", *args], input=stdin, capture_output=True, timeout=60, check=False
    )


def _iv_args(mode: str, iv: str) -> list[str]:
    return [] if mode == "ecb" else ["--iv", iv]


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize(("family", "key"), [("des", DES_KEY), ("3des", TDES_KEY), ("3des", TDES_KEY[:32])])
@pytest.mark.parametrize("mode", modes.MODES)
def test_round_trip_through_files(
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
    family: str,
    key: str,
    mode: str,
) -> None:
    plain, cipher, back = tmp_path / "plain.bin", tmp_path / "cipher.bin", tmp_path / "back.bin"
    plain.write_bytes(MESSAGE)
    common = [family, "--key", key, "--mode", mode]
    status, out, _ = invoke(
        capsysbinary,
        monkeypatch,
        [common[0], "encrypt", *common[1:], "--in", str(plain), "--out", str(cipher)],
    )
    assert (status, out) == (0, b"")
    status, out, _ = invoke(
        capsysbinary,
        monkeypatch,
        [common[0], "decrypt", *common[1:], "--in", str(cipher), "--out", str(back)],
    )
    assert (status, out) == (0, b"")
    assert back.read_bytes() == MESSAGE
    produced = cipher.read_bytes()
    prefix = 0 if mode == "ecb" else 8
    body = len(MESSAGE) // 8 * 8 + 8 if mode in modes.PADDED_MODES else len(MESSAGE)
    assert len(produced) == prefix + body


@pytest.mark.parametrize("family", ["des", "3des"])
def test_round_trip_through_stdin_and_stdout_in_a_child_process(family: str) -> None:
    key = DES_KEY if family == "des" else TDES_KEY
    encrypted = run_module([family, "encrypt", "--key", key], stdin=MESSAGE)
    assert encrypted.returncode == 0, encrypted.stderr
    decrypted = run_module([family, "decrypt", "--key", key, "--quiet"], stdin=encrypted.stdout)
    assert decrypted.returncode == 0, decrypted.stderr
    assert decrypted.stdout == MESSAGE
    assert decrypted.stderr == b""


def test_random_iv_is_written_first_and_fresh_each_time(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = bytes.fromhex(DES_KEY)
    outputs = []
    for _ in range(2):
        status, out, _ = invoke(capsysbinary, monkeypatch, ["des", "encrypt", "--key", DES_KEY], MESSAGE)
        assert status == 0
        iv, body = out[:8], out[8:]
        assert body == RefDES.new(key, RefDES.MODE_CBC, iv=iv).encrypt(ref_pad(MESSAGE, 8))
        outputs.append(out)
    assert outputs[0][:8] != outputs[1][:8]


def test_decrypt_reads_the_iv_prefix_written_by_pycryptodome(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, iv = bytes.fromhex(TDES_KEY), bytes.fromhex("c141b5fccd28dc8a")
    prefixed = iv + RefDES3.new(key, RefDES3.MODE_CTR, nonce=b"", initial_value=iv).encrypt(MESSAGE)
    status, out, _ = invoke(
        capsysbinary, monkeypatch, ["3des", "decrypt", "--key", TDES_KEY, "--mode", "ctr"], prefixed
    )
    assert (status, out) == (0, MESSAGE)


def _cli_mode(vector: dict[str, Any]) -> str:
    mode = str(vector["mode"]).lower()
    return "cfb8" if mode == "cfb" and vector.get("segment_bits") == 8 else mode


@pytest.mark.parametrize("vector", MISC, ids=[f"des_misc_kat:{v['name']}" for v in MISC])
def test_explicit_iv_reproduces_the_vector(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch, vector: dict[str, Any]
) -> None:
    family = "des" if len(vector["key"]) == 16 else "3des"
    mode = _cli_mode(vector)
    args = ["--key", vector["key"], "--mode", mode, "--no-pad", *_iv_args(mode, vector.get("iv", ""))]
    plaintext, ciphertext = bytes.fromhex(vector["plaintext"]), bytes.fromhex(vector["ciphertext"])
    status, out, _ = invoke(capsysbinary, monkeypatch, [family, "encrypt", *args], plaintext)
    assert (status, out) == (0, ciphertext)
    status, out, _ = invoke(capsysbinary, monkeypatch, [family, "decrypt", *args], ciphertext)
    assert (status, out) == (0, plaintext)


# --- notes and warnings on stderr -----------------------------------------------------------------


def test_single_des_and_ecb_notes_go_to_stderr_unless_quiet(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["des", "encrypt", "--key", DES_KEY, "--mode", "ecb"]
    status, out, err = invoke(capsysbinary, monkeypatch, argv, b"12345678")
    expected = RefDES.new(bytes.fromhex(DES_KEY), RefDES.MODE_ECB).encrypt(ref_pad(b"12345678", 8))
    assert (status, out) == (0, expected)
    lines = err.splitlines()
    assert len(lines) == 2
    assert "56-bit" in lines[0]
    assert "ECB" in lines[1]
    status, out, err = invoke(capsysbinary, monkeypatch, [*argv, "--quiet"], b"12345678")
    assert (status, out, err) == (0, expected, "")


def test_3des_cbc_has_no_note(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, _, err = invoke(capsysbinary, monkeypatch, ["3des", "encrypt", "--key", TDES_KEY], b"x")
    assert (status, err) == (0, "")


@pytest.mark.parametrize(
    ("family", "key"),
    [("des", "0101010101010101"), ("des", "01fe01fe01fe01fe"), ("3des", DES_KEY * 3)],
    ids=["weak", "semi-weak", "3des-k1=k2=k3"],
)
def test_suspicious_keys_warn_but_still_work(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch, family: str, key: str
) -> None:
    argv = [family, "encrypt", "--key", key, "--iv", "1234567890abcdef", "--quiet"]
    status, out, err = invoke(capsysbinary, monkeypatch, argv, b"attack at dawn")
    single = bytes.fromhex(key)[:8]
    expected = RefDES.new(single, RefDES.MODE_CBC, iv=bytes.fromhex("1234567890abcdef"))
    assert (status, out) == (0, expected.encrypt(ref_pad(b"attack at dawn", 8)))
    assert len(err.splitlines()) == 1
    assert err.startswith("warning:")
    assert ("weak" in err) if family == "des" else ("K1 = K2 = K3" in err)


# --- the trace -------------------------------------------------------------------------------------


def test_trace_json_has_the_rounds_and_the_vector_ciphertext(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["des", "trace", "--key", TEXTBOOK["key"], "--block", TEXTBOOK["plaintext"], "--json"]
    status, out, err = invoke(capsysbinary, monkeypatch, argv)
    assert (status, err) == (0, "")
    trace = json.loads(out)
    assert trace["ciphertext"] == TEXTBOOK["ciphertext"]
    rounds = trace["rounds"]
    assert [r["round"] for r in rounds] == list(range(1, 17))
    for row in rounds:
        assert [len(row[name]) for name in ("subkey", "L", "R")] == [12, 8, 8]
        assert set(row["subkey"] + row["L"] + row["R"]) <= set(string.hexdigits.lower())
    for previous, current in itertools.pairwise(rounds):
        assert current["L"] == previous["R"]  # L_n = R_(n-1)
    # Deciphering the vector's ciphertext gives its plaintext, with the subkeys in reverse order.
    status, out, _ = invoke(
        capsysbinary,
        monkeypatch,
        ["des", "trace", "--key", TEXTBOOK["key"], "--block", TEXTBOOK["ciphertext"], "--json", "--decrypt"],
    )
    backwards = json.loads(out)
    assert status == 0
    assert backwards["plaintext"] == TEXTBOOK["plaintext"]
    assert [r["subkey"] for r in backwards["rounds"]] == [r["subkey"] for r in reversed(rounds)]


@pytest.mark.parametrize("vector", SP800_17[::37], ids=lambda v: f"sp800_17:{v['key']}:{v['plaintext']}")
def test_trace_ciphertext_matches_sp800_17(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch, vector: dict[str, str]
) -> None:
    argv = ["des", "trace", "--key", vector["key"], "--block", vector["plaintext"], "--json"]
    status, out, _ = invoke(capsysbinary, monkeypatch, argv)
    assert status == 0
    assert json.loads(out)["ciphertext"] == vector["ciphertext"]


def test_trace_table_shows_every_round(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["des", "trace", "--key", TEXTBOOK["key"], "--block", TEXTBOOK["plaintext"]]
    _, out, _ = invoke(capsysbinary, monkeypatch, [*base, "--json"])
    rounds = json.loads(out)["rounds"]
    status, out, err = invoke(capsysbinary, monkeypatch, base)
    text = out.decode()
    assert (status, err) == (0, "")
    assert TEXTBOOK["ciphertext"] in text
    for row in rounds:
        assert f"{row['subkey']} │ {row['L']} │ {row['R']} │ {''.join(row['sbox_outputs'])}" in text


def test_trace_warns_about_a_weak_key_and_still_runs(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    weak = next(v for v in SP800_17 if v["key"] == "0101010101010101")
    argv = ["des", "trace", "--key", weak["key"], "--block", weak["plaintext"], "--json"]
    status, out, err = invoke(capsysbinary, monkeypatch, argv)
    assert status == 0
    assert json.loads(out)["ciphertext"] == weak["ciphertext"]
    assert len(err.splitlines()) == 1
    assert "weak" in err


# --- bad input: one line on stderr, exit status 2 ----------------------------------------------------

BAD_INPUTS: list[tuple[str, list[str], bytes, str]] = [
    ("non-hex-key", ["des", "encrypt", "--key", "0123456789abcdeg"], b"x", "not valid hex"),
    ("short-des-key", ["des", "encrypt", "--key", "0123456789abcd"], b"x", "key must be 8 bytes"),
    ("8-byte-3des-key", ["3des", "encrypt", "--key", DES_KEY], b"x", "key must be 16 or 24 bytes"),
    ("long-iv", ["des", "encrypt", "--key", DES_KEY, "--iv", "00" * 9], b"x", "IV must be 8 bytes"),
    ("non-hex-iv", ["3des", "decrypt", "--key", TDES_KEY, "--iv", "xyz"], b"x", "IV is not valid hex"),
    ("unknown-mode", ["des", "encrypt", "--key", DES_KEY, "--mode", "gcm"], b"x", "invalid choice"),
    ("iv-with-ecb", ["des", "encrypt", "--key", DES_KEY, "--mode", "ecb", "--iv", "00" * 8], b"x", "ECB"),
    (
        "truncated-ciphertext",
        ["des", "decrypt", "--key", DES_KEY, "--iv", "00" * 8],
        bytes(13),
        "not a multiple",
    ),
    ("shorter-than-iv", ["3des", "decrypt", "--key", TDES_KEY, "--mode", "ctr"], bytes(5), "too short"),
    ("bad-padding", ["des", "decrypt", "--key", DES_KEY, "--mode", "ecb"], b"", "invalid padding"),
    (
        "unpadded-partial-block",
        ["des", "encrypt", "--key", DES_KEY, "--mode", "cbc", "--no-pad", "--iv", "00" * 8],
        b"123456789",
        "not a multiple",
    ),
    (
        "missing-input-file",
        ["des", "encrypt", "--key", DES_KEY, "--in", "/nonexistent/in.bin"],
        b"",
        "in.bin",
    ),
    ("missing-key", ["des", "encrypt"], b"", "--key"),
    (
        "trace-short-block",
        ["des", "trace", "--key", DES_KEY, "--block", "0123"],
        b"",
        "block must be 8 bytes",
    ),
]


def _bad_padding_ciphertext() -> bytes:
    """One ECB block whose decryption ends in a zero byte: never valid PKCS#7."""
    return RefDES.new(bytes.fromhex(DES_KEY), RefDES.MODE_ECB).encrypt(b"1234567\x00")


@pytest.mark.parametrize(
    ("argv", "stdin", "fragment"), [c[1:] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_is_one_line_and_status_2(
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    stdin: bytes,
    fragment: str,
) -> None:
    if fragment == "invalid padding":
        stdin = _bad_padding_ciphertext()
    status, out, err = invoke(capsysbinary, monkeypatch, argv, stdin)
    assert status == 2
    assert out == b""
    assert len(err.splitlines()) == 1, err
    assert err.endswith("\n")
    assert fragment in err
    assert "Traceback" not in err


@pytest.mark.parametrize("case", ["bad-padding", "unknown-mode", "missing-input-file"])
def test_bad_input_in_a_child_process_has_no_traceback(case: str) -> None:
    _, argv, stdin, fragment = next(c for c in BAD_INPUTS if c[0] == case)
    if fragment == "invalid padding":
        stdin = _bad_padding_ciphertext()
    result = run_module(argv, stdin)
    err = result.stderr.decode()
    assert result.returncode == 2
    assert result.stdout == b""
    assert len(err.splitlines()) == 1, err
    assert fragment in err
    assert "Traceback" not in err

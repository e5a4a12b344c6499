"""``python -m ciphers elgamal``: key files, binary-safe round trips, one-line errors, exit statuses."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ciphers.attacks.elgamal import bleichenbacher_1996_half_order_forgery
from ciphers.elgamal import dsa
from ciphers.elgamal.formats import dump_signature, load_private_key, load_public_key
from ciphers.elgamal.signatures import hash_message
from ciphers.errors import InsecureWarning
from tests.cli_support import one_line, run

ALL_BYTES = bytes(range(256)) * 3


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ffdhe2048 key pair made through the CLI: returns the NAME stem."""
    stem = tmp_path_factory.mktemp("keys") / "alice"
    assert run(["elgamal", "keygen", "--group", "ffdhe2048", "--out", str(stem)]) == 0
    return stem


def test_keygen_writes_a_private_file_with_mode_0600_and_a_public_file(keys: Path) -> None:
    private, public = Path(f"{keys}.json"), Path(f"{keys}.pub.json")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = load_private_key(private.read_text())
    assert key.group.name == "ffdhe2048"
    assert load_public_key(public.read_text()) == key.public_key
    assert "x" not in json.loads(public.read_text())


def test_keygen_refuses_to_overwrite(keys: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = Path(f"{keys}.json").read_bytes()
    assert run(["elgamal", "keygen", "--out", str(keys)]) == 2
    assert "already exists" in one_line(capsys.readouterr().err)
    assert Path(f"{keys}.json").read_bytes() == before


def test_keygen_custom_group_warns_when_small(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stem = tmp_path / "small"
    assert run(["elgamal", "keygen", "--bits", "256", "--out", str(stem)]) == 0
    err = capsys.readouterr().err
    assert "warning: a 256-bit ElGamal group is too small" in err
    with pytest.warns(InsecureWarning, match="256-bit group is too small"):
        key = load_private_key(Path(f"{stem}.json").read_text())
    assert key.group.bits == 256
    assert isinstance(json.loads(Path(f"{stem}.pub.json").read_text())["group"], dict)


def test_keygen_in_a_small_rfc_group_warns_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stem = tmp_path / "old"
    assert run(["elgamal", "keygen", "--group", "modp768", "--out", str(stem)]) == 0
    wrote, warning = capsys.readouterr().err.strip().splitlines()
    assert warning == "warning: modp768 is a 768-bit group, too small to be secure (use at least 2048)"
    assert wrote.startswith("wrote ")
    with pytest.warns(InsecureWarning, match="modp768"):
        assert load_private_key(Path(f"{stem}.json").read_text()).group.name == "modp768"


@pytest.mark.parametrize(
    "argv",
    [
        ["elgamal", "keygen", "--group", "ffdhe1234", "--out", "x"],
        ["elgamal", "keygen", "--group", "ffdhe2048", "--bits", "512", "--out", "x"],
        ["elgamal", "keygen", "--bits", "8", "--out", "x"],
        ["elgamal", "keygen", "--bits", "8200", "--out", "x"],
        ["elgamal", "sign", "--key", "k.json", "--scheme", "schnorr"],
        ["elgamal", "encrypt", "--key", "k.json", "--scheme", "rot13"],
        ["elgamal", "frobnicate"],
    ],
    ids=[
        "unknown group",
        "group and bits",
        "bits too small",
        "bits too big",
        "unknown signature scheme",
        "unknown scheme",
        "unknown verb",
    ],
)
def test_bad_usage_is_one_line_and_status_2(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(argv) == 2
    one_line(capsys.readouterr().err)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("scheme", ["hybrid", "textbook"])
def test_encrypt_decrypt_files(
    keys: Path, tmp_path: Path, scheme: str, capsys: pytest.CaptureFixture[str]
) -> None:
    plain, sealed, opened = tmp_path / "plain", tmp_path / "sealed", tmp_path / "opened"
    plain.write_bytes(ALL_BYTES)
    argv = ["--scheme", scheme]
    assert (
        run(
            [
                "elgamal",
                "encrypt",
                "--key",
                f"{keys}.pub.json",
                "--in",
                str(plain),
                "--out",
                str(sealed),
                *argv,
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert ("insecure" in err) == (scheme == "textbook")
    assert sealed.read_bytes() != ALL_BYTES
    assert (
        run(["elgamal", "decrypt", "--key", f"{keys}.json", "--in", str(sealed), "--out", str(opened), *argv])
        == 0
    )
    assert opened.read_bytes() == ALL_BYTES


def test_decrypt_needs_the_private_key(
    keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sealed = tmp_path / "sealed"
    sealed.write_bytes(b"whatever")
    assert run(["elgamal", "decrypt", "--key", f"{keys}.pub.json", "--in", str(sealed)]) == 2
    assert "a private key is needed" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("scheme", ["hybrid", "textbook"])
def test_tampered_ciphertext_is_one_line_and_status_2(
    keys: Path, tmp_path: Path, scheme: str, capsys: pytest.CaptureFixture[str]
) -> None:
    plain, sealed = tmp_path / "plain", tmp_path / "sealed"
    plain.write_bytes(b"attack at dawn")
    run(
        [
            "elgamal",
            "encrypt",
            "--key",
            f"{keys}.pub.json",
            "--in",
            str(plain),
            "--out",
            str(sealed),
            "--scheme",
            scheme,
        ]
    )
    data = bytearray(sealed.read_bytes())
    if scheme == "textbook":
        # Textbook ElGamal is malleable: a flipped bit of c2 may decrypt to another message, which
        # is no error at all. A torn ciphertext always is.
        del data[-1]
    else:
        data[-3] ^= 0x40
    sealed.write_bytes(bytes(data))
    capsys.readouterr()
    assert run(["elgamal", "decrypt", "--key", f"{keys}.json", "--in", str(sealed), "--scheme", scheme]) == 2
    assert one_line(capsys.readouterr().err) == "error: decryption error"


def _sign(keys: Path, message: Path, signature: Path, *scheme: str) -> int:
    return run(
        ["elgamal", "sign", "--key", f"{keys}.json", "--in", str(message), "--sig", str(signature), *scheme]
    )


def _verify(keys: Path, message: Path, signature: Path, *scheme: str) -> int:
    return run(
        [
            "elgamal",
            "verify",
            "--key",
            f"{keys}.pub.json",
            "--in",
            str(message),
            "--sig",
            str(signature),
            *scheme,
        ]
    )


def test_sign_and_verify_default_to_dsa(
    keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message, signature = tmp_path / "message", tmp_path / "message.sig"
    message.write_bytes(ALL_BYTES)
    assert _sign(keys, message, signature) == 0
    assert capsys.readouterr().err == ""  # no warning: the default is not textbook
    document = json.loads(signature.read_text())
    assert (document["kind"], document["version"], document["scheme"]) == (
        "cipherchat-elgamal-signature",
        1,
        "dsa",
    )
    key = load_private_key(Path(f"{keys}.json").read_text())
    dsa.verify(key.public_key, ALL_BYTES, dsa.Signature(int(document["r"], 16), int(document["s"], 16)))
    assert _verify(keys, message, signature) == 0
    assert capsys.readouterr().out == "signature valid\n"
    message.write_bytes(ALL_BYTES + b"!")
    assert _verify(keys, message, signature) == 1
    assert one_line(capsys.readouterr().err) == "error: invalid signature"


def test_textbook_signatures_warn_and_verify_only_as_textbook(
    keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message, signature = tmp_path / "message", tmp_path / "message.sig"
    message.write_bytes(b"attack at dawn")
    assert _sign(keys, message, signature, "--scheme", "textbook") == 0
    assert one_line(capsys.readouterr().err).startswith("warning: classic ElGamal signatures are forgeable")
    assert json.loads(signature.read_text())["scheme"] == "textbook"
    assert _verify(keys, message, signature, "--scheme", "textbook") == 0
    assert "forgeable" in capsys.readouterr().err
    assert _verify(keys, message, signature) == 1
    assert "labelled 'textbook', not the 'dsa' asked for" in one_line(capsys.readouterr().err)


def test_a_dsa_signature_is_not_checked_as_textbook(
    keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message, signature = tmp_path / "message", tmp_path / "message.sig"
    message.write_bytes(b"m")
    assert _sign(keys, message, signature) == 0
    assert _verify(keys, message, signature, "--scheme", "textbook") == 1
    assert "labelled 'dsa', not the 'textbook' asked for" in one_line(capsys.readouterr().err)


def test_bleichenbacher_forgery_passes_textbook_verify_and_fails_the_default(
    keys: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's forgery, end to end: r = q, an even s ≡ -h (mod q), no private key used."""
    group = load_public_key(Path(f"{keys}.pub.json").read_text()).group
    message, forged = tmp_path / "message", tmp_path / "forged.sig"
    message.write_bytes(b"I owe Mallory everything")
    r, s = bleichenbacher_1996_half_order_forgery(group.p, group.g, hash_message(group, message.read_bytes()))
    for scheme in ("textbook", "dsa"):
        forged.write_text(dump_signature(scheme, r, s))
        assert _verify(keys, message, forged, "--scheme", scheme) == (0 if scheme == "textbook" else 1)
    assert capsys.readouterr().err.endswith("error: invalid signature\n")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"short", "not valid JSON"),
        (b'{"kind": "cipherchat-elgamal-public-key"}', "not an ElGamal signature"),
        (
            b'{"kind": "cipherchat-elgamal-signature", "version": 2}',
            "unsupported ElGamal signature version 2",
        ),
        (
            b'{"kind": "cipherchat-elgamal-signature", "version": 1, "scheme": "rsa"}',
            "unknown ElGamal signature",
        ),
        (
            b'{"kind": "cipherchat-elgamal-signature", "version": 1, "scheme": "dsa", "r": "1"}',
            "missing the 's'",
        ),
        (
            b'{"kind": "cipherchat-elgamal-signature", "version": 1, "scheme": "dsa", "r": "1", "s": "'
            + b"f" * 3000
            + b'"}',
            "above 8192 bits",
        ),
    ],
    ids=["not JSON", "wrong kind", "wrong version", "unknown scheme", "missing s", "huge s"],
)
def test_verify_with_a_malformed_signature_file(
    keys: Path, tmp_path: Path, content: bytes, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    message, signature = tmp_path / "message", tmp_path / "message.sig"
    message.write_bytes(b"m")
    signature.write_bytes(content)
    assert _verify(keys, message, signature) == 2
    assert expected in one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"{not json", "not valid JSON"), (b'{"kind": "x"}', "not an ElGamal key"), (None, "No such file")],
    ids=["bad JSON", "wrong kind", "missing file"],
)
def test_bad_key_files(
    tmp_path: Path, content: bytes | None, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "key.json"
    if content is not None:
        key.write_bytes(content)
    message = tmp_path / "m"
    message.write_bytes(b"m")
    assert run(["elgamal", "encrypt", "--key", str(key), "--in", str(message)]) == 2
    assert expected in one_line(capsys.readouterr().err)


def test_stdin_stdout_in_process(
    keys: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(ALL_BYTES)))
    assert run(["elgamal", "encrypt", "--key", f"{keys}.pub.json"]) == 0
    sealed = capsysbinary.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(sealed)))
    assert run(["elgamal", "decrypt", "--key", f"{keys}.json"]) == 0
    assert capsysbinary.readouterr().out == ALL_BYTES


def test_binary_pipeline_through_python_m_ciphers(keys: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    command = [sys.executable, "-m", "ciphers", "elgamal"]
    sealed = subprocess.run(
        [*command, "encrypt", "--key", f"{keys}.pub.json"],
        input=ALL_BYTES,
        capture_output=True,
        check=True,
        env=env,
    ).stdout
    opened = subprocess.run(
        [*command, "decrypt", "--key", f"{keys}.json"], input=sealed, capture_output=True, check=True, env=env
    )
    assert opened.stdout == ALL_BYTES
    assert opened.stderr == b""

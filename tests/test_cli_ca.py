"""``python -m chat ca``: key files and their modes, issue/show/verify, and one ``error:`` line with
the right exit status for every bad input."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from chat.e2e.certificates import ca_fingerprint, issue, load_certificate, save_certificate
from ciphers.errors import InsecureWarning
from ciphers.rng import DeterministicRNG
from ciphers.rsa import formats
from ciphers.rsa.keys import RSAPublicKey, generate
from tests.chat_support import identity
from tests.cli_support import one_line, run


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA made through the CLI: the NAME stem of NAME.pem and NAME.pub.pem."""
    stem = tmp_path_factory.mktemp("ca") / "school"
    assert run(["ca", "init", "--out", str(stem)]) == 0
    return stem


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """alice's identity directory (identity.json) and her RSA key alone (alice.rsa.pem); bob's identity."""
    where = tmp_path_factory.mktemp("members")
    identity("alice").save(where / "alice")
    identity("bob").save(where / "bob")
    (where / "alice.rsa.pem").write_text(identity("alice").public.rsa_pem())
    return where


def private(stem: Path) -> Path:
    return Path(f"{stem}.pem")


def public(stem: Path) -> Path:
    return Path(f"{stem}.pub.pem")


# --- init ------------------------------------------------------------------------------------------


def test_init_writes_a_0600_private_key_and_a_public_key(ca: Path) -> None:
    assert stat.S_IMODE(private(ca).stat().st_mode) == 0o600
    assert private(ca).read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert public(ca).read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----\n")
    key = formats.load_private_key(private(ca).read_bytes())
    assert key.bits == 2048
    assert formats.load_public_key(public(ca).read_bytes()) == key.public_key()
    theirs = serialization.load_pem_private_key(private(ca).read_bytes(), password=None)
    assert theirs.private_numbers().d == key.d  # type: ignore[union-attr]


def test_init_reports_the_files_and_fingerprint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["ca", "init", "--out", str(tmp_path / "x")]) == 0
    line = one_line(capsys.readouterr().err)
    key = formats.load_public_key(public(tmp_path / "x").read_bytes())
    assert line.startswith(f"wrote {tmp_path / 'x'}.pem (CA private key, PKCS#8, mode 0600")
    assert line.endswith(f"2048-bit RSA, fingerprint {ca_fingerprint(key)}")


def test_init_refuses_to_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stem = tmp_path / "ca"
    public(stem).write_text("keep me")
    assert run(["ca", "init", "--out", str(stem)]) == 2
    assert (
        one_line(capsys.readouterr().err)
        == f"error: {public(stem)} already exists; use --force to overwrite it"
    )
    assert public(stem).read_text() == "keep me" and not private(stem).exists()
    assert run(["ca", "init", "--out", str(stem), "--force"]) == 0
    assert stat.S_IMODE(private(stem).stat().st_mode) == 0o600
    assert formats.load_public_key(public(stem).read_bytes()).bits == 2048


@pytest.mark.parametrize("bits", ["1024", "9000"])
def test_init_refuses_key_sizes_out_of_range(
    bits: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["ca", "init", "--out", str(tmp_path / "ca"), "--bits", bits]) == 2
    assert one_line(capsys.readouterr().err) == f"error: --bits must be 2048 to 8192, got {bits}"
    assert not list(tmp_path.iterdir())


# --- issue, show, verify ---------------------------------------------------------------------------------


def test_issue_from_identity_json_binds_both_keys(
    ca: Path, members: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "alice.cert"
    argv = [
        "ca",
        "issue",
        "--ca",
        str(private(ca)),
        "--alias",
        "Alice",
        "--key",
        str(members / "alice" / "identity.json"),
    ]
    assert run([*argv, "--days", "10", "--out", str(out)]) == 0
    line = one_line(capsys.readouterr().err)
    certificate = load_certificate(out.read_text())
    assert line.startswith(
        f"issued certificate {certificate.serial} for Alice (RSA and ElGamal identity keys), valid "
    )
    assert certificate.alias == "Alice"
    assert certificate.not_after - certificate.not_before == 10 * 86400
    assert certificate.rsa == identity("alice").public.rsa
    assert certificate.elgamal == identity("alice").public.elgamal
    assert certificate.issuer == ca_fingerprint(formats.load_public_key(public(ca).read_bytes()))

    assert run(["ca", "verify", "--ca", str(public(ca)), str(out)]) == 0
    assert capsys.readouterr().out.startswith(
        "certificate valid: Alice (RSA and ElGamal identity keys), until "
    )
    key = str(members / "alice" / "identity.json")
    assert run(["ca", "verify", "--ca", str(public(ca)), str(out), "--alias", "alice", "--key", key]) == 0
    capsys.readouterr()
    bob = str(members / "bob" / "identity.json")
    assert run(["ca", "verify", "--ca", str(public(ca)), str(out), "--key", bob]) == 1
    assert one_line(capsys.readouterr().err) == "error: certificate key does not match identity (RSA key)"
    assert run(["ca", "verify", "--ca", str(public(ca)), str(out), "--alias", "bob"]) == 1
    assert one_line(capsys.readouterr().err) == "error: certificate is for alias 'Alice', not 'bob'"


def test_issue_from_an_rsa_key_to_stdout_binds_it_alone(
    ca: Path, members: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "ca",
        "issue",
        "--ca",
        str(private(ca)),
        "--alias",
        "alice",
        "--key",
        str(members / "alice.rsa.pem"),
    ]
    assert run(argv) == 0
    captured = capsys.readouterr()
    assert "(RSA identity key only)" in one_line(captured.err)
    certificate = load_certificate(captured.out)
    assert certificate.rsa == identity("alice").public.rsa and certificate.elgamal is None
    assert certificate.not_after - certificate.not_before == 365 * 86400


def test_show_prints_the_fields(
    ca: Path, members: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "alice.cert"
    key = str(members / "alice" / "identity.json")
    assert (
        run(["ca", "issue", "--ca", str(private(ca)), "--alias", "alice", "--key", key, "--out", str(out)])
        == 0
    )
    capsys.readouterr()
    assert run(["ca", "show", str(out)]) == 0
    rows = dict(
        line.split(None, 1) for line in capsys.readouterr().out.splitlines() if not line.startswith("(")
    )
    certificate = load_certificate(out.read_text())
    assert rows["serial"] == certificate.serial
    assert rows["alias"] == "alice"
    assert rows["fingerprint"] == identity("alice").fingerprint.digits
    assert rows["issuer"] == certificate.issuer


def test_verify_refuses_an_expired_certificate_and_another_ca(
    ca: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = formats.load_private_key(private(ca).read_bytes())
    expired = issue(key, "alice", identity("alice").public, days=1, now=1_000_000_000)
    save_certificate(expired, tmp_path / "old.cert")
    assert run(["ca", "verify", "--ca", str(public(ca)), str(tmp_path / "old.cert")]) == 1
    assert one_line(capsys.readouterr().err) == "error: certificate expired at 2001-09-10T01:46:40Z"
    other = generate(2048, rng=DeterministicRNG("cli-other-ca"))
    save_certificate(issue(other, "alice", identity("alice").public), tmp_path / "other.cert")
    assert run(["ca", "verify", "--ca", str(public(ca)), str(tmp_path / "other.cert")]) == 1
    assert one_line(capsys.readouterr().err).startswith("error: certificate is from another CA (issuer ")


# --- bad input: one line, exit status 2 ------------------------------------------------------------------


def test_a_private_key_others_can_read_is_refused(
    ca: Path, members: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loose = tmp_path / "loose.pem"
    loose.write_bytes(private(ca).read_bytes())
    loose.chmod(0o644)
    argv = ["ca", "issue", "--ca", str(loose), "--alias", "alice", "--key", str(members / "alice.rsa.pem")]
    assert run(argv) == 2
    assert one_line(capsys.readouterr().err) == (
        f"error: CA private key {loose} is readable by others (mode 0644); chmod 600 it"
    )


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("public-key-as-ca", "this is a public key; a private key is needed"),
        ("bad-alias", "error: alias may hold only letters, digits and _ - . (not ' '): 'al ice'"),
        ("days-0", "error: --days must be 1 to 3650, got 0"),
        ("missing-key-file", "error: No such file or directory: "),
        ("garbage-key-file", "subject key: not an RSA key file"),
        ("small-subject-key", "the subject's RSA key has 1024 bits; chat identities need 2048"),
        ("identity-json-broken", "identity file: identity must have exactly"),
    ],
)
def test_issue_errors(
    case: str, message: str, ca: Path, members: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, alias, days, ca_file = str(members / "alice.rsa.pem"), "alice", "30", str(private(ca))
    if case == "public-key-as-ca":
        ca_file = str(public(ca))
    elif case == "bad-alias":
        alias = "al ice"
    elif case == "days-0":
        days = "0"
    elif case == "missing-key-file":
        key = str(tmp_path / "nowhere.pem")
    elif case == "garbage-key-file":
        key = str(tmp_path / "garbage")
        Path(key).write_bytes(b"\x00\x01 not a key")
    elif case == "small-subject-key":
        key = str(tmp_path / "small.pub.pem")
        Path(key).write_bytes(formats.dump_public_key(_small_key()))
    elif case == "identity-json-broken":
        key = str(tmp_path / "identity.json")
        Path(key).write_text(json.dumps({"identity": {"v": "1"}}))
    out = tmp_path / "out.cert"
    assert (
        run(
            [
                "ca",
                "issue",
                "--ca",
                ca_file,
                "--alias",
                alias,
                "--key",
                key,
                "--days",
                days,
                "--out",
                str(out),
            ]
        )
        == 2
    )
    line = one_line(capsys.readouterr().err)
    assert line.startswith("error: ") and message in line
    assert not out.exists()


def _small_key() -> RSAPublicKey:
    with pytest.warns(InsecureWarning):
        return generate(1024, rng=DeterministicRNG("cli-small")).public_key()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ca", "show", "{tmp}/missing.cert"], "error: No such file or directory: {tmp}/missing.cert"),
        (["ca", "show", "{tmp}/junk"], "error: {tmp}/junk: PEM: no -----BEGIN ...----- line found"),
        (["ca", "show", "{ca}.pub.pem"], "error: {ca}.pub.pem: certificate: expected one PEM block labelled"),
        (
            ["ca", "verify", "--ca", "{tmp}/junk", "{tmp}/junk"],
            "error: {tmp}/junk: CA key: not an RSA key file",
        ),
        (["ca"], "cipherchat ca: error: the following arguments are required: COMMAND"),
        (["ca", "issue", "--alias", "a"], "error: the following arguments are required: --ca, --key"),
    ],
    ids=[
        "missing-file",
        "junk-certificate",
        "key-as-certificate",
        "junk-ca-key",
        "no-command",
        "missing-options",
    ],
)
def test_bad_files_and_arguments(
    argv: list[str], message: str, ca: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "junk").write_bytes(b"junk")
    filled = [a.format(tmp=tmp_path, ca=ca) for a in argv]
    assert run(filled) == 2
    line = one_line(capsys.readouterr().err)
    assert message.format(tmp=tmp_path, ca=ca) in line


def test_the_entry_point_runs_as_a_module(ca: Path, members: Path, tmp_path: Path) -> None:
    """``python -m chat ca`` in a subprocess: the sub-command is found and errors stay one line."""
    out = tmp_path / "alice.cert"
    key = str(members / "alice" / "identity.json")
    argv = ["ca", "issue", "--ca", str(private(ca)), "--alias", "alice", "--key", key, "--out", str(out)]
    done = subprocess.run([sys.executable, "-m", "chat", *argv], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    verify = [
        sys.executable,
        "-m",
        "chat",
        "ca",
        "verify",
        "--ca",
        str(public(ca)),
        str(out),
        "--alias",
        "bob",
    ]
    done = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (1, "error: certificate is for alias 'alice', not 'bob'\n")

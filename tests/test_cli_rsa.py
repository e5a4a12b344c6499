"""``python -m ciphers rsa``: key files and their modes, round trips for every padding and scheme,
OpenSSL interoperability, and one-line errors with the right exit status for every bad input."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ciphers.rsa import formats
from ciphers.rsa.keys import RSAPrivateKey
from tests.cli_support import one_line, run

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl binary is not installed")
BINARY = bytes([0, 255, 10, 13, 0, 26, 128]) + bytes(range(1, 50))  # 56 bytes: fits OAEP-SHA256 at 1024 bits


@pytest.fixture(scope="module")
def stem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1024-bit key pair made through the CLI (the warning is accepted): the NAME stem."""
    name = tmp_path_factory.mktemp("keys") / "alice"
    assert run(["rsa", "keygen", "--bits", "1024", "--out", str(name)]) == 0
    return name


def private(stem: Path) -> Path:
    return Path(f"{stem}.pem")


def public(stem: Path) -> Path:
    return Path(f"{stem}.pub.pem")


# --- keygen ---------------------------------------------------------------------------------


def test_keygen_writes_pkcs8_0600_and_spki(stem: Path) -> None:
    assert stat.S_IMODE(private(stem).stat().st_mode) == 0o600
    private_pem, public_pem = private(stem).read_bytes(), public(stem).read_bytes()
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")
    key = formats.load_private_key(private_pem)
    assert key.bits == 1024 and key.e == 65537
    assert formats.load_public_key(public_pem) == key.public_key()
    theirs = serialization.load_pem_private_key(private_pem, password=None)
    assert theirs.private_numbers().d == key.d  # type: ignore[union-attr]


def test_keygen_reports_the_warning_then_the_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["rsa", "keygen", "--bits", "512", "--out", str(tmp_path / "small")]) == 0
    wrote, warning = capsys.readouterr().err.strip().splitlines()
    assert wrote.startswith(f"wrote {tmp_path / 'small'}.pem (private, PKCS#8, mode 0600)")
    assert warning == "warning: 512-bit RSA is too small to be secure; allowed for teaching only"


def test_keygen_default_is_2048_bits_without_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["rsa", "keygen", "--out", str(tmp_path / "big")]) == 0
    assert "warning" not in capsys.readouterr().err
    assert formats.load_private_key(Path(tmp_path / "big.pem").read_bytes()).bits == 2048


def test_keygen_refuses_to_overwrite_then_force_keeps_0600(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = tmp_path / "bob"
    assert run(["rsa", "keygen", "--bits", "512", "--out", str(name)]) == 0
    first = private(name).read_bytes()
    public(name).unlink()  # one existing file is enough to refuse
    capsys.readouterr()
    assert run(["rsa", "keygen", "--bits", "512", "--out", str(name)]) == 2
    assert "already exists; use --force" in one_line(capsys.readouterr().err)
    assert private(name).read_bytes() == first and not public(name).exists()
    private(name).chmod(0o644)
    assert run(["rsa", "keygen", "--bits", "512", "--out", str(name), "--force"]) == 0
    assert private(name).read_bytes() != first
    assert stat.S_IMODE(private(name).stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bits", "255"], "at least 256"),
        (["--bits", "1025"], "must be even"),
        (["--bits", "many"], "invalid int value"),
    ],
    ids=["too-small", "odd", "not-a-number"],
)
def test_keygen_bad_sizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert run(["rsa", "keygen", *argv, "--out", str(tmp_path / "x")]) == 2
    assert message in one_line(capsys.readouterr().err)
    assert not list(tmp_path.iterdir())


def test_keygen_into_a_missing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rsa", "keygen", "--bits", "512", "--out", str(tmp_path / "no" / "such")]) == 2
    assert "No such file or directory" in one_line(capsys.readouterr().err)


# --- encrypt / decrypt ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "warning"),
    [
        ([], None),
        (["--padding", "oaep", "--hash", "sha1", "--label", "règle 7"], None),
        (["--padding", "pkcs1"], "legacy"),
        (["--padding", "raw"], "insecure"),
    ],
    ids=["oaep-default", "oaep-sha1-label", "pkcs1", "raw"],
)
def test_round_trip_through_files(
    stem: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], warning: str | None
) -> None:
    message = BINARY if "raw" not in options else b"\x01" + BINARY
    plain, sealed, opened = tmp_path / "m", tmp_path / "c", tmp_path / "o"
    plain.write_bytes(message)
    assert (
        run(
            ["rsa", "encrypt", "--key", str(public(stem)), *options, "--in", str(plain), "--out", str(sealed)]
        )
        == 0
    )
    assert len(sealed.read_bytes()) == 128
    assert (
        run(
            [
                "rsa",
                "decrypt",
                "--key",
                str(private(stem)),
                *options,
                "--in",
                str(sealed),
                "--out",
                str(opened),
            ]
        )
        == 0
    )
    assert opened.read_bytes() == message
    err = capsys.readouterr().err
    if warning is None:
        assert err == ""
    else:
        lines = err.strip().splitlines()
        assert len(lines) == 2 and all(line.startswith("warning: ") and warning in line for line in lines)


def test_raw_rsa_is_deterministic_and_loses_leading_zero_bytes(stem: Path, tmp_path: Path) -> None:
    plain, first, second, opened = (tmp_path / name for name in ("m", "c1", "c2", "o"))
    plain.write_bytes(b"\x00\x00hi")
    for out in (first, second):
        assert (
            run(
                [
                    "rsa",
                    "encrypt",
                    "--key",
                    str(public(stem)),
                    "--padding",
                    "raw",
                    "--in",
                    str(plain),
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
    assert first.read_bytes() == second.read_bytes()
    assert (
        run(
            [
                "rsa",
                "decrypt",
                "--key",
                str(private(stem)),
                "--padding",
                "raw",
                "--in",
                str(first),
                "--out",
                str(opened),
            ]
        )
        == 0
    )
    assert opened.read_bytes() == b"hi"


def test_oaep_is_randomised_and_encrypt_accepts_a_private_key_file(stem: Path, tmp_path: Path) -> None:
    plain, first, second = tmp_path / "m", tmp_path / "c1", tmp_path / "c2"
    plain.write_bytes(b"same message")
    assert run(["rsa", "encrypt", "--key", str(public(stem)), "--in", str(plain), "--out", str(first)]) == 0
    assert run(["rsa", "encrypt", "--key", str(private(stem)), "--in", str(plain), "--out", str(second)]) == 0
    assert first.read_bytes() != second.read_bytes()


def _sealed(stem: Path, tmp_path: Path, *options: str) -> Path:
    plain, sealed = tmp_path / "plain", tmp_path / "sealed"
    plain.write_bytes(b"attack at dawn")
    assert (
        run(
            ["rsa", "encrypt", "--key", str(public(stem)), *options, "--in", str(plain), "--out", str(sealed)]
        )
        == 0
    )
    return sealed


@pytest.mark.parametrize(
    ("change", "options"),
    [("flip", []), ("truncate", []), ("wrong-label", ["--label", "other"]), ("flip", ["--padding", "pkcs1"])],
    ids=["oaep-tampered", "oaep-truncated", "oaep-wrong-label", "pkcs1-tampered"],
)
def test_decryption_failures_are_one_line_status_2(
    stem: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], change: str, options: list[str]
) -> None:
    padding = [o for o in options if o != "--label" and o != "other"]
    sealed = _sealed(stem, tmp_path, *padding)
    data = bytearray(sealed.read_bytes())
    if change == "flip":
        data[-1] ^= 1
    elif change == "truncate":
        del data[-1]
    sealed.write_bytes(bytes(data))
    capsys.readouterr()
    assert run(["rsa", "decrypt", "--key", str(private(stem)), *options, "--in", str(sealed)]) == 2
    assert one_line(capsys.readouterr().err) == "error: decryption error"


@pytest.mark.parametrize(
    ("verb", "options", "message"),
    [
        ("encrypt", ["--padding", "pkcs1", "--hash", "sha1"], "--hash does not apply to pkcs1 encryption"),
        ("decrypt", ["--padding", "raw", "--hash", "sha256"], "--hash does not apply to raw decryption"),
        ("encrypt", ["--padding", "raw", "--label", "x"], "--label applies to OAEP only"),
        ("encrypt", ["--padding", "rot13"], "invalid choice"),
        ("encrypt", ["--hash", "md5"], "invalid choice"),
        ("encrypt", ["--bogus"], "unrecognized arguments"),
    ],
    ids=[
        "hash-with-pkcs1",
        "hash-with-raw",
        "label-with-raw",
        "unknown-padding",
        "unknown-hash",
        "unknown-flag",
    ],
)
def test_bad_options_are_one_line_status_2(
    stem: Path, capsys: pytest.CaptureFixture[str], verb: str, options: list[str], message: str
) -> None:
    key = public(stem) if verb == "encrypt" else private(stem)
    assert run(["rsa", verb, "--key", str(key), *options, "--in", str(key)]) == 2
    assert message in one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("padding", "size", "message"),
    [("oaep", 63, "message too long"), ("pkcs1", 118, "message too long"), ("raw", 129, "below n")],
)
def test_messages_too_long(
    stem: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], padding: str, size: int, message: str
) -> None:
    plain = tmp_path / "long"
    plain.write_bytes(b"\xff" * size)
    assert run(["rsa", "encrypt", "--key", str(public(stem)), "--padding", padding, "--in", str(plain)]) == 2
    assert message in one_line(capsys.readouterr().err)


def test_raw_decrypt_needs_a_full_block(
    stem: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = tmp_path / "short"
    short.write_bytes(b"\x01" * 100)
    assert run(["rsa", "decrypt", "--key", str(private(stem)), "--padding", "raw", "--in", str(short)]) == 2
    assert "must be 128 bytes, got 100" in one_line(capsys.readouterr().err)


# --- sign / verify --------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["pss", "pkcs1"])
@pytest.mark.parametrize("hash_name", ["sha256", "sha1", "sha384"])
def test_sign_and_verify(
    stem: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], scheme: str, hash_name: str
) -> None:
    message, other, sig = tmp_path / "m", tmp_path / "m2", tmp_path / "sig"
    message.write_bytes(BINARY)
    other.write_bytes(BINARY + b"!")
    options = ["--scheme", scheme, "--hash", hash_name]
    assert (
        run(["rsa", "sign", "--key", str(private(stem)), *options, "--in", str(message), "--sig", str(sig)])
        == 0
    )
    err = capsys.readouterr().err
    assert (
        (err.startswith("warning: SHA-1") and len(err.splitlines()) == 1)
        if hash_name == "sha1"
        else err == ""
    )
    assert len(sig.read_bytes()) == 128
    assert (
        run(["rsa", "verify", "--key", str(public(stem)), *options, "--in", str(message), "--sig", str(sig)])
        == 0
    )
    out, err = capsys.readouterr()
    assert (out, err) == ("signature valid\n", "")
    assert (
        run(["rsa", "verify", "--key", str(public(stem)), *options, "--in", str(other), "--sig", str(sig)])
        == 1
    )
    out, err = capsys.readouterr()
    assert out == "" and one_line(err) == "error: invalid signature"


@pytest.mark.parametrize(
    "mismatch",
    [["--scheme", "pkcs1"], ["--hash", "sha1"], "truncated", "other-key"],
    ids=["wrong-scheme", "wrong-hash", "truncated-signature", "other-key"],
)
def test_verify_rejects_mismatches_with_status_1(
    stem: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], mismatch: list[str] | str
) -> None:
    message, sig = tmp_path / "m", tmp_path / "sig"
    message.write_bytes(b"hello")
    assert run(["rsa", "sign", "--key", str(private(stem)), "--in", str(message), "--sig", str(sig)]) == 0
    key = public(stem)
    options = mismatch if isinstance(mismatch, list) else []
    if mismatch == "truncated":
        sig.write_bytes(sig.read_bytes()[:-1])
    if mismatch == "other-key":
        assert run(["rsa", "keygen", "--bits", "1024", "--out", str(tmp_path / "eve")]) == 0
        key = public(tmp_path / "eve")
    capsys.readouterr()
    assert run(["rsa", "verify", "--key", str(key), *options, "--in", str(message), "--sig", str(sig)]) == 1
    assert one_line(capsys.readouterr().err) == "error: invalid signature"


def test_pss_key_too_small_for_the_hash(stem: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """PSS needs emLen >= hLen + sLen + 2: 128 < 64 + 64 + 2 for SHA-512 on a 1024-bit key."""
    assert (
        run(["rsa", "sign", "--key", str(private(stem)), "--hash", "sha512", "--in", str(public(stem))]) == 2
    )
    assert "key is too small for this hash" in one_line(capsys.readouterr().err)


def test_verify_needs_a_signature_file(stem: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rsa", "verify", "--key", str(public(stem)), "--in", str(public(stem))]) == 2
    assert "--sig" in one_line(capsys.readouterr().err)
    assert (
        run(["rsa", "verify", "--key", str(public(stem)), "--sig", "/no/such/sig", "--in", str(public(stem))])
        == 2
    )
    assert "No such file or directory" in one_line(capsys.readouterr().err)


# --- bad key files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "content", "message"),
    [
        ("decrypt", "public", "this is a public key; a private key is needed"),
        ("sign", "public", "this is a public key"),
        ("encrypt", b"not a key at all", "neither PEM (no -----BEGIN line) nor DER"),
        ("encrypt", b"-----BEGIN PUBLIC KEY-----\nMII!\n-----END PUBLIC KEY-----\n", "not valid base64"),
        ("verify", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not an RSA key"),
        ("decrypt", "encrypted", "encrypted private keys are not supported"),
        ("decrypt", "inconsistent", "not p * q"),
    ],
    ids=[
        "decrypt-public",
        "sign-public",
        "garbage",
        "bad-base64",
        "certificate",
        "encrypted",
        "inconsistent",
    ],
)
def test_bad_key_files_are_one_line_status_2(
    stem: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    verb: str,
    content: bytes | str,
    message: str,
) -> None:
    key_file = tmp_path / "key"
    if content == "public":
        key_file = public(stem)
    elif content == "encrypted":
        theirs = serialization.load_pem_private_key(private(stem).read_bytes(), password=None)
        encryption = serialization.BestAvailableEncryption(b"secret")
        key_file.write_bytes(
            theirs.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        )
    elif content == "inconsistent":
        key = formats.load_private_key(private(stem).read_bytes())
        broken = RSAPrivateKey(key.n + 2, key.e, key.d, key.p, key.q, key.dp, key.dq, key.qinv)
        key_file.write_bytes(formats.dump_private_key(broken))
    else:
        assert isinstance(content, bytes)
        key_file.write_bytes(content)
    extra = ["--sig", str(key_file)] if verb == "verify" else []
    assert run(["rsa", verb, "--key", str(key_file), *extra, "--in", str(public(stem))]) == 2
    assert message in one_line(capsys.readouterr().err)


def test_missing_key_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(["rsa", "encrypt", "--key", str(tmp_path / "absent.pem"), "--in", str(tmp_path)]) == 2
    assert "No such file or directory" in one_line(capsys.readouterr().err)


def test_keys_in_every_format_and_der_work(stem: Path, tmp_path: Path) -> None:
    key = formats.load_private_key(private(stem).read_bytes())
    message = tmp_path / "m"
    message.write_bytes(b"formats")
    for encoding in ("pem", "der"):
        for form in ("pkcs1", "pkcs8"):
            path = tmp_path / f"key.{form}.{encoding}"
            path.write_bytes(formats.dump_private_key(key, encoding, form))  # type: ignore[arg-type]
            sig = tmp_path / f"sig.{form}.{encoding}"
            assert run(["rsa", "sign", "--key", str(path), "--in", str(message), "--sig", str(sig)]) == 0
            pub = tmp_path / f"pub.{form}.{encoding}"
            pub.write_bytes(formats.dump_public_key(key, encoding, "pkcs1" if form == "pkcs1" else "spki"))  # type: ignore[arg-type]
            assert run(["rsa", "verify", "--key", str(pub), "--in", str(message), "--sig", str(sig)]) == 0


# --- stdin/stdout and OpenSSL ---------------------------------------------------------------


def test_binary_pipeline_through_python_m_ciphers(stem: Path) -> None:
    command = [sys.executable, "-m", "ciphers", "rsa"]
    sealed = subprocess.run(
        [*command, "encrypt", "--key", str(public(stem))],
        input=BINARY,
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert len(sealed.stdout) == 128 and sealed.stderr == b""
    opened = subprocess.run(
        [*command, "decrypt", "--key", str(private(stem))],
        input=sealed.stdout,
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert opened.stdout == BINARY
    signed = subprocess.run(
        [*command, "sign", "--key", str(private(stem))],
        input=BINARY,
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert len(signed.stdout) == 128


def _openssl(*args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *args], input=data, capture_output=True, timeout=30, check=False)


OAEP_SHA256 = [
    "-pkeyopt",
    "rsa_padding_mode:oaep",
    "-pkeyopt",
    "rsa_oaep_md:sha256",
    "-pkeyopt",
    "rsa_mgf1_md:sha256",
]
PSS_32 = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"]


@needs_openssl
def test_openssl_decrypts_ours_and_we_decrypt_openssls(stem: Path, tmp_path: Path) -> None:
    plain, ours, theirs, opened = (tmp_path / name for name in ("m", "ours", "theirs", "opened"))
    plain.write_bytes(BINARY)
    assert run(["rsa", "encrypt", "--key", str(public(stem)), "--in", str(plain), "--out", str(ours)]) == 0
    decrypted = _openssl("pkeyutl", "-decrypt", "-inkey", str(private(stem)), "-in", str(ours), *OAEP_SHA256)
    assert decrypted.returncode == 0, decrypted.stderr
    assert decrypted.stdout == BINARY
    made = _openssl(
        "pkeyutl",
        "-encrypt",
        "-pubin",
        "-inkey",
        str(public(stem)),
        "-in",
        str(plain),
        "-out",
        str(theirs),
        *OAEP_SHA256,
    )
    assert made.returncode == 0, made.stderr
    assert (
        run(["rsa", "decrypt", "--key", str(private(stem)), "--in", str(theirs), "--out", str(opened)]) == 0
    )
    assert opened.read_bytes() == BINARY


@needs_openssl
def test_openssl_verifies_our_signatures_and_we_verify_openssls(stem: Path, tmp_path: Path) -> None:
    message, ours, theirs = tmp_path / "m", tmp_path / "ours.sig", tmp_path / "theirs.sig"
    message.write_bytes(BINARY)
    assert run(["rsa", "sign", "--key", str(private(stem)), "--in", str(message), "--sig", str(ours)]) == 0
    checked = _openssl(
        "dgst", "-sha256", "-verify", str(public(stem)), *PSS_32, "-signature", str(ours), str(message)
    )
    assert checked.returncode == 0 and b"Verified OK" in checked.stdout, checked.stderr
    made = _openssl(
        "dgst", "-sha256", "-sign", str(private(stem)), *PSS_32, "-out", str(theirs), str(message)
    )
    assert made.returncode == 0, made.stderr
    assert run(["rsa", "verify", "--key", str(public(stem)), "--in", str(message), "--sig", str(theirs)]) == 0


@needs_openssl
def test_pkcs1_signatures_are_identical_to_openssls(stem: Path, tmp_path: Path) -> None:
    """RSASSA-PKCS1-v1_5 is deterministic: the same key and message give the same bytes."""
    message, ours = tmp_path / "m", tmp_path / "ours.sig"
    message.write_bytes(BINARY)
    assert (
        run(
            [
                "rsa",
                "sign",
                "--key",
                str(private(stem)),
                "--scheme",
                "pkcs1",
                "--in",
                str(message),
                "--sig",
                str(ours),
            ]
        )
        == 0
    )
    theirs = _openssl("dgst", "-sha256", "-sign", str(private(stem)), str(message))
    assert theirs.returncode == 0, theirs.stderr
    assert theirs.stdout == ours.read_bytes()

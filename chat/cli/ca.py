"""``python -m chat ca``: a small certificate authority for the chat (format: ``docs/certificates.md``).

* ``init [--out NAME] [--bits 2048] [--force]`` writes NAME.pem (the CA private key, PKCS#8 PEM,
  created with mode 0600) and NAME.pub.pem (its public key, SPKI PEM: what servers and clients are
  given as ``--ca``). It refuses to overwrite either file unless ``--force``.
* ``issue --ca NAME.pem --alias ALIAS --key FILE [--days N] [--out FILE]`` certifies a member.
  FILE is the member's ``identity.json`` (binds both identity keys: recommended) or an RSA public
  key in PEM or DER (binds the RSA key only). The certificate goes to ``--out`` or stdout.
* ``show CERT`` prints a certificate's fields without verifying them.
* ``verify --ca CA.pub.pem CERT [--alias ALIAS] [--key FILE]`` prints ``certificate valid: ...``
  and exits 0, or prints ``error: <reason>`` and exits 1.

Malformed files and bad arguments end in one ``error:`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import stat
import sys
import time
from pathlib import Path
from typing import Any

from chat.e2e.certificates import (
    DEFAULT_DAYS,
    MAX_DAYS,
    MIN_CA_BITS,
    SALT_LENGTH,
    Certificate,
    ca_fingerprint,
    certificate_problem,
    iso8601,
    issue,
    load_subject,
    read_ca_public_key,
    read_certificate,
)
from chat.e2e.identity import PublicIdentity
from ciphers.cli.common import EXIT_FAILED, UsageError, refuse_existing, write_new_file, write_output
from ciphers.errors import CryptoError
from ciphers.rsa import keys
from ciphers.rsa.formats import dump_private_key, dump_public_key, load_private_key

MAX_CA_BITS = 8192


def register(sub: Any) -> None:
    """Add the ``ca`` sub-command (init, issue, show, verify) to ``python -m chat``."""
    parser = sub.add_parser(
        "ca",
        help="a certificate authority: make its key, issue and check member certificates",
        description="A certificate authority binding aliases to identity keys (RSA-PSS signatures).",
    )
    commands = parser.add_subparsers(
        dest="ca_command", metavar="COMMAND", required=True, parser_class=type(parser)
    )

    init = commands.add_parser("init", help="create the CA key pair")
    init.add_argument(
        "--out", default="ca", metavar="NAME", help="writes NAME.pem and NAME.pub.pem (default ca)"
    )
    init.add_argument("--bits", type=int, default=MIN_CA_BITS, help=f"RSA key size (default {MIN_CA_BITS})")
    init.add_argument("--force", action="store_true", help="overwrite existing key files")
    init.set_defaults(handler=_init)

    issue_ = commands.add_parser("issue", help="certify a member's identity keys for an alias")
    issue_.add_argument("--ca", required=True, metavar="NAME.pem", help="the CA private key")
    issue_.add_argument("--alias", required=True, help="the alias the certificate is for")
    issue_.add_argument(
        "--key", required=True, metavar="FILE", help="the member's identity.json, or its RSA public key"
    )
    issue_.add_argument(
        "--days", type=int, default=DEFAULT_DAYS, help=f"validity in days (default {DEFAULT_DAYS})"
    )
    issue_.add_argument("--out", metavar="FILE", help="certificate file (default stdout)")
    issue_.set_defaults(handler=_issue)

    show = commands.add_parser("show", help="print a certificate's fields (without verifying them)")
    show.add_argument("cert", metavar="CERT", help="certificate file")
    show.set_defaults(handler=_show)

    verify = commands.add_parser("verify", help="check a certificate against the CA's public key")
    verify.add_argument("--ca", required=True, metavar="CA.pub.pem", help="the CA public key")
    verify.add_argument("cert", metavar="CERT", help="certificate file")
    verify.add_argument("--alias", help="also check that the certificate is for this alias")
    verify.add_argument("--key", metavar="FILE", help="also check that it certifies these keys")
    verify.set_defaults(handler=_verify)


def _init(args: argparse.Namespace) -> int:
    if not MIN_CA_BITS <= args.bits <= MAX_CA_BITS:
        raise UsageError(f"--bits must be {MIN_CA_BITS} to {MAX_CA_BITS}, got {args.bits}")
    private_path, public_path = Path(f"{args.out}.pem"), Path(f"{args.out}.pub.pem")
    refuse_existing(private_path, public_path, force=args.force)
    key = keys.generate(args.bits)
    write_new_file(private_path, dump_private_key(key), 0o600, force=args.force)
    write_new_file(public_path, dump_public_key(key), 0o644, force=args.force)
    sys.stderr.write(
        f"wrote {private_path} (CA private key, PKCS#8, mode 0600: keep it offline) and {public_path} "
        f"(CA public key, SPKI: give it to servers and clients as --ca); {key.bits}-bit RSA, "
        f"fingerprint {ca_fingerprint(key)}\n"
    )
    return 0


def _read_ca_private_key(path: Path) -> keys.RSAPrivateKey:
    """The CA private key, refused if others may read its file (as ssh refuses such keys)."""
    try:
        key = load_private_key(path.read_bytes())
    except (ValueError, CryptoError) as exc:
        raise UsageError(f"{path}: {exc}") from None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise UsageError(f"CA private key {path} is readable by others (mode {mode:04o}); chmod 600 it")
    if key.bits < MIN_CA_BITS:
        raise UsageError(f"{path}: a CA key needs at least {MIN_CA_BITS} bits, this one has {key.bits}")
    return key


def _read_subject(path: str) -> PublicIdentity | keys.RSAPublicKey:
    try:
        return load_subject(Path(path).read_bytes())
    except (ValueError, CryptoError) as exc:
        raise UsageError(f"{path}: {exc}") from None


def _binds(certificate: Certificate) -> str:
    return "RSA and ElGamal identity keys" if certificate.elgamal is not None else "RSA identity key only"


def _issue(args: argparse.Namespace) -> int:
    if not 1 <= args.days <= MAX_DAYS:
        raise UsageError(f"--days must be 1 to {MAX_DAYS}, got {args.days}")
    ca_key = _read_ca_private_key(Path(args.ca))
    subject = _read_subject(args.key)
    certificate = issue(ca_key, args.alias, subject, days=args.days)
    write_output(args.out, certificate.encode().encode("ascii"))
    sys.stderr.write(
        f"issued certificate {certificate.serial} for {certificate.alias} ({_binds(certificate)}), "
        f"valid {iso8601(certificate.not_before)} to {iso8601(certificate.not_after)}\n"
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    certificate = read_certificate(args.cert)
    rows = [
        ("serial", certificate.serial),
        ("alias", certificate.alias),
        ("binds", _binds(certificate)),
        ("RSA key", f"{certificate.rsa.bits}-bit, e = {certificate.rsa.e}"),
    ]
    if certificate.elgamal is not None:
        group = certificate.elgamal.group
        rows.append(("ElGamal key", f"{group.name} ({group.bits}-bit group)"))
        rows.append(("fingerprint", certificate.identity_fingerprint or ""))
    rows += [
        ("issuer", certificate.issuer),
        ("not before", iso8601(certificate.not_before)),
        ("not after", iso8601(certificate.not_after)),
        ("signature", f"RSASSA-PSS, SHA-256, MGF1-SHA-256, {SALT_LENGTH}-byte salt"),
    ]
    for name, value in rows:
        print(f"{name:<12} {value}")
    print("(not verified: use `python -m chat ca verify --ca CA.pub.pem CERT`)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    ca = read_ca_public_key(args.ca)
    certificate = read_certificate(args.cert)
    subject = None if args.key is None else _read_subject(args.key)
    problem = certificate_problem(certificate, ca, now=time.time(), alias=args.alias, subject=subject)
    if problem is not None:
        sys.stderr.write(f"error: {problem}\n")
        return EXIT_FAILED
    print(
        f"certificate valid: {certificate.alias} ({_binds(certificate)}), "
        f"until {iso8601(certificate.not_after)}, issued by CA {certificate.issuer[:16]}..."
    )
    return 0

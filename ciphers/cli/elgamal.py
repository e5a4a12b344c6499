"""``python -m ciphers elgamal``: keygen, encrypt/decrypt, sign/verify.

Keys are JSON files (:mod:`ciphers.elgamal.formats`): ``keygen --out NAME`` writes NAME.json
(private, created with mode 0600) and NAME.pub.json. Encryption schemes:

* ``--scheme hybrid`` (default): the ElGamal KEM, then a keystream and HMAC-SHA256 tag
  (:mod:`ciphers.elgamal.hybrid`); any length, tampering detected.
* ``--scheme textbook``: one ElGamal ciphertext per chunk of the message. **Insecure** (malleable,
  chunks can be reordered); for study only, and said so on stderr.

Signature schemes:

* ``--scheme dsa`` (default): DSA-form signatures in the group's prime-order subgroup, SHA-256,
  RFC 6979 nonces (:mod:`ciphers.elgamal.dsa`).
* ``--scheme textbook``: classic ElGamal signatures of SHA-256(message). **Insecure**: anyone can
  sign any message under any key (Bleichenbacher 1996); for study only, and said so on stderr.

A signature is a small JSON document naming its scheme (:func:`ciphers.elgamal.formats.dump_signature`),
written to ``--sig`` or stdout; ``verify`` checks it only under the scheme it is asked for, so a
textbook signature never passes a default (DSA-form) verification. ``verify`` exits 0 and prints
one line if the signature is valid, and exits 1 with one line on stderr if not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ciphers.cli.common import (
    OneLineParser,
    UsageError,
    add_io_arguments,
    read_input,
    refuse_existing,
    stderr_console,
    write_new_file,
    write_output,
)
from ciphers.elgamal import core, dsa, hybrid, signatures
from ciphers.elgamal.core import PrivateKey, PublicKey, generate_private_key
from ciphers.elgamal.formats import (
    SIGNATURE_SCHEMES,
    dump_private_key,
    dump_public_key,
    dump_signature,
    load_private_key,
    load_public_key,
    load_signature,
)
from ciphers.elgamal.groups import (
    DEFAULT_GROUP,
    GROUP_NAMES,
    MAX_GROUP_BITS,
    MIN_GROUP_BITS,
    Group,
    generate_group,
    named_group,
)
from ciphers.errors import VerificationError

SCHEMES = ("hybrid", "textbook")


def _generate_with_progress(bits: int) -> Group:
    """A custom safe-prime group, with a rich progress display on stderr while candidates are tried."""
    columns = (
        SpinnerColumn(),
        TextColumn(f"searching for a {bits}-bit safe prime"),
        BarColumn(),
        TextColumn("{task.completed} candidates"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr_console(), transient=True) as progress:
        task = progress.add_task("safe prime", total=None)
        return generate_group(bits, progress=lambda tried: progress.update(task, completed=tried))


def _keygen(args: argparse.Namespace) -> int:
    private_path, public_path = Path(f"{args.out}.json"), Path(f"{args.out}.pub.json")
    refuse_existing(private_path, public_path)
    if args.bits is not None:
        if not MIN_GROUP_BITS <= args.bits <= MAX_GROUP_BITS:
            raise UsageError(f"--bits must be from {MIN_GROUP_BITS} to {MAX_GROUP_BITS}")
        group = _generate_with_progress(args.bits)
    else:
        group = named_group(args.group or DEFAULT_GROUP)
    key = generate_private_key(group)
    write_new_file(private_path, dump_private_key(key).encode(), 0o600)
    public_path.write_text(dump_public_key(key.public_key), encoding="utf-8")
    sys.stderr.write(
        f"wrote {private_path} (private, mode 0600) and {public_path} ({group.bits}-bit group {group.name})\n"
    )
    return 0


def _public_key(path: str) -> PublicKey:
    return load_public_key(Path(path).read_bytes())


def _private_key(path: str) -> PrivateKey:
    return load_private_key(Path(path).read_bytes())


def _encrypt(args: argparse.Namespace) -> int:
    key = _public_key(args.key)
    data = read_input(args.infile)
    output = core.encrypt_bytes(key, data) if args.scheme == "textbook" else hybrid.encrypt(key, data)
    write_output(args.outfile, output)
    return 0


def _decrypt(args: argparse.Namespace) -> int:
    key = _private_key(args.key)
    data = read_input(args.infile)
    output = core.decrypt_bytes(key, data) if args.scheme == "textbook" else hybrid.decrypt(key, data)
    write_output(args.outfile, output)
    return 0


def _sign(args: argparse.Namespace) -> int:
    key = _private_key(args.key)
    message = read_input(args.infile)
    if args.scheme == "textbook":
        classic = signatures.sign(key, message)  # warns: printed as a warning line
        r, s = classic.r, classic.s
    else:
        signature = dsa.sign(key, message)
        r, s = signature.r, signature.s
    write_output(args.sig, dump_signature(args.scheme, r, s).encode("ascii"))
    return 0


def _verify(args: argparse.Namespace) -> int:
    key = _public_key(args.key)
    scheme, r, s = load_signature(Path(args.sig).read_bytes())
    if scheme != args.scheme:
        raise VerificationError(
            f"invalid signature: it is labelled {scheme!r}, not the {args.scheme!r} asked for"
        )
    message = read_input(args.infile)
    if scheme == "textbook":
        signatures.verify(key, message, signatures.Signature(r, s))
    else:
        dsa.verify(key, message, dsa.Signature(r, s))
    sys.stdout.write("signature valid\n")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``elgamal`` and its verbs to the top-level parser."""
    parser = subparsers.add_parser(
        "elgamal",
        help="ElGamal keys, hybrid/textbook encryption and signatures",
        description=(
            "ElGamal in a safe-prime subgroup. Textbook encryption is malleable and textbook signatures "
            "are forgeable: both insecure. The defaults (hybrid, dsa) are not."
        ),
    )
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=OneLineParser)

    keygen = verbs.add_parser("keygen", help="make a key pair: NAME.json (private) and NAME.pub.json")
    source = keygen.add_mutually_exclusive_group()
    source.add_argument("--group", choices=GROUP_NAMES, help=f"built-in RFC group (default {DEFAULT_GROUP})")
    source.add_argument(
        "--bits",
        type=int,
        help=f"generate a custom safe-prime group of N bits, at most {MAX_GROUP_BITS} (slow)",
    )
    keygen.add_argument("--out", required=True, metavar="NAME", help="output file name stem")
    keygen.set_defaults(handler=_keygen)

    for verb, handler, what in (("encrypt", _encrypt, "public"), ("decrypt", _decrypt, "private")):
        command = verbs.add_parser(verb, help=f"{verb} data with an ElGamal {what} key")
        command.add_argument("--key", required=True, metavar="FILE", help=f"{what} key (JSON)")
        command.add_argument(
            "--scheme",
            choices=SCHEMES,
            default="hybrid",
            help="hybrid (KEM + encrypt-then-MAC, default) or textbook (insecure)",
        )
        add_io_arguments(command)
        command.set_defaults(handler=handler)

    scheme_help = (
        "dsa (DSA-form, RFC 6979 nonces; default) or textbook (classic ElGamal: forgeable, insecure)"
    )
    sign = verbs.add_parser("sign", help="sign data (SHA-256) with a private key")
    sign.add_argument("--key", required=True, metavar="FILE", help="private key (JSON)")
    sign.add_argument("--in", dest="infile", metavar="FILE", help="message file (default stdin)")
    sign.add_argument("--sig", metavar="FILE", help="signature output file (default stdout)")
    sign.add_argument("--scheme", choices=SIGNATURE_SCHEMES, default="dsa", help=scheme_help)
    sign.set_defaults(handler=_sign)

    verify = verbs.add_parser("verify", help="verify a signature; exit status 1 if it is invalid")
    verify.add_argument("--key", required=True, metavar="FILE", help="public (or private) key (JSON)")
    verify.add_argument("--in", dest="infile", metavar="FILE", help="message file (default stdin)")
    verify.add_argument("--sig", required=True, metavar="FILE", help="signature file")
    verify.add_argument("--scheme", choices=SIGNATURE_SCHEMES, default="dsa", help=scheme_help)
    verify.set_defaults(handler=_verify)

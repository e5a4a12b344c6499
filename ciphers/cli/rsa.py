"""``python -m ciphers rsa``: keygen, encrypt/decrypt, sign/verify.

* ``keygen [--bits N] --out NAME [--force]`` writes NAME.pem (private, PKCS#8 PEM, created with mode
  0600) and NAME.pub.pem (public, SubjectPublicKeyInfo PEM), the formats ``openssl`` uses by
  default. It refuses to overwrite either file unless ``--force``. Below 2048 bits it warns.
* ``encrypt|decrypt --key FILE [--padding oaep|pkcs1|raw] [--hash H] [--label TEXT]``: OAEP with
  SHA-256 by default. ``pkcs1`` is legacy (Bleichenbacher's oracle) and ``raw`` is textbook RSA on
  the message read as one big-endian number: deterministic, malleable, **insecure**. Raw
  decryption gives that number's minimal bytes back, so leading zero bytes are lost.
* ``sign --key FILE [--scheme pss|pkcs1] [--hash H] [--sig FILE]`` and ``verify ... --sig FILE``:
  PSS with SHA-256 (salt of hash length) by default. ``verify`` prints ``signature valid`` on
  stdout and exits 0, or prints ``error: invalid signature`` on stderr and exits 1.

Keys load from PEM or DER in any format of :mod:`ciphers.rsa.formats` (encrypt and verify also
take a private key file). Data comes from ``--in`` or stdin and goes to ``--out`` or stdout,
binary-safe. Bad input ends in one ``error:`` line and exit status 2; warnings (small key,
insecure padding, SHA-1 signatures) are printed as ``warning:`` lines only once the work succeeded.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

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
from ciphers.errors import InsecureWarning
from ciphers.rsa import core, keys, oaep, pkcs1_v15, pss
from ciphers.rsa.formats import dump_private_key, dump_public_key, load_private_key, load_public_key
from ciphers.rsa.hashes import DEFAULT_HASH, HASHES

PADDINGS = ("oaep", "pkcs1", "raw")
SCHEMES = ("pss", "pkcs1")
RAW_WARNING = "raw (textbook) RSA is deterministic and malleable: insecure, for study only"
PKCS1_ENCRYPTION_WARNING = "PKCS#1 v1.5 encryption is legacy (Bleichenbacher's padding oracle); prefer OAEP"
SHA1_SIGNATURE_WARNING = "SHA-1 is not collision resistant; sign with SHA-1 only for legacy interoperability"


def _generate_with_progress(bits: int) -> keys.RSAPrivateKey:
    """A fresh key, with a spinner and a count of tested candidates on stderr."""
    columns = (
        SpinnerColumn(),
        TextColumn(f"generating a {bits}-bit RSA key"),
        TextColumn("{task.completed} candidates tested"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr_console(), transient=True) as progress:
        task = progress.add_task("keygen", total=None)
        return keys.generate(bits, progress=lambda tested: progress.update(task, completed=tested))


def _keygen(args: argparse.Namespace) -> int:
    private_path, public_path = Path(f"{args.out}.pem"), Path(f"{args.out}.pub.pem")
    refuse_existing(private_path, public_path, force=args.force)
    key = _generate_with_progress(args.bits)
    write_new_file(private_path, dump_private_key(key), 0o600, force=args.force)
    write_new_file(public_path, dump_public_key(key), 0o644, force=args.force)
    sys.stderr.write(
        f"wrote {private_path} (private, PKCS#8, mode 0600) and {public_path} (public, SPKI); "
        f"{key.bits}-bit RSA, e = {key.e}\n"
    )
    return 0


def _hash_name(args: argparse.Namespace, applies: bool, what: str) -> str:
    """The chosen hash, refusing ``--hash`` where the padding has none."""
    if args.hash is not None and not applies:
        raise UsageError(f"--hash does not apply to {what}")
    return str(args.hash or DEFAULT_HASH)


def _label(args: argparse.Namespace) -> bytes:
    if args.label is not None and args.padding != "oaep":
        raise UsageError("--label applies to OAEP only")
    return b"" if args.label is None else str(args.label).encode("utf-8")


def _encrypt(args: argparse.Namespace) -> int:
    hash_name = _hash_name(args, args.padding == "oaep", f"{args.padding} encryption")
    label = _label(args)
    key = load_public_key(Path(args.key).read_bytes())
    data = read_input(args.infile)
    if args.padding == "oaep":
        output = oaep.encrypt(key, data, label=label, hash_name=hash_name)
    elif args.padding == "pkcs1":
        output = pkcs1_v15.encrypt(key, data)
        warnings.warn(PKCS1_ENCRYPTION_WARNING, InsecureWarning, stacklevel=1)
    else:
        m = core.os2ip(data)
        if m >= key.n:
            raise UsageError(f"raw RSA needs the message, read as a number, below n ({key.bits} bits)")
        output = core.i2osp(core.rsaep(key, m), key.size_bytes)
        warnings.warn(RAW_WARNING, InsecureWarning, stacklevel=1)
    write_output(args.outfile, output)
    return 0


def _decrypt(args: argparse.Namespace) -> int:
    hash_name = _hash_name(args, args.padding == "oaep", f"{args.padding} decryption")
    label = _label(args)
    key = load_private_key(Path(args.key).read_bytes())
    data = read_input(args.infile)
    if args.padding == "oaep":
        output = oaep.decrypt(key, data, label=label, hash_name=hash_name)
    elif args.padding == "pkcs1":
        output = pkcs1_v15.decrypt(key, data)
        warnings.warn(PKCS1_ENCRYPTION_WARNING, InsecureWarning, stacklevel=1)
    else:
        if len(data) != key.size_bytes:
            raise UsageError(f"raw RSA ciphertext must be {key.size_bytes} bytes, got {len(data)}")
        m = core.rsadp(key, core.os2ip(data))
        output = m.to_bytes((m.bit_length() + 7) // 8, "big")
        warnings.warn(RAW_WARNING, InsecureWarning, stacklevel=1)
    write_output(args.outfile, output)
    return 0


def _sign(args: argparse.Namespace) -> int:
    key = load_private_key(Path(args.key).read_bytes())
    hash_name = _hash_name(args, True, "signatures")
    message = read_input(args.infile)
    if args.scheme == "pss":
        signature = pss.sign(key, message, hash_name=hash_name)
    else:
        signature = pkcs1_v15.sign(key, message, hash_name=hash_name)
    if HASHES[hash_name].name == "sha1":
        warnings.warn(SHA1_SIGNATURE_WARNING, InsecureWarning, stacklevel=1)
    write_output(args.sig, signature)
    return 0


def _verify(args: argparse.Namespace) -> int:
    key = load_public_key(Path(args.key).read_bytes())
    hash_name = _hash_name(args, True, "signatures")
    signature = Path(args.sig).read_bytes()
    message = read_input(args.infile)
    if args.scheme == "pss":
        pss.verify(key, message, signature, hash_name=hash_name)
    else:
        pkcs1_v15.verify(key, message, signature, hash_name=hash_name)
    sys.stdout.write("signature valid\n")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``rsa`` and its verbs to the top-level parser."""
    parser = subparsers.add_parser(
        "rsa",
        help="RSA keys, OAEP/PKCS#1 v1.5/raw encryption, PSS/PKCS#1 v1.5 signatures",
        description="RSA after RFC 8017. Raw (textbook) RSA is deterministic, malleable and insecure.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=OneLineParser)
    hash_choices = sorted(HASHES)

    keygen = verbs.add_parser("keygen", help="make a key pair: NAME.pem (private) and NAME.pub.pem")
    keygen.add_argument(
        "--bits", type=int, default=keys.DEFAULT_BITS, help="modulus size (default 2048; 256..2046 warn)"
    )
    keygen.add_argument("--out", required=True, metavar="NAME", help="output file name stem")
    keygen.add_argument("--force", action="store_true", help="overwrite existing key files")
    keygen.set_defaults(handler=_keygen)

    for verb, handler, what in (("encrypt", _encrypt, "public"), ("decrypt", _decrypt, "private")):
        command = verbs.add_parser(verb, help=f"{verb} data with an RSA {what} key")
        command.add_argument("--key", required=True, metavar="FILE", help=f"{what} key (PEM or DER)")
        command.add_argument(
            "--padding",
            choices=PADDINGS,
            default="oaep",
            help="oaep (default), pkcs1 (legacy), raw (insecure)",
        )
        command.add_argument("--hash", choices=hash_choices, help="OAEP hash, also for MGF1 (default sha256)")
        command.add_argument("--label", metavar="TEXT", help="OAEP label (UTF-8; default empty)")
        add_io_arguments(command)
        command.set_defaults(handler=handler)

    for verb, handler in (("sign", _sign), ("verify", _verify)):
        command = verbs.add_parser(
            verb,
            help="sign data with a private key"
            if verb == "sign"
            else "verify a signature; exit status 1 if it is invalid",
        )
        key_help = "private key (PEM or DER)" if verb == "sign" else "public (or private) key (PEM or DER)"
        command.add_argument("--key", required=True, metavar="FILE", help=key_help)
        command.add_argument("--scheme", choices=SCHEMES, default="pss", help="pss (default) or pkcs1")
        command.add_argument("--hash", choices=hash_choices, help="message hash (default sha256)")
        command.add_argument("--in", dest="infile", metavar="FILE", help="message file (default stdin)")
        if verb == "sign":
            command.add_argument("--sig", metavar="FILE", help="signature output file (default stdout)")
        else:
            command.add_argument("--sig", required=True, metavar="FILE", help="signature file")
        command.set_defaults(handler=handler)

"""``python -m ciphers des ...`` and ``... 3des ...``: trace one block, encrypt and decrypt data.

* ``des trace --key HEX --block HEX [--json] [--decrypt]`` opens DES up: the 16 rounds as a table
  (or the trace as JSON), then the result.
* ``des|3des encrypt|decrypt --key HEX [--mode M] [--iv HEX] [--no-pad] [--in FILE] [--out FILE]``
  runs a mode of :mod:`ciphers.modes` over the fast ciphers (which go on bit slices, Biham 1997,
  for long inputs where the mode allows it: :data:`ciphers.des_fast.BITSLICE_THRESHOLD`; the output
  is the same). Without ``--iv``, encryption draws a random IV and writes it as the first 8 bytes
  of the output, and decryption reads it from there.

stdout carries only the binary result (or the trace). Key warnings and insecurity notes go to
stderr, and for encrypt/decrypt only once the work has succeeded, so a failure is exactly one line.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.table import Table

from ciphers import modes
from ciphers.blockcipher import BlockCipher
from ciphers.cli.common import (
    UsageError,
    add_io_arguments,
    parse_hex,
    read_input,
    stdout_console,
    write_output,
)
from ciphers.des import DESTrace, trace_block, warn_about_key
from ciphers.des_fast import FastDES
from ciphers.tdes import TripleDES

DES_NOTE = (
    "note: single DES has a 56-bit key and is broken by exhaustive search; use it to learn, not to protect"
)
ECB_NOTE = "note: ECB encrypts equal blocks to equal blocks and so leaks the message's structure"

_EXIT_OK = 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``des`` and ``3des`` families to ``python -m ciphers``."""
    des = subparsers.add_parser("des", help="DES (FIPS 46-3; INSECURE, 56-bit key): trace, encrypt, decrypt")
    des_commands = des.add_subparsers(dest="command", required=True)
    trace = des_commands.add_parser("trace", help="show the 16 rounds of DES on one block")
    trace.add_argument("--key", required=True, metavar="HEX", help="8-byte key (parity bits ignored)")
    trace.add_argument("--block", required=True, metavar="HEX", help="8-byte input block")
    trace.add_argument("--decrypt", action="store_true", help="decipher the block instead")
    trace.add_argument("--json", action="store_true", help="print the trace as JSON")
    trace.set_defaults(handler=_trace)
    _add_crypt_commands(des_commands, "des", key_lengths=(8,), key_help="8-byte key (16 hex digits)")

    tdes = subparsers.add_parser("3des", help="Triple DES (EDE, keying options 1-3): encrypt, decrypt")
    tdes_commands = tdes.add_subparsers(dest="command", required=True)
    _add_crypt_commands(
        tdes_commands, "3des", key_lengths=(16, 24), key_help="16- or 24-byte key K1||K2[||K3]"
    )


def _add_crypt_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    family: str,
    *,
    key_lengths: tuple[int, ...],
    key_help: str,
) -> None:
    for operation in ("encrypt", "decrypt"):
        parser = commands.add_parser(operation, help=f"{operation} data with {family.upper()}")
        parser.add_argument("--key", required=True, metavar="HEX", help=key_help)
        parser.add_argument(
            "--mode",
            type=str.lower,
            choices=modes.MODES,
            default="cbc",
            help="mode of operation (default cbc)",
        )
        parser.add_argument(
            "--iv",
            metavar="HEX",
            help="8-byte IV / initial counter; by default encrypt prepends a random one, decrypt reads it",
        )
        parser.add_argument("--no-pad", action="store_true", help="ECB/CBC: no PKCS#7 padding (whole blocks)")
        parser.add_argument("--quiet", action="store_true", help="omit the DES/ECB notes (key warnings stay)")
        add_io_arguments(parser)
        parser.set_defaults(handler=_crypt, family=family, operation=operation, key_lengths=key_lengths)


# --- trace ----------------------------------------------------------------------------------------


def _trace(args: argparse.Namespace) -> int:
    key = parse_hex(args.key, "key", (8,))
    block = parse_hex(args.block, "block", (8,))
    result = trace_block(key, block, decrypt=args.decrypt)
    warn_about_key(key)
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        _print_trace(result)
    return _EXIT_OK


def _print_trace(result: DESTrace) -> None:
    """The rounds as a rich table: subkey, L and R after the round, S-box outputs and f = P(S)."""
    data = result.to_dict()
    direction = "deciphering" if result.decrypt else "enciphering"
    table = Table(title=f"DES {direction} {data['input']} under key {data['key']} (INSECURE: 56-bit key)")
    table.add_column("round", justify="right")
    table.add_column("subkey K", no_wrap=True)
    table.add_column("L", no_wrap=True)
    table.add_column("R", no_wrap=True)
    table.add_column("S1..S8", no_wrap=True)
    table.add_column("f = P(S)", no_wrap=True)
    for row in data["rounds"]:
        table.add_row(
            str(row["round"]),
            row["subkey"],
            row["L"],
            row["R"],
            "".join(row["sbox_outputs"]),
            row["p_output"],
        )
    console = stdout_console()
    console.print(f"IP(input) = L0 R0 = {data['ip_output']}")
    console.print(table)
    console.print(f"R16 L16 = {data['preoutput']}")
    name = "plaintext" if result.decrypt else "ciphertext"
    console.print(f"{name} = IP^-1(R16 L16) = {data[name]}")


# --- encrypt / decrypt ------------------------------------------------------------------------------


def _make_cipher(family: str, key: bytes) -> BlockCipher:
    """The fast cipher for ``key``; constructing it warns about weak, semi-weak or degenerate keys."""
    return FastDES(key) if family == "des" else TripleDES(key, fast=True)


def _crypt(args: argparse.Namespace) -> int:
    key = parse_hex(args.key, "key", args.key_lengths)
    mode: str = args.mode
    iv = parse_hex(args.iv, "IV", (modes.BLOCK_SIZE,)) if args.iv is not None else None
    if mode == "ecb" and iv is not None:
        raise UsageError("ECB takes no IV; drop --iv or choose another mode")
    data = read_input(args.infile)
    cipher = _make_cipher(args.family, key)
    pad = not args.no_pad if mode in modes.PADDED_MODES else None
    crypt = modes.encrypt if args.operation == "encrypt" else modes.decrypt

    if mode == "ecb" or iv is not None:
        output = crypt(cipher, mode, data, iv=iv, pad=pad)
    elif args.operation == "encrypt":
        fresh = modes.new_iv()
        output = fresh + crypt(cipher, mode, data, iv=fresh, pad=pad)
    else:
        if len(data) < modes.BLOCK_SIZE:
            raise UsageError(
                f"input is {len(data)} bytes, too short to begin with the 8-byte IV (use --iv if it does not)"
            )
        prefix, body = data[: modes.BLOCK_SIZE], data[modes.BLOCK_SIZE :]
        output = crypt(cipher, mode, body, iv=prefix, pad=pad)

    write_output(args.outfile, output)
    notes = []
    if not args.quiet:
        if args.family == "des":
            notes.append(DES_NOTE)
        if mode == "ecb":
            notes.append(ECB_NOTE)
    for note in notes:
        sys.stderr.write(note + "\n")
    return _EXIT_OK

"""What every sub-command shares: one-line errors, hex parsing, binary-safe input and output."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from rich.console import Console

from ciphers.errors import CryptoError, VerificationError

EXIT_USAGE = 2
EXIT_FAILED = 1


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


Handler = Callable[[argparse.Namespace], int]


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse and dispatch to ``args.handler``; turn every expected failure into one line.

    Warnings the command raises (weak keys, insecure choices) are printed as ``warning:`` lines
    once it has succeeded, each once; a failure is always exactly one ``error:`` line, with exit
    status 1 for a signature that does not verify and 2 for bad input.
    """
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            status = handler(args)
        for message in dict.fromkeys(str(w.message) for w in caught):
            sys.stderr.write(f"warning: {message}\n")
        return status
    except VerificationError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_FAILED
    except (UsageError, CryptoError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_USAGE
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        sys.stderr.write(f"error: {exc.strerror or exc}{where}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130


def parse_hex(text: str, what: str, lengths: Sequence[int] | None = None) -> bytes:
    """Hex (spaces and a 0x prefix allowed) to bytes, checking the length in bytes if given."""
    cleaned = text.strip().replace(" ", "").replace(":", "")
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    try:
        value = bytes.fromhex(cleaned)
    except ValueError:
        raise UsageError(f"{what} is not valid hex: {text!r}") from None
    if lengths is not None and len(value) not in lengths:
        expected = " or ".join(str(n) for n in lengths)
        raise UsageError(f"{what} must be {expected} bytes, got {len(value)}")
    return value


def read_input(path: str | None) -> bytes:
    """All of ``--in FILE``, or of stdin (binary) when no file is given or it is ``-``."""
    if path is None or path == "-":
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


def write_output(path: str | None, data: bytes) -> None:
    """Write to ``--out FILE``, or to stdout (binary) when no file is given or it is ``-``."""
    if path is None or path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        Path(path).write_bytes(data)


def refuse_existing(*paths: Path, force: bool = False) -> None:
    """Fail before any work (e.g. key generation) if an output file exists and ``force`` is not given."""
    if force:
        return
    for path in paths:
        if path.exists():
            raise UsageError(f"{path} already exists; use --force to overwrite it")


def write_new_file(path: Path, data: bytes, mode: int, *, force: bool = False) -> None:
    """Create ``path`` with ``mode`` from the start (``O_EXCL``: a key is never briefly readable).

    An existing file is an error unless ``force`` is given.
    """
    refuse_existing(path, force=force)
    if force:
        path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def add_io_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--in``/``--out`` pair every data-processing command takes."""
    parser.add_argument("--in", dest="infile", metavar="FILE", help="input file (default stdin)")
    parser.add_argument("--out", dest="outfile", metavar="FILE", help="output file (default stdout)")


def stderr_console() -> Console:
    """A rich console on stderr, for warnings and progress that must not mix with binary output."""
    return Console(stderr=True)


def stdout_console() -> Console:
    """A rich console on stdout, for tables and traces."""
    return Console()

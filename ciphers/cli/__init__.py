"""The ``ciphers`` command line (also ``python -m ciphers``): one sub-command per cipher family.

Each family module exposes ``register(subparsers)``. Every failure a user can cause ends in one
line on stderr and exit status 2 (:func:`ciphers.cli.common.run`); no traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ciphers.cli import des, elgamal, rsa
from ciphers.cli.common import OneLineParser, run


def build_parser(prog: str = "ciphers") -> argparse.ArgumentParser:
    """The full argument parser: ``des`` and ``3des``, ``rsa``, ``elgamal``; ``prog``: the name run by."""

    parser = OneLineParser(
        prog=prog,
        description="Teaching ciphers: DES/3DES, RSA, ElGamal. DES and textbook RSA/ElGamal are insecure.",
    )
    sub = parser.add_subparsers(dest="family", required=True, parser_class=OneLineParser)
    for family in (des, rsa, elgamal):
        family.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "ciphers") -> int:
    """Parse ``argv`` and run the chosen command; return the exit status.

    The ``ciphers`` console script calls it as it is; ``python -m ciphers`` names itself in ``prog``.
    """
    return run(build_parser(prog), argv)

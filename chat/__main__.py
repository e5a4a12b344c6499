"""``python -m chat``: ``server`` (:mod:`chat.cli_server`), ``client`` (:mod:`chat.cli_client`)
and ``ca`` (:mod:`chat.cli_ca`).

Each module exposes ``register(subparsers)`` adding its sub-command with a ``handler``, as
:mod:`ciphers.cli` does; failures are one line and exit status 2 (:func:`ciphers.cli.common.run`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from chat import cli_ca, cli_client, cli_server
from ciphers.cli.common import OneLineParser, run


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: ``server``, ``client`` and ``ca``."""
    parser = OneLineParser(
        prog="python -m chat",
        description="An end-to-end encrypted terminal chat over teaching ciphers (DES/3DES, RSA, ElGamal).",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for command in (cli_server, cli_client, cli_ca):
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return the exit status."""
    return run(build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m chat``: one sub-command per module ``chat.cli_<name>`` that is installed.

Each such module exposes ``register(subparsers)`` adding its sub-command with a ``handler``
(as :mod:`ciphers.cli` does): ``server`` lives in :mod:`chat.cli_server`; ``client`` and ``ca``
are added by dropping in ``chat/cli_client.py`` and ``chat/cli_ca.py``, with no change here.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

from ciphers.cli.common import OneLineParser, run

COMMANDS = ("server", "client", "ca")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with every sub-command whose module is present."""
    parser = OneLineParser(
        prog="python -m chat",
        description="An end-to-end encrypted terminal chat over teaching ciphers (DES/3DES, RSA, ElGamal).",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"chat.cli_{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"chat.cli_{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return the exit status."""
    return run(build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())

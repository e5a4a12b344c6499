"""The command line of the chat: argument parsing only; each sub-command hands off to its layer.

``server`` (:mod:`chat.cli.server`), ``client`` (:mod:`chat.cli.client`), ``ca``
(:mod:`chat.cli.ca`) and ``web`` (:mod:`chat.cli.web`) each expose ``register(subparsers)``
adding the sub-command with a ``handler``, as :mod:`ciphers.cli` does; failures are one line
and exit status 2 (:func:`ciphers.cli.common.run`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from chat.cli import ca, client, server, web
from ciphers.cli.common import OneLineParser, run


def build_parser(prog: str = "cipherchat") -> argparse.ArgumentParser:
    """The argument parser: ``server``, ``client``, ``ca`` and ``web``; ``prog`` is the name it was run by."""
    parser = OneLineParser(
        prog=prog,
        description="An end-to-end encrypted terminal chat over teaching ciphers (DES/3DES, RSA, ElGamal).",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for command in (server, client, ca, web):
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "cipherchat") -> int:
    """Parse ``argv`` and run the chosen command; return the exit status.

    The ``cipherchat`` console script calls it as it is; ``python -m chat`` names itself in ``prog``.
    """
    return run(build_parser(prog), argv)

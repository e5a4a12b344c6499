"""``python -m chat client``: the arguments of the chat client, checked, then handed to a user interface.

When stdin is a terminal and neither ``--plain`` nor ``--json`` is given, the Textual client runs
(:mod:`chat.ui.tui`); there ``--alias`` and ``--room`` may be left out, and a join screen asks for
them. Otherwise the line client runs (:mod:`chat.ui.line`): one line in per message or command,
one line out per event. Both run on the same application core, so every other option
(``--ca``, ``--cert``, ``--downloads``, ``--reconnect-for``, the file quotas) means the same in
both; file offers are the exception: without ``--accept-files`` the Textual client asks about
each, and the line client, which has nobody to ask, refuses them.

Identity keys persist per alias under ``$XDG_CONFIG_HOME/cipherchat/identities/ALIAS``
(:mod:`chat.client.store`; private keys 0600), so a fingerprint stays the same between runs;
``--identity DIR`` keeps them elsewhere, ``--ephemeral`` uses fresh keys once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from chat.client.chat_client import DEFAULT_HOST, DEFAULT_PORT
from chat.e2e.suites import KEX_NAMES, SUITE_NAMES
from chat.protocol.limits import MiB
from chat.protocol.names import name_problem
from chat.transfer.policy import DEFAULT_AT_ONCE, DEFAULT_PER_SENDER, DEFAULT_TOTAL
from chat.ui.line import run_line_client, stdin_lines
from chat.ui.options import ClientOptions, load_files
from ciphers.cli.common import UsageError

MAX_QUOTA_MIB = 1 << 20  # a tebibyte: beyond it a quota means nothing
MAX_AT_ONCE = 64


def register(sub: Any) -> None:
    """Add the ``client`` sub-command to ``python -m chat``."""
    parser = sub.add_parser(
        "client",
        help="chat client, end-to-end encrypted (Textual on a terminal, line mode otherwise)",
        description="Chat through a relay that sees only ciphertext. On a terminal this is the Textual "
        "client (/help inside); with --plain or --json, or stdin not a terminal, lines from stdin are "
        "messages and commands (/help lists them: the Textual client's, but its panels).",
    )
    parser.add_argument(
        "--alias",
        help="your name in the room (1-32 of A-Z a-z 0-9 _ - .); the Textual client asks when it is missing",
    )
    parser.add_argument("--room", help="room to join (default lobby; the Textual client asks when missing)")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"relay address (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"relay port (default {DEFAULT_PORT})")
    parser.add_argument("--cipher", choices=SUITE_NAMES, help="suite to ask for if the room is new")
    parser.add_argument("--kex", choices=KEX_NAMES, help="key exchange to ask for if the room is new")
    parser.add_argument(
        "--identity",
        metavar="DIR",
        help="load (or create) identity keys in DIR (default: per alias under $XDG_CONFIG_HOME/cipherchat)",
    )
    parser.add_argument(
        "--ephemeral", action="store_true", help="fresh identity keys for this run only (not saved)"
    )
    parser.add_argument("--cert", metavar="FILE", help="certificate to present on join (python -m chat ca)")
    parser.add_argument("--ca", metavar="CA.pub.pem", help="check every member's certificate against this CA")
    parser.add_argument(
        "--downloads", metavar="DIR", help="where received files are saved (default ~/Downloads/cipherchat)"
    )
    parser.add_argument(
        "--accept-files",
        action="store_true",
        help="accept file offers without asking, within the quotas (without it the Textual client "
        "asks, and line mode refuses every offer, telling the sender why)",
    )
    parser.add_argument(
        "--quota-per-sender",
        metavar="MIB",
        type=float,
        help=f"the most accepted from one member while the client runs (default {DEFAULT_PER_SENDER // MiB})",
    )
    parser.add_argument(
        "--quota-total",
        metavar="MIB",
        type=float,
        help=f"the most accepted from everyone while the client runs (default {DEFAULT_TOTAL // MiB})",
    )
    parser.add_argument(
        "--transfers-at-once",
        metavar="N",
        type=int,
        help=f"files received, or offers waiting for an answer, at once (default {DEFAULT_AT_ONCE})",
    )
    parser.add_argument(
        "--reconnect-for",
        metavar="SECONDS",
        type=float,
        help="after a lost connection, keep trying to reconnect for SECONDS (default: 10 attempts, "
        "at most 120 s; 0: do not reconnect)",
    )
    parser.add_argument("--plain", action="store_true", help="line mode even on a terminal")
    parser.add_argument("--json", action="store_true", help="print events as JSON lines")
    parser.add_argument("--hold-timeout", type=float, default=3.0, help=argparse.SUPPRESS)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Check the arguments, then run the Textual client or the line client."""
    for value, what in ((args.alias, "alias"), (args.room, "room name")):
        problem = None if value is None else name_problem(value, what)
        if problem is not None:
            raise UsageError(problem)
    if not 0 < args.port <= 65535:
        raise UsageError(f"--port must be 1 to 65535, got {args.port}")
    if args.identity is not None and args.ephemeral:
        raise UsageError("--identity and --ephemeral exclude each other")
    for value, flag in ((args.quota_per_sender, "--quota-per-sender"), (args.quota_total, "--quota-total")):
        if value is not None and not 0 <= value <= MAX_QUOTA_MIB:
            raise UsageError(f"{flag} must be 0 to {MAX_QUOTA_MIB} MiB, got {value:g}")
    if args.transfers_at_once is not None and not 1 <= args.transfers_at_once <= MAX_AT_ONCE:
        raise UsageError(f"--transfers-at-once must be 1 to {MAX_AT_ONCE}, got {args.transfers_at_once}")
    if args.reconnect_for is not None and not 0 <= args.reconnect_for <= 86400:
        raise UsageError(f"--reconnect-for must be 0 to 86400 seconds, got {args.reconnect_for:g}")
    if sys.stdin.isatty() and not (args.plain or args.json):
        # Imported here: Textual is not loaded for line mode, and chat.ui.tui uses this module.
        from chat.ui.tui import run as run_tui

        return run_tui(args)
    if args.alias is None:
        raise UsageError("--alias is required in line mode")
    options = ClientOptions.from_args(args)
    ca, certificate = load_files(options)
    return asyncio.run(
        run_line_client(options, stdin_lines, sys.stdout, sys.stderr, ca=ca, certificate=certificate)
    )

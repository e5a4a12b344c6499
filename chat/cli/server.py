"""``python -m chat server``: run the relay, with the eavesdropper's view on the console.

The first line on stdout is ``listening on HOST:PORT`` (with ``--port 0`` it tells the port the
system chose). When ``--cipher`` is not given and stdin is a terminal, the operator is asked for
the default suite (3des if they just press Enter); otherwise it is 3des.

The relay knows no end-to-end format: this command tells its console what each suite is worth
(the notes of :mod:`chat.e2e.suites`) and which fields hold base64 (:data:`BINARY_FIELDS`), and
always installs the end-to-end layer's admission (:class:`~chat.e2e.admission.JoinAdmission`):
every joiner must prove possession of an identity within bounds, and under ``--ca`` hold a
valid certificate for it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from rich.console import Console
from rich.prompt import Prompt

from chat.e2e import identity, sealed
from chat.e2e.admission import JoinAdmission
from chat.e2e.certificates import read_ca_public_key
from chat.e2e.suites import DEFAULT_KEX, DEFAULT_SUITE, KEX_NAMES, SUITE_NAMES, suite
from chat.protocol.limits import Limits
from chat.relay.console import WireView
from chat.relay.server import RelayServer, ServerConfig, run_server
from ciphers.cli.common import UsageError

BINARY_FIELDS = sealed.BINARY_FIELDS | identity.BINARY_FIELDS
"""The fields of bodies, payloads and identities that hold base64: what the console decodes."""


def register(sub: Any) -> None:
    """Add the ``server`` sub-command to ``python -m chat``."""
    parser = sub.add_parser(
        "server",
        help="run the relay (it sees ciphertext and metadata, never plaintext)",
        description="Run the chat relay. It never decrypts anything and holds no private key.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5050, help="TCP port (default 5050; 0 picks a free one)")
    parser.add_argument(
        "--cipher",
        choices=SUITE_NAMES,
        help="suite of new rooms whose first client asks for none (asked for when stdin is a terminal)",
    )
    parser.add_argument(
        "--kex",
        choices=KEX_NAMES,
        default=DEFAULT_KEX,
        help="key exchange of new rooms (default %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not show every relayed frame")
    parser.add_argument(
        "--ca",
        metavar="CA.pub.pem",
        help="admit only members with a valid, unexpired certificate from this CA (python -m chat ca)",
    )
    parser.add_argument(
        "--max-members", type=int, default=Limits().max_members, help="members per room (default %(default)s)"
    )
    parser.set_defaults(handler=handle)


def choose_suite(console: Console, stream: TextIO | None = None) -> str:
    """Ask the operator for the default suite, showing what each one is worth (Enter: 3des)."""
    for name in SUITE_NAMES:
        console.print(f"  [bold]{name:<8}[/] {suite(name).note}", highlight=False)
    return Prompt.ask(
        "Cipher suite for new rooms",
        choices=list(SUITE_NAMES),
        default=DEFAULT_SUITE,
        console=console,
        stream=stream,
    )


def handle(args: argparse.Namespace) -> int:
    """Build the configuration from the arguments and run the relay until Ctrl-C."""
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0 to 65535, got {args.port}")
    try:
        limits = Limits.for_members(args.max_members)
    except ValueError as exc:
        raise UsageError(f"--max-members: {exc}") from None
    console = Console()
    chosen = args.cipher
    if chosen is None:
        chosen = choose_suite(console) if sys.stdin.isatty() else DEFAULT_SUITE
    admission = JoinAdmission(read_ca_public_key(args.ca) if args.ca else None)
    config = ServerConfig(
        host=args.host,
        port=args.port,
        suite=chosen,
        kex=args.kex,
        limits=limits,
        admission=admission,
    )
    view = WireView(console, frames=not args.quiet, binary=BINARY_FIELDS)
    default = suite(chosen)

    def announce(server: RelayServer) -> None:
        print(f"listening on {server.host}:{server.port}", flush=True)
        view.started(server.host, server.port, chosen, args.kex, default.note, insecure=default.insecure)

    return run_server(config, view, announce)

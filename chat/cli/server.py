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
import re
import sys
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.prompt import Prompt

from chat.cli.bundle import STATIC_DIR, Bundle, build_bundle
from chat.cli.web_assets import ASSETS_DIR, AssetError
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
DEFAULTS = ServerConfig()


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
    web = parser.add_argument_group("the browser client (docs/web.md)")
    web.add_argument(
        "--web",
        type=int,
        metavar="PORT",
        help="also accept WebSocket members at /ws and serve the web page over HTTP on this port (same host)",
    )
    web.add_argument(
        "--web-optional",
        action="store_true",
        help="without the Pyodide runtime, say how to get it and serve the terminal clients only",
    )
    web.add_argument(
        "--web-assets",
        type=Path,
        default=ASSETS_DIR,
        metavar="DIR",
        help="the Pyodide runtime (make web-assets)",
    )
    web.add_argument(
        "--web-static",
        type=Path,
        default=STATIC_DIR,
        metavar="DIR",
        help="the page's own files (development)",
    )
    parser.add_argument(
        "--ca",
        metavar="CA.pub.pem",
        help="admit only members with a valid, unexpired certificate from this CA (python -m chat ca)",
    )
    limits = parser.add_argument_group(
        "capacity and deadlines", "sizes take K, M or G (KiB, MiB, GiB); a timeout of 0 means never"
    )
    limits.add_argument(
        "--max-members",
        type=int,
        default=Limits().max_members,
        metavar="N",
        help="members per room (default %(default)s)",
    )
    limits.add_argument(
        "--max-connections",
        type=count,
        default=DEFAULTS.max_connections,
        metavar="N",
        help="connections in all (default %(default)s)",
    )
    limits.add_argument(
        "--max-per-address",
        type=count,
        default=DEFAULTS.max_per_address,
        metavar="N",
        help="connections from one IP address; raise it when a class shares one NAT (default %(default)s)",
    )
    limits.add_argument(
        "--queue-bytes",
        type=size,
        default=DEFAULTS.queue_bytes,
        metavar="SIZE",
        help="what may wait for one client before it is cut off as a slow reader (default 8M)",
    )
    limits.add_argument(
        "--stall-timeout",
        type=seconds,
        default=DEFAULTS.stall_timeout,
        metavar="S",
        help="a client taking none of what waits for it this long is cut off (default %(default)g)",
    )
    limits.add_argument(
        "--idle-timeout",
        type=seconds_or_never,
        default=DEFAULTS.idle_timeout,
        metavar="S",
        help="a client sending no frame this long is disconnected (default %(default)g)",
    )
    limits.add_argument(
        "--join-timeout",
        type=seconds_or_never,
        default=DEFAULTS.join_timeout,
        metavar="S",
        help="a new connection must be in a room within this (default %(default)g)",
    )
    limits.add_argument(
        "--prove-timeout",
        type=seconds,
        default=DEFAULTS.prove_timeout,
        metavar="S",
        help="a joiner must answer its challenge (prove it holds its key) within this (default %(default)g)",
    )
    limits.add_argument(
        "--frame-timeout",
        type=seconds_or_never,
        default=DEFAULTS.frame_timeout,
        metavar="S",
        help="a frame once begun must be complete within this (default %(default)g)",
    )
    limits.add_argument(
        "--max-unfinished",
        type=size,
        default=DEFAULTS.max_unfinished,
        metavar="SIZE",
        help="bytes of unfinished frames held for all connections together (default 64M)",
    )
    limits.add_argument(
        "--linger",
        type=seconds,
        default=DEFAULTS.linger,
        metavar="S",
        help="how long a client cut off has to read its last frames, its error (default %(default)g)",
    )
    limits.add_argument(
        "--shutdown-grace",
        type=seconds,
        default=DEFAULTS.shutdown_grace,
        metavar="S",
        help="how long the clients have to read the shutdown frame (default %(default)g)",
    )
    parser.set_defaults(handler=handle)


SIZE = re.compile(r"([0-9]+)([KMG]?)(?:i?B)?", re.IGNORECASE)
UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def size(text: str) -> int:
    """A size in bytes: ``4194304``, ``4M``, ``512K``, ``1G`` (binary units)."""
    match = SIZE.fullmatch(text.strip())
    if match is None or int(match.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (say 4M, 512K or a number of bytes)")
    return int(match.group(1)) * UNITS[match.group(2).upper()]


def count(text: str) -> int:
    """A whole number, at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def seconds(text: str) -> float:
    """A duration in seconds, above 0."""
    value = seconds_or_never(text)
    if value is None:
        raise argparse.ArgumentTypeError("must be above 0 seconds")
    return value


def seconds_or_never(text: str) -> float | None:
    """A duration in seconds; 0 means never (None)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds (0: never), got {text!r}")
    return value or None


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


def web_bundle(args: argparse.Namespace) -> Bundle | None:
    """The web client's bundle under ``--web`` (None without it, or without the assets under
    ``--web-optional``, which says so in one line); UsageError if ``--web`` cannot be honoured."""
    if args.web is None:
        return None
    if not 0 <= args.web <= 65535:
        raise UsageError(f"--web must be 0 to 65535, got {args.web}")
    try:
        return build_bundle(args.web_static, args.web_assets)
    except AssetError as exc:
        if not args.web_optional:
            raise UsageError(f"--web: {exc}") from None
        print(f"no web client ({exc}); serving the terminal clients only", file=sys.stderr, flush=True)
        return None


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
    bundle = web_bundle(args)
    config = ServerConfig(
        host=args.host,
        port=args.port,
        suite=chosen,
        kex=args.kex,
        limits=limits,
        max_connections=args.max_connections,
        max_per_address=args.max_per_address,
        queue_bytes=args.queue_bytes,
        stall_timeout=args.stall_timeout,
        idle_timeout=args.idle_timeout,
        join_timeout=args.join_timeout,
        prove_timeout=args.prove_timeout,
        frame_timeout=args.frame_timeout,
        max_unfinished=args.max_unfinished,
        linger=args.linger,
        shutdown_grace=args.shutdown_grace,
        admission=admission,
        web_port=args.web if bundle is not None else None,
        site=bundle.site() if bundle is not None else None,
    )
    view = WireView(console, frames=not args.quiet, binary=BINARY_FIELDS)
    default = suite(chosen)

    def announce(server: RelayServer) -> None:
        print(f"listening on {server.host}:{server.port}", flush=True)
        if bundle is not None:
            url = f"http://{server.host}:{server.web_port}/"
            print(f"web client on {url} (WebSocket at /ws), bundle sha256 {bundle.sha256}", flush=True)
        view.started(server.host, server.port, chosen, args.kex, default.note, insecure=default.insecure)

    return run_server(config, view, announce)

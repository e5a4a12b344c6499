"""``cipherchat web``: the browser client as a local copy, served from this machine, or weighed.

``--out DIR`` writes the bundle (the page, the Pyodide runtime, the wheel, ``bundle.json``) under
the URL paths the relay serves it at, plus ``index.html`` at the top, so any static HTTP server
run in DIR serves it. ``--serve`` (and ``--open``, which also opens the browser) serves it on
127.0.0.1 on a free port until Ctrl-C, with the relay's headers except that the page may open a
WebSocket to any relay (``connect-src ws: wss:``): the student types the relay's ``ws://`` URL in
the page, and the relay accepts pages from this machine's loopback (docs/web.md). Either way the
bundle's SHA-256 is printed, to compare with the one the relay prints. ``--sizes`` prints what
the page downloads, raw and gzipped.
"""

from __future__ import annotations

import argparse
import http.server
import sys
import threading
import webbrowser
from pathlib import Path
from typing import Any

from chat.cli.bundle import MANIFEST_PATH, STATIC_DIR, Bundle, build_bundle, sizes
from chat.cli.web_assets import ASSETS_DIR, AssetError
from chat.relay.static import INDEX, ConnectPolicy, StaticSite
from ciphers.cli.common import UsageError


def register(sub: Any) -> None:
    """Add the ``web`` sub-command to ``python -m chat``."""
    parser = sub.add_parser(
        "web",
        help="the browser client: write a local copy, serve it from this machine, or weigh it",
        description="The browser client, built from this tree: the page, the Pyodide runtime, a wheel.",
    )
    parser.add_argument("--out", type=Path, metavar="DIR", help="write a local copy of the bundle into DIR")
    parser.add_argument(
        "--serve", action="store_true", help="serve it on 127.0.0.1 (a free port) until Ctrl-C"
    )
    parser.add_argument("--open", action="store_true", help="serve it, and open it in the browser")
    parser.add_argument(
        "--port", type=int, default=0, help="the port for --serve/--open (default: a free one)"
    )
    parser.add_argument("--sizes", action="store_true", help="print what the page downloads, raw and gzipped")
    parser.add_argument("--web-assets", type=Path, default=ASSETS_DIR, metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--web-static", type=Path, default=STATIC_DIR, metavar="DIR", help=argparse.SUPPRESS)
    parser.set_defaults(handler=handle)


def write_copy(bundle: Bundle, directory: Path) -> list[Path]:
    """Write every file of ``bundle`` under ``directory`` at its URL path, and the page at the top."""
    written = []
    for url, data in sorted(bundle.files.items()):
        path = directory / url.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    index = directory / "index.html"
    index.write_bytes(bundle.files[INDEX])
    return [*written, index]


def size_table(site: StaticSite) -> str:
    """What the page downloads, part by part: files, bytes, bytes gzipped."""
    lines = [f"{'part':<10} {'files':>5} {'raw':>12} {'gzipped':>12}"]
    for row in sizes(site):
        lines.append(f"{row.part:<10} {row.files:>5} {row.raw:>12,} {row.gzipped:>12,}")
    return "\n".join(lines)


def handler_for(site: StaticSite) -> type[http.server.BaseHTTPRequestHandler]:
    """An HTTP handler answering from ``site`` (GET and HEAD; anything else 405)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "cipherchat-web"
        sys_version = ""

        def _answer(self) -> None:
            reply = site.respond(self.command, self.path, self.headers.get)
            self.send_response(reply.status, reply.reason)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return  # the page's requests are not the student's business

    return Handler


def serve_locally(site: StaticSite, port: int) -> http.server.ThreadingHTTPServer:
    """An HTTP server for ``site`` on 127.0.0.1:``port`` (0: a free one), not yet serving."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler_for(site))
    server.daemon_threads = True
    return server


def handle(args: argparse.Namespace) -> int:
    if not (args.out or args.serve or args.open or args.sizes):
        raise UsageError("say --out DIR, --serve, --open or --sizes (cipherchat web --help)")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0 to 65535, got {args.port}")
    try:
        bundle = build_bundle(args.web_static, args.web_assets)
    except AssetError as exc:
        raise UsageError(str(exc)) from None
    site = bundle.site(ConnectPolicy.ANY)
    print(f"bundle sha256 {bundle.sha256} ({len(bundle.files) - 1} files, wheel {bundle.wheel})")
    if args.sizes:
        print(size_table(site))
    if args.out:
        written = write_copy(bundle, args.out)
        print(f"wrote {len(written)} files to {args.out} (manifest {args.out / MANIFEST_PATH.lstrip('/')})")
    if args.serve or args.open:
        server = serve_locally(site, args.port)
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        print(f"serving the web client on {url} (Ctrl-C to stop)", flush=True)
        if args.open:
            threading.Timer(0.2, webbrowser.open, (url,)).start()
        try:
            server.serve_forever(poll_interval=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    sys.stdout.flush()
    return 0

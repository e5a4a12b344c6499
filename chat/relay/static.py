"""The web client's files as the relay serves them over HTTP, pure: routes, types, gzip, headers.

A :class:`StaticSite` holds every file in memory, keyed by its URL path, each compressed once
when the site is built; :meth:`StaticSite.respond` answers one request (GET or HEAD) with a
:class:`Reply`. Only the paths it was given exist: a request names a key of a dictionary, so no
path can reach the file system and no ``..`` can climb out of anything. ``/`` is the index page.

Every reply says ``Cache-Control: no-cache`` (the browser asks again each time; the ETag makes
that cheap) and carries the security headers: a Content-Security-Policy that lets the page load
only its own files, compile WebAssembly (``'wasm-unsafe-eval'``, Pyodide needs it) and connect
where :class:`ConnectPolicy` says, and ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import enum
import gzip
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

INDEX = "/static/index.html"
GZIP_LEVEL = 6
GZIP_WORTH = 0.9  # the gzipped copy is kept when it is at most this fraction of the file

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".zip": "application/zip",
    ".whl": "application/zip",
    ".py": "text/x-python; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
OCTETS = "application/octet-stream"

# A Host header the policy may repeat: a name or an IPv4/IPv6 literal, and a port.
HOST = re.compile(r"(?:[A-Za-z0-9.\-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")


class ConnectPolicy(enum.Enum):
    """Where the page may open WebSockets (the CSP's ``connect-src``)."""

    RELAY = "relay"  # the relay serving it: its own origin (the page came from the relay)
    ANY = "any"  # any ws:// or wss:// URL (a local copy, which connects to the relay one enters)


@dataclass(frozen=True, slots=True)
class StaticFile:
    """One file: its bytes, its gzipped bytes if they are worth it, its type and its hash."""

    body: bytes
    gzipped: bytes | None
    content_type: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP response: status, reason, headers, and the body to send (empty for HEAD and 304)."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


def content_type(path: str) -> str:
    """The Content-Type of ``path``, by its extension."""
    dot = path.rfind(".")
    return CONTENT_TYPES.get(path[dot:].lower(), OCTETS) if dot > path.rfind("/") else OCTETS


def static_file(path: str, body: bytes) -> StaticFile:
    """``body`` as served at ``path``: typed, hashed, gzipped once (``mtime=0``: the same bytes each time)."""
    packed = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
    worth = len(packed) <= GZIP_WORTH * len(body)
    return StaticFile(body, packed if worth else None, content_type(path), hashlib.sha256(body).hexdigest())


def content_security_policy(connect: ConnectPolicy, host: str | None) -> str:
    """The CSP: this origin's files only, WebAssembly compiled, WebSockets as ``connect`` allows.

    Under :attr:`ConnectPolicy.RELAY` the page may also reach ``ws://HOST`` (the Host it was
    loaded from, when it is a plain host and port), which ``'self'`` covers in CSP 3 but not in
    every browser.
    """
    if connect is ConnectPolicy.ANY:
        sockets = "ws: wss:"
    elif host is not None and HOST.fullmatch(host):
        sockets = f"ws://{host}"
    else:
        sockets = ""
    connect_src = f"'self' {sockets}".rstrip()
    return (
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
        f"img-src 'self' data:; font-src 'self'; connect-src {connect_src}; worker-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header admits gzip (``gzip`` listed, and not with ``q=0``)."""
    for item in (accept_encoding or "").split(","):
        name, *params = item.split(";")
        if name.strip().lower() not in ("gzip", "x-gzip"):
            continue
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


Header = Callable[[str], str | None]
"""Looks up a request header by name (None when absent)."""


class StaticSite:
    """The files of one bundle, by URL path, and the answer to each request for them."""

    def __init__(self, files: Mapping[str, bytes], connect: ConnectPolicy = ConnectPolicy.RELAY) -> None:
        self.files = {path: static_file(path, body) for path, body in files.items()}
        self.connect = connect

    def respond(self, method: str, target: str, header: Header) -> Reply:
        """The reply to ``method target`` (query and fragment ignored); ``header`` reads the request's."""
        reply = self._reply(method, target, header)
        if method == "HEAD" and reply.body:
            return Reply(reply.status, reply.reason, reply.headers, b"")
        return reply

    def _reply(self, method: str, target: str, header: Header) -> Reply:
        policy = content_security_policy(self.connect, header("Host"))
        common = [
            ("Content-Security-Policy", policy),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Cache-Control", "no-cache"),
            ("Connection", "close"),
        ]
        if method not in ("GET", "HEAD"):
            return _text(405, "Method Not Allowed", "GET or HEAD only\n", [*common, ("Allow", "GET, HEAD")])
        path = target.split("?", 1)[0].split("#", 1)[0]
        found = self.files.get(INDEX if path == "/" else path)
        if found is None:
            return _text(404, "Not Found", f"no such file: {path[:200]}\n", common)
        packed = found.gzipped is not None and accepts_gzip(header("Accept-Encoding"))
        body = found.gzipped if packed and found.gzipped is not None else found.body
        etag = f'"{found.sha256}{"-gzip" if packed else ""}"'
        headers = [*common, ("Content-Type", found.content_type), ("ETag", etag), ("Vary", "Accept-Encoding")]
        if packed:
            headers.append(("Content-Encoding", "gzip"))
        if header("If-None-Match") in (etag, "*"):
            return Reply(304, "Not Modified", headers, b"")
        headers.append(("Content-Length", str(len(body))))
        return Reply(200, "OK", headers, body)


def _text(status: int, reason: str, text: str, headers: list[tuple[str, str]]) -> Reply:
    body = text.encode("utf-8")
    typed = [*headers, ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    return Reply(status, reason, typed, body)

"""What the Textual client is started with, and where it keeps what it remembers.

Everything lives under ``$XDG_CONFIG_HOME/cipherchat`` (``~/.config/cipherchat`` by default):
``identities/ALIAS`` holds the identity keys (:func:`chat.identity.default_identity_dir`), and
``known_peers/ALIAS/HOST_PORT.json`` the fingerprints that alias has seen on that server (trust
on first use is per server: the same alias on two servers may be two people).
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from pathlib import Path

from chat.client import DEFAULT_HOST, DEFAULT_PORT
from chat.protocol.names import name_problem
from chat.suites import KEX_NAMES, SUITE_NAMES

_UNSAFE = re.compile(r"[^A-Za-z0-9.-]")


@dataclass(frozen=True)
class TuiOptions:
    """The command line of ``python -m chat client`` as the Textual client uses it."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    alias: str | None = None
    room: str | None = None
    cipher: str | None = None
    kex: str | None = None
    identity: str | None = None  # --identity DIR; None: per alias under the config directory
    ephemeral: bool = False
    ca: str | None = None
    cert: str | None = None
    downloads: str | None = None
    hold_timeout: float = 3.0

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TuiOptions:
        """From the parsed arguments of ``python -m chat client``."""
        return cls(
            host=args.host,
            port=args.port,
            alias=args.alias,
            room=args.room,
            cipher=args.cipher,
            kex=args.kex,
            identity=args.identity,
            ephemeral=bool(getattr(args, "ephemeral", False)),
            ca=getattr(args, "ca", None),
            cert=getattr(args, "cert", None),
            downloads=getattr(args, "downloads", None),
            hold_timeout=args.hold_timeout,
        )

    @property
    def skip_join_screen(self) -> bool:
        """Both an alias and a room were given: join at once."""
        return self.alias is not None and self.room is not None


def config_root(base: str | os.PathLike[str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/cipherchat`` (or ``~/.config/cipherchat``), or ``base/cipherchat``."""
    root = (
        Path(base) if base is not None else Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    )
    return root / "cipherchat"


def known_peers_path(alias: str, host: str, port: int, base: str | os.PathLike[str] | None = None) -> Path:
    """The known-peers file of ``alias`` on the server ``host:port``."""
    server = f"{_UNSAFE.sub('_', host)}_{port}"
    return config_root(base) / "known_peers" / alias.casefold() / f"{server}.json"


@dataclass(frozen=True)
class JoinRequest:
    """Where and as whom to join, checked."""

    host: str
    port: int
    alias: str
    room: str
    cipher: str | None = None
    kex: str | None = None

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


def check_join_form(
    host: str, port: str, alias: str, room: str, cipher: str | None = None, kex: str | None = None
) -> tuple[JoinRequest | None, dict[str, str]]:
    """The join screen's fields as a request, or the problem with each field (by field id)."""
    problems: dict[str, str] = {}
    host = host.strip()
    if not host:
        problems["host"] = "server address must not be empty"
    number = int(port) if port.strip().isdigit() else None
    if number is None or not 0 < number <= 65535:
        problems["port"] = f"port must be a number from 1 to 65535, not {port.strip()!r}"
    for value, field, what in ((alias, "alias", "alias"), (room, "room", "room name")):
        problem = name_problem(value, what)
        if problem is not None:
            problems[field] = problem
    if cipher is not None and cipher not in SUITE_NAMES:
        problems["cipher"] = f"unknown cipher suite {cipher!r}"
    if kex is not None and kex not in KEX_NAMES:
        problems["kex"] = f"unknown key exchange {kex!r}"
    if problems or number is None:
        return None, problems
    return JoinRequest(host, number, alias, room, cipher, kex), {}

"""What the Textual client is started with, and the join screen's checks.

Where it keeps what it remembers (identities, known peers) is :mod:`chat.client.store`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from chat.client.chat_client import DEFAULT_HOST, DEFAULT_PORT
from chat.e2e.suites import KEX_NAMES, SUITE_NAMES
from chat.protocol.names import name_problem


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

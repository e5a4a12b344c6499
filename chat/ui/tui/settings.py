"""The join screen's request, its choices and its checks (the command line is :mod:`chat.ui.options`);
the browser's join form (:mod:`chat.web.page`) uses the same."""

from __future__ import annotations

from dataclasses import dataclass

from chat.e2e.suites import KEX_NAMES, SUITE_NAMES, SUITES
from chat.protocol.names import name_problem

SERVER_DEFAULT = "server's default"
#: The field a refused join is shown under, by the relay's error code (others: the status line).
JOIN_FIELDS = {
    "alias_taken": "alias",
    "bad_alias": "alias",
    "bad_room": "room",
    "room_full": "room",
}


def suite_choices(default: str) -> list[tuple[str, str]]:
    """The suite picker's (label, value) pairs: the server's default (``default``), then every suite
    of the registry, the insecure ones marked."""
    options = [(SERVER_DEFAULT, default)]
    options.extend((f"{name}{' (INSECURE)' if info.insecure else ''}", name) for name, info in SUITES.items())
    return options


def kex_choices(default: str) -> list[tuple[str, str]]:
    """The key-exchange picker's (label, value) pairs."""
    return [(SERVER_DEFAULT, default), *((name, name) for name in KEX_NAMES)]


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

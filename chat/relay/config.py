"""The relay's configuration: where it listens, the rooms' defaults, and every capacity and deadline.

Each field is a flag of ``python -m chat server`` (:mod:`chat.cli.server`); the defaults are sized
for a lecture hall (README, "Sizing"). Times are in seconds; None means never.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from chat.protocol.events import JoinFrame, KexName, ProveFrame, SuiteName
from chat.protocol.limits import DEFAULT_LIMITS, Limits, MiB
from chat.relay.static import StaticSite

Wiretap = Callable[[str, str, bytes], None]

COUNTS = ("max_connections", "max_per_address", "queue_bytes", "max_unfinished")
TIMEOUTS = (
    "stall_timeout",
    "idle_timeout",
    "join_timeout",
    "prove_timeout",
    "frame_timeout",
    "linger",
    "shutdown_grace",
)


class Admission(Protocol):
    """Whether a joiner that answered its challenge may enter (``ServerConfig.admission``)."""

    def check(self, join: JoinFrame, challenge: bytes, proof: ProveFrame) -> str | None:
        """None admits ``join``; otherwise the one-line reason it is refused (sent as ``unauthorized``)."""
        ...


@dataclass(frozen=True)
class ServerConfig:
    """Everything the relay needs; port 0 picks a free port (tests)."""

    host: str = "127.0.0.1"
    port: int = 5050
    suite: SuiteName = "3des"  # for rooms whose first client asks for none
    kex: KexName = "rsa"
    limits: Limits = DEFAULT_LIMITS
    max_connections: int = 2000
    max_per_address: int = 64  # connections from one IP address (tests on loopback raise it)
    queue_bytes: int = 8 * MiB  # what may wait for one client; at least a full room's welcome
    stall_timeout: float = 5.0  # how long a client may take none of what waits for it
    idle_timeout: float | None = 600.0  # no frame received for this long: disconnected (clients ping)
    join_timeout: float | None = 10.0  # a new connection must be in a room within this
    prove_timeout: float = 10.0  # a joiner must answer its challenge within this
    frame_timeout: float | None = 30.0  # a frame once begun must be complete within this
    max_unfinished: int = 64 * MiB  # bytes of unfinished frames held, all connections together
    linger: float = 10.0  # how long a client cut off has to read its last frames (its error)
    shutdown_grace: float = 2.0  # how long the clients have to read the shutdown frame
    # Asked on each proof; None seats anyone who answers (tests of the relay alone).
    admission: Admission | None = None
    # Called with (peer, "in" or "out", bytes) for every chunk read and written (whole frames out).
    wiretap: Wiretap | None = None
    # The port for browsers (WebSocket at /ws, the page's files over HTTP), on the same host; 0
    # picks a free one; None: TCP only. ``site``: the files (None: WebSocket only, the rest 404).
    web_port: int | None = None
    site: StaticSite | None = None

    def __post_init__(self) -> None:
        for name in COUNTS:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in TIMEOUTS:
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be above 0 seconds, got {value}")

    @property
    def tick(self) -> float:
        """How often the deadlines are checked: a quarter of the shortest, within 10 ms and 0.5 s."""
        timeouts = [
            self.stall_timeout,
            self.idle_timeout,
            self.join_timeout,
            self.prove_timeout,
            self.frame_timeout,
        ]
        shortest = min(t for t in timeouts if t is not None)
        return min(max(shortest / 4, 0.01), 0.5)

"""What a connection may hold, pure: who is admitted, the deadlines, the bound on unfinished frames.

The server tells the :class:`Guard` what happens (a connection made, a frame received, a join, a
transport full or drained) and asks it whom to admit and, each tick, whom to cut off; the guard
answers with :class:`Cut` orders and never closes anything itself. ``P`` is the server's handle
for a connection; the guard never looks inside it.

The rules (each a :class:`~chat.relay.config.ServerConfig` field): at most ``max_per_address``
connections from one address and ``max_connections`` in all, and when the server is full a
newcomer takes the place of the oldest connection that has never been in a room; a new connection
must be in a room within ``join_timeout``; a frame once begun must be complete within
``frame_timeout``; a connection that sends no frame for ``idle_timeout`` is dropped; a client whose
transport is full must take some of it within ``stall_timeout``; and the bytes of unfinished
frames, all connections together, stay within ``max_unfinished`` (past it, the connection whose
unfinished frame is the oldest goes).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from chat.protocol.errors import ErrorCode
from chat.relay.config import ServerConfig
from chat.relay.deadlines import Deadlines

P = TypeVar("P", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Cut(Generic[P]):
    """Disconnect ``peer`` with an ``error`` frame of ``code`` saying ``message``."""

    peer: P
    code: ErrorCode
    message: str


class Guard(Generic[P]):
    """The counts and clocks of every open connection, and the orders they call for."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.per_address: Counter[str] = Counter()
        self.unjoined: Deadlines[P] = Deadlines()  # connections never yet in a room
        self.unfinished: Deadlines[P] = Deadlines()  # connections in the middle of a frame
        self.quiet: Deadlines[P] = Deadlines()  # since each connection's last frame
        self.partial: dict[P, int] = {}  # bytes of each unfinished frame
        self.unfinished_bytes = 0
        self.stalls: dict[P, tuple[int, float]] = {}  # full transports: (buffer size, since when)

    # --- admission ------------------------------------------------------------------------------

    def admission(self, address: str, connections: int) -> str | P | None:
        """Whether a connection from ``address`` may come in: None, a refusal, or whom it replaces."""
        config = self.config
        if self.per_address[address] >= config.max_per_address:
            return f"too many connections from {address} ({config.max_per_address})"
        if connections < config.max_connections:
            return None
        oldest = self.unjoined.oldest()
        return f"server full ({config.max_connections} connections)" if oldest is None else oldest

    def admitted(self, peer: P, address: str, now: float) -> None:
        self.per_address[address] += 1
        self.unjoined.start(peer, now)
        self.quiet.start(peer, now)

    def joined(self, peer: P) -> None:
        """``peer`` is in a room: the join deadline is met for good (it may leave and stay out)."""
        self.unjoined.stop(peer)

    def gone(self, address: str) -> None:
        """A connection from ``address`` no longer exists (its transport reported it lost)."""
        self.per_address[address] -= 1
        if not self.per_address[address]:
            del self.per_address[address]

    # --- what arrives ---------------------------------------------------------------------------

    def received(self, peer: P, frames: int, buffered: int, now: float) -> list[Cut[P]]:
        """``peer``'s connection handed out ``frames`` frames and holds ``buffered`` bytes of the next.

        The frame clock restarts whenever a frame has been completed (the next one begins in this
        read) and stops at a frame boundary. The orders: the unfinished frames past the bound.
        """
        if frames:
            self.quiet.start(peer, now)
        self.unfinished_bytes += buffered - self.partial.get(peer, 0)
        if buffered:
            self.partial[peer] = buffered
            if frames or peer not in self.unfinished:
                self.unfinished.start(peer, now)
        else:
            self.partial.pop(peer, None)
            self.unfinished.stop(peer)
        cuts: list[Cut[P]] = []
        excess = self.unfinished_bytes - self.config.max_unfinished
        if excess > 0:
            message = (
                f"{self.unfinished_bytes} bytes of unfinished frames on the server, above the bound "
                f"of {self.config.max_unfinished}; this connection's is the oldest"
            )
            for oldest in self.unfinished:
                cuts.append(Cut(oldest, ErrorCode.SERVER_FULL, message))
                excess -= self.partial.get(oldest, 0)
                if excess <= 0:
                    break
        return cuts

    def restart_frame(self, peer: P, now: float) -> None:
        """``peer``'s frame could not go on for a while (it was held): its clock starts again."""
        if peer in self.partial:
            self.unfinished.start(peer, now)

    def writing_paused(self, peer: P, size: int, now: float) -> None:
        self.stalls[peer] = (size, now)

    def writing_resumed(self, peer: P) -> None:
        self.stalls.pop(peer, None)

    def forget(self, peer: P) -> None:
        """``peer`` receives nothing more: stop its clocks and counts (its address stays counted)."""
        self.unjoined.stop(peer)
        self.quiet.stop(peer)
        self.unfinished.stop(peer)
        self.unfinished_bytes -= self.partial.pop(peer, 0)
        self.stalls.pop(peer, None)

    # --- the clocks -----------------------------------------------------------------------------

    def expired(self, now: float, waiting: Callable[[P], tuple[int, int]]) -> list[Cut[P]]:
        """The connections past a deadline. ``waiting(peer)``: bytes in its transport, and in all."""
        config = self.config
        cuts: list[Cut[P]] = []
        if config.join_timeout is not None:
            message = f"not in a room {config.join_timeout:g} s after connecting"
            cuts += [
                Cut(p, ErrorCode.IDLE_TIMEOUT, message)
                for p in self.unjoined.expired(now, config.join_timeout)
            ]
        if config.frame_timeout is not None:
            for peer in self.unfinished.expired(now, config.frame_timeout):
                got = self.partial.get(peer, 0)
                message = f"frame not finished within {config.frame_timeout:g} s ({got} bytes of it)"
                cuts.append(Cut(peer, ErrorCode.IDLE_TIMEOUT, message))
        if config.idle_timeout is not None:
            message = f"nothing received for {config.idle_timeout:g} s"
            cuts += [
                Cut(p, ErrorCode.IDLE_TIMEOUT, message) for p in self.quiet.expired(now, config.idle_timeout)
            ]
        for peer, (size, since) in list(self.stalls.items()):
            buffered, total = waiting(peer)
            if buffered < size:  # it took some: the clock starts again
                self.stalls[peer] = (buffered, now)
            elif now - since > config.stall_timeout:
                message = f"took none of the {total} bytes waiting for it in {config.stall_timeout:g} s"
                cuts.append(Cut(peer, ErrorCode.SLOW_READER, message))
        return cuts

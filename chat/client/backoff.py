"""When a dropped client tries again: exponential backoff with random jitter, bounded (pure).

:class:`~chat.client.reconnect.ResilientClient` asks it for each attempt's delay and whether the
bound still allows it; the schedule itself touches no clock and no socket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ciphers.rng import RNG, SYSTEM


@dataclass(frozen=True)
class Backoff:
    """When to try again: ``initial * factor**(n-1)`` seconds before attempt n, capped at
    ``max_delay``, less a random part of up to ``jitter`` of it (so clients dropped together do
    not all come back at once). Bounded: at most ``max_attempts`` attempts and ``max_total``
    seconds from the drop (either may be None, not both).
    """

    initial: float = 0.5
    factor: float = 2.0
    max_delay: float = 10.0
    max_attempts: int | None = 10
    max_total: float | None = 120.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts is None and self.max_total is None:
            raise ValueError("reconnection needs a bound: max_attempts, max_total or both")
        if self.initial < 0 or self.max_delay < 0 or self.factor < 1:
            raise ValueError("delays must not be negative and the factor must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction from 0 to 1")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("at least one attempt")

    def base_delay(self, attempt: int) -> float:
        """The delay before attempt ``attempt`` (from 1) without jitter."""
        try:
            delay = self.initial * self.factor ** (attempt - 1)
        except OverflowError:
            return self.max_delay
        return min(delay, self.max_delay) if math.isfinite(delay) else self.max_delay

    def delay(self, attempt: int, rng: RNG = SYSTEM) -> float:
        """The delay before attempt ``attempt``, jitter drawn from ``rng``: in [base (1 - jitter), base]."""
        base = self.base_delay(attempt)
        if not self.jitter:
            return base
        fraction = int.from_bytes(rng.bytes(7), "big") / (1 << 56)
        return base * (1 - self.jitter * fraction)

    def allows(self, attempt: int, elapsed: float, delay: float) -> bool:
        """Whether attempt ``attempt``, starting ``delay`` seconds from now, stays within the bound."""
        if self.max_attempts is not None and attempt > self.max_attempts:
            return False
        return self.max_total is None or elapsed + delay <= self.max_total

"""Timing helpers shared by the benchmark tables."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], budget: float, min_calls: int) -> float:
    """The median wall time of single calls of ``fn``, calling it for about ``budget`` seconds
    and at least ``min_calls`` times."""
    times: list[float] = []
    deadline = time.perf_counter() + budget
    while len(times) < min_calls or time.perf_counter() < deadline:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_of_runs(fn: Callable[[], object], runs: int) -> float:
    """The median of ``runs`` timed calls (for slow, high-variance work such as key generation)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)

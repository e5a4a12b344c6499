"""Resumable computations: long work as a generator that does one segment per step (sans-IO style).

A :data:`Job` yields nothing between segments and returns its result at the end, so a caller that
must stay responsive (the chat's event loop) can run other things between segments, and one that
need not (:func:`run`) just runs it to the end. Whatever a job must reserve (IVs, chain indices) is
reserved when the job is made, before its first segment, by the function that returns it.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TypeAlias, TypeVar

T = TypeVar("T")

#: One segment of work per ``next()``; the result is the generator's return value.
Job: TypeAlias = Generator[None, None, T]


def run(job: Job[T]) -> T:
    """Run ``job`` to its end, with no pause between segments; its result."""
    while True:
        try:
            next(job)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


__all__ = ["Job", "run"]

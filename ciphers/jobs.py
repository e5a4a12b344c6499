"""Resumable computations: long work as a generator that does one segment per step (sans-IO style).

A :data:`Job` yields nothing between segments and returns its result at the end, so a caller that
must stay responsive (the chat's event loop) can run other things between segments, and one that
need not (:func:`run`) just runs it to the end. Whatever a job must reserve (IVs, chain indices) is
reserved when the job is made, before its first segment, by the function that returns it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import TypeAlias, TypeVar

T = TypeVar("T")
U = TypeVar("U")

#: One segment of work per ``next()``; the result is the generator's return value.
Job: TypeAlias = Generator[None, None, T]


def run(job: Job[T]) -> T:
    """Run ``job`` to its end, with no pause between segments; its result."""
    while True:
        try:
            next(job)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


def done(result: T) -> Job[T]:
    """A job with nothing left to do: its result is ready (the work was done when it was made)."""
    return result
    yield  # a generator, never reached


def one_per_segment(work: Callable[[U], T], items: Iterable[U]) -> Job[list[T]]:
    """``[work(item) for item in items]`` as a job, one item a segment."""
    out: list[T] = []
    for item in items:
        if out:
            yield
        out.append(work(item))
    return out


__all__ = ["Job", "done", "one_per_segment", "run"]

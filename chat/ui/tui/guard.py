"""Handlers that cannot crash the client: an exception becomes a red line in the log.

Textual ends a widget's message loop when one of its handlers raises (and then the app), so
every handler of ours is wrapped: the exception is handed to the app's ``report_internal``
(one red line, kept in ``internal_errors`` for the tests) and the widget goes on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class HasApp(Protocol):
    @property
    def app(self) -> Any: ...


N = TypeVar("N", bound=HasApp)


def report(node: HasApp, exc: BaseException) -> None:
    """Hand ``exc`` to the app's ``report_internal`` (or, if it has none, give up quietly)."""
    reporter = getattr(node.app, "report_internal", None)
    if reporter is not None:
        reporter(exc)


def guarded(handler: Callable[Concatenate[N, P], R]) -> Callable[Concatenate[N, P], R | None]:
    """Wrap a synchronous handler; None when it raised."""

    @functools.wraps(handler)
    def wrapper(node: N, /, *args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return handler(node, *args, **kwargs)
        except Exception as exc:
            report(node, exc)
            return None

    return wrapper


def guarded_async(
    handler: Callable[Concatenate[N, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[N, P], Coroutine[Any, Any, R | None]]:
    """Wrap an async handler; None when it raised."""

    @functools.wraps(handler)
    async def wrapper(node: N, /, *args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return await handler(node, *args, **kwargs)
        except Exception as exc:
            report(node, exc)
            return None

    return wrapper

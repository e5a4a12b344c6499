"""The browser tests' tools beyond the harness (:mod:`bench.browser`): terminal clients in a thread of
their own, behind a proxy that records every byte the relay sends and receives for them."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from bench.browser import TIMEOUT
from chat.app.chat_session import ChatSession, SessionOptions
from chat.e2e.identity import Identity
from tests.chat_net import Recorder, TapProxy

T = TypeVar("T")


class TerminalPeers:
    """Terminal clients (the application core the line client drives) in a thread with its own
    event loop, each behind a :class:`~tests.chat_net.TapProxy` to the relay that records its bytes."""

    def __init__(self, relay_port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="terminal-peers", daemon=True)
        self.thread.start()
        self.proxy = self.call(TapProxy(relay_port).start())
        self.sessions: list[ChatSession] = []

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = TIMEOUT) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    def join(
        self, alias: str, identity: Identity | None = None, room: str = "lobby"
    ) -> tuple[ChatSession, Recorder]:
        async def opened() -> tuple[ChatSession, Recorder]:
            session = ChatSession(SessionOptions(alias, port=self.proxy.port), identity)
            await session.open(room)
            self.sessions.append(session)
            return session, Recorder(session)

        return self.call(opened())

    def say(self, session: ChatSession, text: str) -> None:
        self.call(session.say(text))

    def leave(self, session: ChatSession) -> None:
        self.call(session.close())
        self.sessions.remove(session)

    def recorded(self) -> bytes:
        """Every byte the relay sent to and received from these clients."""
        return self.proxy.upstream() + self.proxy.downstream()

    def close(self) -> None:
        for session in list(self.sessions):
            self.call(session.close())
        self.call(self.proxy.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)


def wait_until(condition: Any, what: str, timeout: float = TIMEOUT) -> None:
    """Poll ``condition()`` (every 0.05 s) until it holds; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")

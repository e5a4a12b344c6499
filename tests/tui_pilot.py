"""Helpers for the Textual client's tests: an app on a real relay, typing, and bounded waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from chat.client.backoff import Backoff
from chat.client.chat_client import ChatClient
from chat.relay.server import RelayServer, ServerConfig, serve
from chat.ui.options import ClientOptions, load_files
from chat.ui.tui.app import ChatApp
from chat.ui.tui.screens import JoinScreen
from tests.chat_support import identity

WAIT = 10.0  # every wait is bounded
SIZE = (80, 24)
QUICK = Backoff(initial=0.05, factor=2.0, max_delay=0.3, max_attempts=40, max_total=8.0)  # reconnection


async def relay(port: int = 0, **config: Any) -> RelayServer:
    """A relay on 127.0.0.1 (a free port unless ``port`` says which), in the test's event loop."""
    return await serve(ServerConfig(port=port, **config))


def chat_app(port: int, alias: str | None = None, room: str | None = None, **options: Any) -> ChatApp:
    """The app as ``python -m chat client --port P [--alias A] [--room R] ...`` starts it.

    ``--ca`` and ``--cert`` files are read as :func:`chat.ui.tui.run` reads them; identities are the
    tests' (made once per process) unless ``identities`` says otherwise.
    """
    identities = options.pop("identities", identity)
    backoff = options.pop("backoff", QUICK)
    resilience = options.pop("resilience", {"rejoin_grace": 2.0})
    settings = ClientOptions(port=port, alias=alias, room=room, **options)
    ca, certificate = load_files(settings)
    return ChatApp(
        settings,
        ca=ca,
        certificate=certificate,
        identities=identities,
        backoff=backoff,
        resilience=resilience,
    )


async def until(pilot: Pilot[Any], condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    """Let the app run until ``condition()`` is true; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def joined(pilot: Pilot[Any], app: ChatApp) -> None:
    """Wait until the app is in a room, the join screen gone and the Joined event shown."""
    await until(
        pilot,
        lambda: (
            app.client is not None
            and app.client.in_room
            and app.suite is not None
            and not isinstance(app.screen, JoinScreen)
        ),
        "the app to join",
    )


async def type_line(pilot: Pilot[Any], app: ChatApp, line: str) -> None:
    """Type ``line`` into the main screen's input and press Enter."""
    box = app.main_screen.query_one("#input", Input)
    box.focus()
    await pilot.pause()
    box.value = line
    await pilot.press("enter")
    await pilot.pause()


def log_text(app: ChatApp) -> str:
    """The message log as plain text."""
    return app.main_screen.log_view.text


async def library_client(port: int, alias: str, room: str, **options: Any) -> ChatClient:
    """A library client (test identity) joined to ``room``."""
    client = ChatClient(alias, identity(alias), **options)
    await client.connect("127.0.0.1", port)
    await client.join(room)
    return client


async def close_all(*closers: Any) -> None:
    """Close clients and servers, each bounded."""
    for item in closers:
        async with asyncio.timeout(WAIT):
            await item.close()

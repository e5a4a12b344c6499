"""What every test module may use: a bounded hypothesis profile (the suite must stay fast), a private
config directory, and the chat's shared fixtures (a free port, a real server process, a config home)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.chat_net import ServerProcess

settings.register_profile(
    "cipherchat",
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("cipherchat")


@pytest.fixture(autouse=True, scope="session")
def _private_config_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Chat clients keep identities and known peers under $XDG_CONFIG_HOME: never the user's, in tests."""
    previous = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config-home"))
    yield
    if previous is None:
        del os.environ["XDG_CONFIG_HOME"]
    else:
        os.environ["XDG_CONFIG_HOME"] = previous


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config directory of the test's own ($XDG_CONFIG_HOME): identities and known peers go there.

    A module whose every test needs one says ``pytestmark = pytest.mark.usefixtures("config_home")``.
    """
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


@pytest.fixture
def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound by the system, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server_args() -> tuple[str, ...]:
    """The options of the module's :func:`server` (none: the relay's defaults); a module may override it."""
    return ()


@pytest.fixture(scope="module")
def server(server_args: tuple[str, ...]) -> Iterator[ServerProcess]:
    """A real ``python -m chat server`` shared by a module's tests; it must shut down cleanly (status 0)."""
    process = ServerProcess(*server_args)
    yield process
    assert process.stop() == 0

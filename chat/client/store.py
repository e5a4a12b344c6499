"""Where a client keeps what it remembers: identity keys per alias and known peers per server.

Everything lives under ``$XDG_CONFIG_HOME/cipherchat`` (``~/.config/cipherchat`` by default):
``identities/ALIAS`` holds the identity keys (private keys 0600), and
``known_peers/ALIAS/HOST_PORT.json`` the fingerprints that alias has seen on that server (trust
on first use is per server: the same alias on two servers may be two people). This module is the
one place that resolves the configuration directory.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from chat.e2e.identity import Identity, IdentityError
from chat.e2e.trust import KnownPeers

try:  # POSIX: serialise the first creation of an identity between two clients started at once
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_UNSAFE = re.compile(r"[^A-Za-z0-9.-]")


class StoreError(ValueError):
    """The configuration directory cannot hold or give back what was asked, in one line."""


def config_root(base: str | os.PathLike[str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/cipherchat`` (or ``~/.config/cipherchat``), or ``base/cipherchat``."""
    root = (
        Path(base) if base is not None else Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    )
    return root / "cipherchat"


def default_identity_dir(alias: str, base: str | os.PathLike[str] | None = None) -> Path:
    """Where the identity of ``alias`` lives: ``$XDG_CONFIG_HOME/cipherchat/identities/<alias>``."""
    return config_root(base) / "identities" / alias.casefold()


def known_peers_path(alias: str, host: str, port: int, base: str | os.PathLike[str] | None = None) -> Path:
    """The known-peers file of ``alias`` on the server ``host:port``."""
    server = f"{_UNSAFE.sub('_', host)}_{port}"
    return config_root(base) / "known_peers" / alias.casefold() / f"{server}.json"


def known_peers(alias: str, host: str, port: int, base: str | os.PathLike[str] | None = None) -> KnownPeers:
    """The known-peers store of ``alias`` on ``host:port``; StoreError in one line if it is unreadable."""
    try:
        return KnownPeers(known_peers_path(alias, host, port, base))
    except ValueError as exc:
        raise StoreError(str(exc)) from None


def alias_identity(
    alias: str, directory: str | os.PathLike[str] | None = None, *, ephemeral: bool = False
) -> Identity | None:
    """The identity of ``alias``: kept in ``directory`` or its per-alias default; None when ephemeral.

    The first run creates and saves it (private keys 0600); later runs load it, so the fingerprint
    others remember stays the same. Two clients of one alias starting at once share one new key.
    """
    if ephemeral:
        return None
    path = Path(directory) if directory is not None else default_identity_dir(alias)
    try:
        with _creation_lock(path):
            return Identity.load_or_create(path)
    except IdentityError as exc:
        raise StoreError(str(exc)) from None
    except OSError as exc:
        raise StoreError(f"cannot keep identity keys in {path}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _creation_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on a file in ``path`` (created 0700) while the identity is read or created."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock

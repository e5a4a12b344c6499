"""The client's errors: one hierarchy, each with a one-line ``message`` and a ``code``."""

from __future__ import annotations


class ClientError(Exception):
    """A client operation failed; ``code`` is the server's error code when there is one."""

    def __init__(self, message: str, code: str = "client_error") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ConnectError(ClientError):
    """The server could not be reached."""


class JoinError(ClientError):
    """The join failed: the server refused it (alias taken, room full, bad name, unauthorised, ...),
    or we refused the room it offered (``downgrade``: not the suite or kex we asked for)."""


class ConnectionLost(ClientError):
    """The connection ended while an operation waited."""


__all__ = ["ClientError", "ConnectError", "ConnectionLost", "JoinError"]

"""The errors of file sharing: one tree, and each message one line a user can read (``message``).

::

    TransferError             file sharing cannot do what was asked; raised as such when a file
     │                        cannot be offered (no such file, too large, not in a room, closed)
     ├─ FileMessageError      a ``file/...`` message from a member is malformed (format); also a
     │                        ValueError, like the e2e layer's strict decoders
     ├─ TransferFailed        a transfer in progress cannot go on: a chunk out of place, a wrong
     │                        SHA-256 (state)
     └─ DownloadError         a received file cannot be written or given its name (downloads)

A refused offer is not an error: the receiver answers ``file/refuse`` with a reason (policy).
"""

from __future__ import annotations


class TransferError(Exception):
    """File sharing cannot do what was asked; ``message`` is one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FileMessageError(TransferError, ValueError):
    """A file message is malformed; the message says how."""


class TransferFailed(TransferError):
    """The transfer cannot go on (a chunk out of place, the end not matching the manifest)."""


class DownloadError(TransferError):
    """A received file could not be written or given its name."""


__all__ = ["DownloadError", "FileMessageError", "TransferError", "TransferFailed"]

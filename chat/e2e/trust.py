"""Trust on first use: the fingerprints a client has seen for each peer, and what it has confirmed.

The first time an alias is seen, its fingerprint is remembered (``new``); later it either matches
(``known``) or not (``changed``: a new key, or a relay substituting one). A changed key stays
``changed`` until the user accepts it with :meth:`KnownPeers.trust` (after comparing the safety
number out of band), which also marks it ``verified``. One store per server: the caller picks
the file (issue 5 keeps one per server under the config directory). The file is plain JSON,
written atomically; it holds only public fingerprints.
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path

from chat.e2e.identity import Fingerprint
from chat.protocol.names import name_key

STORE_VERSION = 1


class TrustState(StrEnum):
    """What we know of a peer's identity key."""

    NEW = "new"  # first seen now; remembered from here on
    KNOWN = "known"  # the same key as before
    CHANGED = "changed"  # not the key we remembered: unverified until trusted
    VERIFIED = "verified"  # the user confirmed this key (/trust after /verify)


class KnownPeers:
    """Remembered fingerprints by alias (case-folded), optionally persisted to ``path``."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path is None else Path(path)
        self._peers: dict[str, dict[str, object]] = {}
        if self.path is not None and self.path.exists():
            self._load(self.path)

    def _load(self, path: Path) -> None:
        try:
            document = json.loads(path.read_text("utf-8"))
            peers = document["peers"]
            if document.get("version") != STORE_VERSION or not isinstance(peers, dict):
                raise ValueError
            for entry in peers.values():
                if not isinstance(entry, dict) or not isinstance(entry.get("fingerprint"), str):
                    raise ValueError
                bytes.fromhex(entry["fingerprint"])
        except (OSError, ValueError, KeyError, TypeError):
            raise ValueError(f"known-peers file {path} is malformed") from None
        self._peers = {alias: dict(entry) for alias, entry in peers.items()}

    def save(self) -> None:
        """Write the store to its file (no-op without a path)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document = {"version": STORE_VERSION, "peers": self._peers}
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", "utf-8")
        os.replace(temporary, self.path)

    def remembered(self, alias: str) -> str | None:
        """The fingerprint (hex) remembered for ``alias``, if any."""
        entry = self._peers.get(name_key(alias))
        return None if entry is None else str(entry["fingerprint"])

    def check(self, alias: str, fingerprint: Fingerprint) -> TrustState:
        """Compare ``alias``'s key with the one remembered, remembering it on first use."""
        key = name_key(alias)
        entry = self._peers.get(key)
        if entry is None:
            self._peers[key] = {"fingerprint": fingerprint.hex, "verified": False}
            self.save()
            return TrustState.NEW
        if entry["fingerprint"] != fingerprint.hex:
            return TrustState.CHANGED
        return TrustState.VERIFIED if entry.get("verified") else TrustState.KNOWN

    def trust(self, alias: str, fingerprint: Fingerprint) -> None:
        """Accept ``fingerprint`` for ``alias`` as verified (replacing a remembered one)."""
        self._peers[name_key(alias)] = {"fingerprint": fingerprint.hex, "verified": True}
        self.save()

    def forget(self, alias: str) -> None:
        """Drop what is remembered for ``alias``."""
        if self._peers.pop(name_key(alias), None) is not None:
            self.save()

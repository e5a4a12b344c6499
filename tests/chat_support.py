"""Shared helpers for the chat tests: identities made once per process, and an in-memory room.

:class:`Room` links :class:`~chat.e2e.session.RoomSession` objects as the relay would (each frame to
every other member, each payload to its recipient only), with a hook to tamper with deliveries.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chat.e2e.identity import Identity
from chat.e2e.session import Delivered, Outgoing, Rejected, Result, RoomSession
from ciphers.rng import DeterministicRNG
from ciphers.rsa.formats import dump_public_key
from ciphers.rsa.keys import RSAPublicKey

SUITE_KEX = [
    ("3des", "rsa"),
    ("3des", "elgamal"),
    ("des", "rsa"),
    ("des", "elgamal"),
    ("rsa", "rsa"),
    ("elgamal", "elgamal"),
]
SUITE_IDS = [f"{suite}-{kex}" for suite, kex in SUITE_KEX]


@functools.cache
def identity(name: str) -> Identity:
    """A reproducible identity per name (RSA-2048 + ffdhe2048), generated once per test process."""
    return Identity.generate(rng=DeterministicRNG(f"chat-test-identity-{name}"))


@dataclass
class Delivery:
    """One frame as it reaches one recipient."""

    sender: str
    recipient: str
    kind: str
    body: dict[str, str]
    payload: dict[str, str] | None
    key_id: str | None


Tamper = Callable[[Delivery], list[Delivery]]


@dataclass
class Room:
    """Sessions of one room, linked in memory; ``tamper`` may rewrite, drop or duplicate deliveries."""

    suite: str
    kex: str
    sessions: dict[str, RoomSession] = field(default_factory=dict)
    results: dict[str, list[Result]] = field(default_factory=dict)
    tamper: Tamper | None = None
    log: list[Delivery] = field(default_factory=list)

    def join(self, name: str, **options: Any) -> RoomSession:
        """``name`` joins: it starts with the members present, and each of them adds it."""
        session = RoomSession(identity(name), name, "Lobby", self.suite, self.kex, **options)
        present = [(other, identity(other).public.to_wire()) for other in self.sessions]
        started = session.start(present)
        self.sessions[name] = session
        self.results[name] = []
        # As the relay orders it: the others learn of the newcomer before its first frames reach them.
        for other in list(self.sessions):
            if other != name:
                self.route(other, self.sessions[other].add_member(name, identity(name).public.to_wire()))
        self.route(name, started)
        return session

    def leave(self, name: str) -> RoomSession:
        """``name`` leaves; each remaining member removes it (and rekeys)."""
        session = self.sessions.pop(name)
        for other in list(self.sessions):
            self.route(other, self.sessions[other].remove_member(name))
        return session

    def send(self, name: str, text: str) -> Result:
        """``name`` seals ``text`` and the room delivers it."""
        result = self.sessions[name].seal(text)
        self.route(name, result)
        return result

    def deliveries(self, sender: str, out: Outgoing) -> list[Delivery]:
        """The deliveries the relay makes of ``out``: everyone else, or the named recipients only."""
        found = []
        for name in self.sessions:
            if name == sender or (out.payloads is not None and name not in out.payloads):
                continue
            payload = None if out.payloads is None else dict(out.payloads[name])
            found.append(Delivery(sender, name, out.kind, dict(out.body), payload, out.key_id))
        return found

    def route(self, sender: str, result: Result) -> None:
        """Deliver every outgoing frame of ``result``, recursively (bundles answered by releases)."""
        for out in result.outgoing:
            for delivery in self.deliveries(sender, out):
                for item in self.tamper(delivery) if self.tamper is not None else [delivery]:
                    self.deliver(item)

    def deliver(self, item: Delivery) -> Result:
        """Hand one delivery to its recipient's session and record the result."""
        self.log.append(item)
        session = self.sessions[item.recipient]
        if item.kind == "message":
            result = session.open_message(item.sender, item.body, item.payload)
        else:
            assert item.key_id is not None and item.payload is not None
            result = session.open_bundle(item.sender, item.key_id, item.body, item.payload)
        self.results[item.recipient].append(result)
        self.route(item.recipient, result)
        return result

    def events(self, name: str) -> list[object]:
        """Every event ``name``'s session produced while receiving."""
        return [event for result in self.results[name] for event in result.events]

    def texts(self, name: str) -> list[tuple[str, str]]:
        """(sender, text) of each message ``name`` accepted, in order."""
        return [(e.sender, e.text) for e in self.events(name) if isinstance(e, Delivered)]

    def rejections(self, name: str) -> list[Rejected]:
        """Each rejection ``name`` produced."""
        return [e for e in self.events(name) if isinstance(e, Rejected)]


def wire(name: str) -> Mapping[str, str]:
    """The public identity map of ``name``."""
    return identity(name).public.to_wire()


def oversized_identity(bits: int, e: int | None = None) -> dict[str, str]:
    """mallory's identity map with its RSA key replaced by an odd ``bits``-bit modulus and exponent
    ``e`` (default n - 2): a public key no one holds, outside the identity bounds."""
    n = int.from_bytes(DeterministicRNG(f"oversized-{bits}").bytes(bits // 8), "big") | 1 << (bits - 1) | 1
    key = RSAPublicKey(n, n - 2 if e is None else e)
    return {**wire("mallory"), "rsa": dump_public_key(key).decode("ascii")}

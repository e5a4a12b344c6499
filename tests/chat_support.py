"""Shared helpers for the chat tests: identities made once per process, and an in-memory room.

:class:`Room` links :class:`~chat.e2e.session.RoomSession` objects as the relay would (each frame to
every other member, each payload to its recipient only), with a hook to tamper with deliveries.
Each join draws a new join nonce (reproducibly: from the name and the join's number).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chat.e2e.identity import Identity
from chat.e2e.session import Arrival, Delivered, Outgoing, Rejected, Result, RoomSession
from chat.e2e.suites import rooms
from ciphers.rng import DeterministicRNG
from ciphers.rsa.formats import dump_public_key
from ciphers.rsa.keys import RSAPublicKey

#: Every room the registry can make (each hybrid suite with each kex, each direct suite with its
#: own family): a new suite or kex is covered by every test that runs over these.
SUITE_KEX = [(entry.name, family.name) for entry, family in rooms()]
SUITE_IDS = [f"{suite}-{kex}" for suite, kex in SUITE_KEX]


@functools.cache
def identity(name: str) -> Identity:
    """A reproducible identity per name (RSA-2048 + ffdhe2048), generated once per test process."""
    return Identity.generate(rng=DeterministicRNG(f"chat-test-identity-{name}"))


_JOINS = itertools.count()


def fresh_nonce(name: str) -> bytes:
    """A join nonce for ``name``'s next join: 16 bytes, different at every call, reproducible per run."""
    return hashlib.sha256(f"join nonce {name} {next(_JOINS)}".encode()).digest()[:16]


def arrival(name: str, nonce: bytes, *, eligible: bool = True, as_identity: str | None = None) -> Arrival:
    """The member entry of ``name`` (with ``as_identity``'s keys if given) for a session."""
    return Arrival(name, wire(as_identity or name), nonce, eligible)


def session_of(name: str, suite: str, kex: str, room: str = "Lobby", **options: Any) -> RoomSession:
    """A new session of ``name`` with a fresh join nonce (``nonce=`` may fix it)."""
    options.setdefault("nonce", fresh_nonce(name))
    return RoomSession(identity(name), name, room, suite, kex, **options)


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
    nonces: dict[str, bytes] = field(default_factory=dict)
    results: dict[str, list[Result]] = field(default_factory=dict)
    tamper: Tamper | None = None
    log: list[Delivery] = field(default_factory=list)

    def join(self, name: str, **options: Any) -> RoomSession:
        """``name`` joins with a fresh nonce: it starts with the members present, each of them adds it."""
        session = session_of(name, self.suite, self.kex, **options)
        present = [arrival(other, self.nonces[other]) for other in self.sessions]
        started = session.start(present)
        self.sessions[name] = session
        self.nonces[name] = session.nonce
        self.results[name] = []
        # As the relay orders it: the others learn of the newcomer before its first frames reach them.
        for other in list(self.sessions):
            if other != name:
                self.route(other, self.sessions[other].add_member(arrival(name, session.nonce)))
        self.route(name, started)
        return session

    def leave(self, name: str) -> RoomSession:
        """``name`` leaves; each remaining member removes it (and starts a new chain)."""
        session = self.sessions.pop(name)
        self.nonces.pop(name)
        # As the relay orders it: everyone learns of the leave before the others' new bundles arrive.
        results = [(other, self.sessions[other].remove_member(name)) for other in list(self.sessions)]
        for other, result in results:
            self.route(other, result)
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

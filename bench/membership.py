"""What protocol v2 costs against v1: per message (seal, open, bytes) and per join and leave.

A room of n members is simulated in memory: one :class:`~chat.e2e.session.RoomSession` each, every
frame routed to its recipients as the relay would, in the order the relay would. A join is the
newcomer's start plus what every member does about it (v2: each hands the newcomer its chain at
the current index, with its signed view); a leave is what every remaining member does (a new
chain, wrapped to each of the others, with the view). Costs are the CPU time summed over all
members (milliseconds) and the bytes the members send to the relay (JSON of bodies and payloads).

The v1 figures come from ``bench/baselines/protocol_v1.json``: the same method, measured on the
v1 code before v2 replaced it (its commit and load are in the file), because v1 no longer exists
to run beside v2. Read the two columns with that in mind: same machine, not the same minute.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from chat.e2e.identity import Identity
from chat.e2e.session import Arrival, Delivered, Outgoing, Result, RoomSession

TEXT = "The quick brown fox jumps over the lazy dog. " * 4 + "Done."  # 185 characters
ROOMS = [("3des", "rsa"), ("3des", "elgamal")]
SIZES = (2, 10, 64)
MESSAGES = 15
BASELINE = Path(__file__).parent / "baselines" / "protocol_v1.json"

T = TypeVar("T")


def frame_bytes(out: Outgoing) -> int:
    """The bytes of a frame's opaque parts as a client sends them."""
    return len(json.dumps({"body": out.body, "payloads": out.payloads}, separators=(",", ":")))


class Room:
    """Sessions linked in memory; counts CPU and bytes while ``counting``."""

    def __init__(self, suite: str, kex: str, identities: dict[str, Identity]) -> None:
        self.suite, self.kex, self.identities = suite, kex, identities
        self.sessions: dict[str, RoomSession] = {}
        self.nonces: dict[str, bytes] = {}
        self.cpu = 0.0
        self.bytes = 0

    def timed(self, fn: Callable[..., T], *args: Any) -> T:
        start = time.perf_counter()
        result = fn(*args)
        self.cpu += time.perf_counter() - start
        return result

    def route(self, sender: str, result: Result) -> None:
        """Deliver ``result``'s frames, and whatever they cause, breadth first."""
        queue = [(sender, result)]
        while queue:
            source, produced = queue.pop(0)
            for out in produced.outgoing:
                self.bytes += frame_bytes(out)
                for name, session in self.sessions.items():
                    if name == source:
                        continue
                    payload = None if out.payloads is None else out.payloads.get(name)
                    if out.payloads is not None and payload is None:
                        continue
                    if out.kind == "key_bundle":
                        assert out.key_id is not None and payload is not None
                        opened = self.timed(session.open_bundle, source, out.key_id, out.body, payload)
                    else:
                        opened = self.timed(session.open_message, source, out.body, payload)
                    queue.append((name, opened))

    def arrival(self, name: str) -> Arrival:
        return Arrival(name, self.identities[name].public.to_wire(), self.nonces[name])

    def join(self, name: str) -> None:
        self.nonces[name] = secrets.token_bytes(16)
        session = RoomSession(
            self.identities[name], name, "bench", self.suite, self.kex, nonce=self.nonces[name]
        )
        started = self.timed(session.start, [self.arrival(other) for other in self.sessions])
        self.sessions[name] = session
        for other in [o for o in self.sessions if o != name]:
            self.route(other, self.timed(self.sessions[other].add_member, self.arrival(name)))
        self.route(name, started)

    def leave(self, name: str) -> None:
        self.sessions.pop(name)
        self.nonces.pop(name)
        told = [(other, self.timed(self.sessions[other].remove_member, name)) for other in self.sessions]
        for other, result in told:  # everyone hears of the leave before the new chains arrive
            self.route(other, result)

    def reset(self) -> None:
        self.cpu, self.bytes = 0.0, 0


def measure(suite: str, kex: str, members: int, identities: list[Identity]) -> dict[str, Any]:
    """One row: seal, open and message bytes; the last member's join and leave."""
    names = [f"m{i:03d}" for i in range(members)]
    room = Room(suite, kex, dict(zip(names, identities, strict=False)))
    for name in names[:-1]:
        room.join(name)
    room.reset()
    room.join(names[-1])
    join = (room.cpu, room.bytes)
    sender, receiver = room.sessions[names[0]], room.sessions[names[1]]
    seals, opens, size = [], [], 0
    for _ in range(MESSAGES):
        start = time.perf_counter()
        (out,) = sender.seal(TEXT).outgoing
        seals.append(time.perf_counter() - start)
        payload = None if out.payloads is None else out.payloads[receiver.alias]
        start = time.perf_counter()
        opened = receiver.open_message(sender.alias, out.body, payload)
        opens.append(time.perf_counter() - start)
        if not any(isinstance(e, Delivered) for e in opened.events):
            raise RuntimeError(f"benchmark message not delivered: {opened.events}")
        size = frame_bytes(out)
    room.reset()
    room.leave(names[-1])
    return {
        "suite": suite,
        "kex": kex,
        "members": members,
        "seal_ms": statistics.median(seals) * 1e3,
        "open_ms": statistics.median(opens) * 1e3,
        "message_bytes": size,
        "join_cpu_ms": join[0] * 1e3,
        "join_bytes": join[1],
        "leave_cpu_ms": room.cpu * 1e3,
        "leave_bytes": room.bytes,
    }


def _pair(v2: float, v1: float | None, unit: str, digits: int = 2) -> str:
    if v1 is None:
        return f"{v2:.{digits}f}{unit}"
    return f"{v1:.{digits}f} → {v2:.{digits}f}{unit}"


def _size(value: int) -> str:
    return f"{value / 1024:.1f} KiB" if value >= 1024 else f"{value} B"


def table(rows: list[dict[str, Any]], baseline: dict[tuple[str, str, int], dict[str, Any]]) -> Table:
    """v1 → v2, per room."""
    out = Table(title="protocol v1 → v2: per message and per join/leave (CPU summed over all members)")
    for column in (
        "suite/kex",
        "members",
        "seal",
        "open",
        "message",
        "join",
        "join sent",
        "leave",
        "leave sent",
    ):
        out.add_column(column, justify="left" if column == "suite/kex" else "right")
    for row in rows:
        old = baseline.get((row["suite"], row["kex"], row["members"]), {})

        def pair(
            key: str, unit: str, digits: int = 2, row: dict[str, Any] = row, old: dict[str, Any] = old
        ) -> str:
            return _pair(row[key], old.get(key), unit, digits)

        def sizes(key: str, row: dict[str, Any] = row, old: dict[str, Any] = old) -> str:
            return (_size(old[key]) + " → " if key in old else "") + _size(row[key])

        out.add_row(
            f"{row['suite']}/{row['kex']}",
            str(row["members"]),
            pair("seal_ms", " ms"),
            pair("open_ms", " ms"),
            sizes("message_bytes"),
            pair("join_cpu_ms", " ms", 1),
            sizes("join_bytes"),
            pair("leave_cpu_ms", " ms", 0),
            sizes("leave_bytes"),
        )
    return out


def load_baseline() -> tuple[dict[str, Any], dict[tuple[str, str, int], dict[str, Any]]]:
    document: dict[str, Any] = json.loads(BASELINE.read_text("utf-8"))
    rows = {(r["suite"], r["kex"], r["members"]): r for r in document["rows"]}
    return document, rows


def run(console: Console) -> None:
    """Print the v1 → v2 table."""
    document, baseline = load_baseline()
    console.print(
        "[bold]chat: what protocol v2 costs against v1[/] (identities: RSA-2048 + ElGamal ffdhe2048)"
    )
    start = time.perf_counter()
    identities = [Identity.generate() for _ in range(max(SIZES))]
    console.print(f"{len(identities)} identities generated in {time.perf_counter() - start:.1f} s")
    load = os.getloadavg()[0]
    rows = [measure(suite, kex, n, identities) for suite, kex in ROOMS for n in SIZES]
    console.print(table(rows, baseline))
    console.print(
        f"v1: {BASELINE.name} (commit {document['commit']}, {document['date']}, "
        f"load {document['loadavg'][0]:.1f}); v2: this run (load {load:.1f} at the start). A join: the "
        "newcomer's start and every member handing it a chain; a leave: every remaining member's new "
        "chain to all the others. v2 derives a key per message (hash ratchet, HKDF, a 3DES key "
        "schedule) and signs views, hence its higher seal/open."
    )

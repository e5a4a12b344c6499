"""Per-message client crypto of the chat, per suite: what sealing and opening cost, in this run.

For each suite and key exchange of the registry (:func:`chat.e2e.suites.rooms`): sealing a
200-character message in a room of 2 and of 10 members (the direct suites encrypt once per
recipient), opening it, the size on the wire, and starting a new chain and wrapping it for the 8
who remain (what a member does when someone leaves). The peer is the same recipe on C libraries
(PyCryptodome's DES/3DES-CBC, hmac, pyca/cryptography's RSA-PSS and OAEP), measured in the same run;
ElGamal has no standard peer, nor has a suite whose cipher or mode PyCryptodome lacks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import statistics
import time
from collections.abc import Callable
from functools import partial
from types import ModuleType

from Crypto.Cipher import DES, DES3
from Crypto.Util.Padding import pad
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from rich.console import Console
from rich.table import Table

from bench import timing
from chat.e2e.families import RSA, Family
from chat.e2e.identity import Identity
from chat.e2e.session import Arrival, Delivered, Outgoing, Result, RoomSession
from chat.e2e.suites import HybridSuite, Suite, rooms

PEER_CIPHERS: dict[str, ModuleType] = {"3DES": DES3, "DES": DES}  # PyCryptodome's, by our cipher's name
PEER_MODES = {"CBC": DES.MODE_CBC}  # PyCryptodome's mode numbers, by our mode's name
PEER_FAMILIES = (RSA,)  # pyca/cryptography does RSA-PSS and OAEP; nothing standard does our ElGamal
TEXT = "The quick brown fox jumps over the lazy dog. " * 4 + "Done."  # 185 characters
BUDGET = 0.25
MIN_CALLS = 5
ROOM = "bench"


def median_seconds(fn: Callable[[], object], budget: float = BUDGET, min_calls: int = MIN_CALLS) -> float:
    """The median time of one call of ``fn`` with this table's budget (see :mod:`bench.timing`)."""
    return timing.median_seconds(fn, budget, min_calls)


def _room(suite: str, kex: str, identities: list[Identity]) -> list[RoomSession]:
    """Sessions of ``len(identities)`` members that hold each other's chains."""
    names = [f"m{i}" for i in range(len(identities))]
    nonces = [os.urandom(16) for _ in identities]
    sessions = [
        RoomSession(ident, name, ROOM, suite, kex, nonce=nonce)
        for ident, name, nonce in zip(identities, names, nonces, strict=True)
    ]
    arrivals = [
        Arrival(name, ident.public.to_wire(), nonce)
        for ident, name, nonce in zip(identities, names, nonces, strict=True)
    ]
    results: list[tuple[str, Result]] = []
    for i, session in enumerate(sessions):
        results.append((names[i], session.start(arrivals[:i] + arrivals[i + 1 :])))
    for sender, result in results:
        for out in result.outgoing:
            for name, session in zip(names, sessions, strict=True):
                if out.payloads is not None and name in out.payloads:
                    session.open_bundle(sender, out.key_id or "", out.body, out.payloads[name])
    return sessions


def _open_seconds(sessions: list[RoomSession], count: int = 20) -> float:
    """The median time for the second member to open one of ``count`` fresh messages of the first."""
    sender, receiver = sessions[0], sessions[1]
    frames = [sender.seal(TEXT).outgoing[0] for _ in range(count)]
    times = []
    for out in frames:
        payload = None if out.payloads is None else out.payloads[receiver.alias]
        start = time.perf_counter()
        result = receiver.open_message(sender.alias, out.body, payload)
        times.append(time.perf_counter() - start)
        if not any(isinstance(e, Delivered) for e in result.events):
            raise RuntimeError(f"benchmark message not delivered: {result.events}")
    return statistics.median(times)


def _rekey_seconds(sessions: list[RoomSession], count: int = 7) -> float:
    """The median time for a member to start a chain and wrap it for the others after one leaves."""
    member, leaver = sessions[0], sessions[-1]
    identity = leaver.identity.public.to_wire()
    times = []
    for _ in range(count):
        start = time.perf_counter()
        member.remove_member(leaver.alias)
        times.append(time.perf_counter() - start)
        member.add_member(Arrival(leaver.alias, identity, os.urandom(16)))  # each join has its nonce
    return statistics.median(times)


def _size(out: Outgoing) -> int:
    frame = {"body": out.body, "payloads": out.payloads}
    return len(json.dumps(frame, separators=(",", ":")))


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1e3:.2f} ms"


def _ratio(ours: float, peer: float | None) -> str:
    return "—" if peer is None else f"{ours / peer:.0f}x"


class Peer:
    """The hybrid and direct recipes on C libraries (RSA only), for the ratio column."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public = self.key.public_key()
        self.pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        self.oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)

    def covers(self, suite: Suite, family: Family) -> bool:
        """Whether the C libraries have this suite's recipe, in a room signed by ``family``."""
        if family not in PEER_FAMILIES:
            return False
        return not isinstance(suite, HybridSuite) or (
            suite.cipher.name in PEER_CIPHERS and suite.mode.name in PEER_MODES
        )

    def seal(self, suite: Suite, recipients: int) -> Callable[[], object]:
        data = TEXT.encode()
        if isinstance(suite, HybridSuite):
            key, mac_key = os.urandom(suite.key_size), os.urandom(32)
            cipher, mode = PEER_CIPHERS[suite.cipher.name], PEER_MODES[suite.mode.name]

            def hybrid() -> object:
                iv = os.urandom(8)
                ct = cipher.new(key, mode, iv=iv).encrypt(pad(data, 8))
                tag = hmac.new(mac_key, iv + ct, hashlib.sha256).digest()
                return self.key.sign(iv + ct + tag, self.pss, hashes.SHA256())

            return hybrid

        def direct() -> object:
            cts = [self.public.encrypt(data[:190], self.oaep) for _ in range(recipients)]
            return self.key.sign(b"".join(hashlib.sha256(c).digest() for c in cts), self.pss, hashes.SHA256())

        return direct

    def open(self, suite: Suite) -> Callable[[], object]:
        data = TEXT.encode()
        if isinstance(suite, HybridSuite):
            key, mac_key, iv = os.urandom(suite.key_size), os.urandom(32), os.urandom(8)
            cipher, mode = PEER_CIPHERS[suite.cipher.name], PEER_MODES[suite.mode.name]
            ct = cipher.new(key, mode, iv=iv).encrypt(pad(data, 8))
            tag = hmac.new(mac_key, iv + ct, hashlib.sha256).digest()
            signature = self.key.sign(iv + ct + tag, self.pss, hashes.SHA256())

            def hybrid() -> object:
                assert hmac.compare_digest(hmac.new(mac_key, iv + ct, hashlib.sha256).digest(), tag)
                self.public.verify(signature, iv + ct + tag, self.pss, hashes.SHA256())
                return cipher.new(key, mode, iv=iv).decrypt(ct)

            return hybrid
        ct = self.public.encrypt(data[:190], self.oaep)
        signature = self.key.sign(ct, self.pss, hashes.SHA256())

        def direct() -> object:
            self.public.verify(signature, ct, self.pss, hashes.SHA256())
            return self.key.decrypt(ct, self.oaep)

        return direct


def crypto_table(identities: list[Identity]) -> Table:
    """Seal and open costs, wire sizes and rekey costs per suite."""
    peer = Peer()
    table = Table(title=f"chat client crypto per message ({len(TEXT)} characters), this machine, this run")
    for column in (
        "suite",
        "kex",
        "seal, 2 members",
        "seal, 10 members",
        "open",
        "wire, 10 members",
        "rekey for 8",
        "peer seal (C)",
        "peer open (C)",
        "seal / peer",
    ):
        table.add_column(column, justify="left" if column in ("suite", "kex") else "right")
    for suite, kex in rooms():
        small = _room(suite.name, kex.name, identities[:2])
        large = _room(suite.name, kex.name, identities[:10])
        seal_small = median_seconds(partial(small[0].seal, TEXT))
        seal_large = median_seconds(partial(large[0].seal, TEXT))
        open_time = _open_seconds(small)
        wire = _size(large[0].seal(TEXT).outgoing[0])
        rekey = _rekey_seconds(large) if suite.hybrid else None
        covered = peer.covers(suite, large[0].family)
        peer_seal = median_seconds(peer.seal(suite, 1)) if covered else None
        peer_open = median_seconds(peer.open(suite)) if covered else None
        table.add_row(
            suite.name,
            kex.name if suite.hybrid else "—",
            _ms(seal_small),
            _ms(seal_large),
            _ms(open_time),
            f"{wire / 1024:.1f} KiB",
            _ms(rekey),
            _ms(peer_seal),
            _ms(peer_open),
            _ratio(seal_small, peer_seal),
        )
    return table


def run(console: Console) -> None:
    """Print the per-suite client crypto table."""
    console.print("[bold]chat: client crypto per suite[/] (identities: RSA-2048 + ElGamal ffdhe2048)")
    start = time.perf_counter()
    identities = [Identity.generate() for _ in range(10)]
    console.print(f"10 identities generated in {time.perf_counter() - start:.2f} s")
    console.print(crypto_table(identities))
    console.print(
        "Direct suites pay a public-key operation per chunk and per recipient, and their frames grow "
        "with the room: that is why real systems wrap one session key and use a block cipher."
    )

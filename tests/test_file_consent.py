"""Files with consent (issue 10): which offers a member takes, decided before anything is written.

The policy alone first (pure), then application sessions (chat.app.ChatSession) through a real
relay on 127.0.0.1: an offer nobody wanted is refused and the sender told why, with nothing on
disk; quotas refuse the offer that would pass them; a sender whose identity key CHANGED is
refused until ``/trust``; under ``--ca`` an uncertified sender is refused; asking works both ways.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from chat.app.chat_session import ChatSession, SessionOptions
from chat.client import events as ev
from chat.client.store import known_peers
from chat.e2e.trust import TrustState
from chat.relay.server import RelayServer, ServerConfig, serve
from chat.transfer.errors import TransferError
from chat.transfer.format import Offer
from chat.transfer.policy import Consent, Ledger, OfferPolicy
from ciphers.rng import DeterministicRNG
from tests.chat_net import Recorder, eventually, run
from tests.chat_support import identity
from tests.test_certificates import ca_key

pytestmark = pytest.mark.usefixtures("config_home")

ACCEPT = OfferPolicy(Consent.ACCEPT)
NO_FILES_HERE = "this client accepts no files (start it with --accept-files to receive them)"
NO_FILES_THERE = "this member accepts no files (its client runs without --accept-files)"


def offer(size: int) -> Offer:
    return Offer("ab" * 16, "f.bin", size, "00" * 32, 1024, max(1, -(-size // 1024)), 2)


# --- the policy alone ---------------------------------------------------------------------------


def test_the_policy_refuses_in_order_consent_trust_size_load_and_quotas() -> None:
    ledger = Ledger()
    policy = OfferPolicy(Consent.ASK, max_size=1000, per_sender=1500, total=2500, at_once=2)
    assert policy.refusal("bob", offer(800), ledger, busy=0) is None
    refused = OfferPolicy().refusal("bob", offer(1), ledger, busy=0)  # the default: no files
    assert refused is not None and (refused.reason, refused.to_sender) == (NO_FILES_HERE, NO_FILES_THERE)
    changed = policy.refusal("bob", offer(1), ledger, busy=0, trust=TrustState.CHANGED)
    assert changed is not None and changed.reason.startswith("bob's identity key CHANGED")
    too_big = policy.refusal("bob", offer(1001), ledger, busy=0)
    assert too_big is not None and too_big.to_sender == too_big.reason == (
        "1001 bytes is above this member's limit of 1000 bytes"
    )
    busy = policy.refusal("bob", offer(1), ledger, busy=2)
    assert busy is not None and "(at most 2 at once)" in busy.reason
    ledger.add("Bob", 800)
    assert ledger.from_sender("bob") == 800 and ledger.total == 800
    assert policy.refusal("bob", offer(700), ledger, busy=0) is None  # 1500: exactly the quota
    per_sender = policy.refusal("bob", offer(701), ledger, busy=0)
    assert per_sender is not None and per_sender.reason == (
        "701 bytes more from bob would pass the quota of 1.5 KiB from one member (800 bytes accepted already)"
    )
    ledger.add("carol", 1000)
    total = policy.refusal("dave", offer(701), ledger, busy=0)
    assert total is not None and total.reason.startswith(
        "701 bytes more would pass the quota of 2.4 KiB in all"
    )
    with pytest.raises(ValueError):
        OfferPolicy(at_once=0)


# --- sessions through a relay -------------------------------------------------------------------


class Room:
    """A relay in the test's event loop and the sessions that joined its room ``files``."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.server: RelayServer | None = None
        self.members: dict[str, Recorder] = {}

    async def __aenter__(self) -> Room:
        self.server = await serve(ServerConfig(port=0))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for recorder in self.members.values():
            await recorder.stop()
        if self.server is not None:
            await self.server.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    def downloads(self, alias: str) -> Path:
        return self.tmp / f"downloads-{alias}"

    async def join(self, alias: str, files: OfferPolicy = ACCEPT, **options: Any) -> Recorder:
        settings = SessionOptions(
            alias, port=self.port, downloads=str(self.downloads(alias)), files=files, **options
        )
        session = ChatSession(settings, identity(alias))
        await session.open("files")
        recorder = Recorder(session)
        for name, other in self.members.items():
            await eventually(
                lambda o=other: any(m.alias == alias for m in o.client.client.members), "presence"
            )
            await eventually(lambda n=name: any(m.alias == n for m in session.client.members), "presence")
        self.members[alias] = recorder
        return recorder

    def session(self, alias: str) -> ChatSession:
        session = self.members[alias].client
        assert isinstance(session, ChatSession)
        return session

    async def send(self, alias: str, path: Path) -> ev.TransferFinished:
        return await (await self.session(alias).send_file(path)).wait(30)

    def file(self, name: str, size: int) -> Path:
        path = self.tmp / name
        path.write_bytes(DeterministicRNG(f"consent-{name}").bytes(size))
        return path


def received(recorder: Recorder) -> list[ev.TransferFinished]:
    return [e for e in recorder.of(ev.TransferFinished) if e.direction == "in"]


async def finished_in(recorder: Recorder, count: int) -> list[ev.TransferFinished]:
    await eventually(lambda: len(received(recorder)) >= count, f"{count} transfers to end")
    return received(recorder)


def test_an_unwanted_offer_is_refused_the_sender_told_why_and_nothing_is_written(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Room(tmp_path) as room:
            await room.join("alice")
            bob = await room.join("bob", files=OfferPolicy())  # the line client without --accept-files
            result = await room.send("alice", room.file("unwanted.sh", 3_000))
            assert not result.ok and result.outcomes == (("bob", False, f"refused: {NO_FILES_THERE}"),)
            (refused,) = await finished_in(bob, 1)
            assert (refused.sender, refused.name, refused.ok) == ("alice", "unwanted.sh", False)
            assert refused.reason == f"refused: {NO_FILES_HERE}"
            assert not bob.of(ev.TransferStarted) and not room.downloads("bob").exists()

    run(scenario)


def test_an_offer_asked_about_waits_for_the_answer_and_accepting_saves_the_file(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Room(tmp_path) as room:
            await room.join("alice")
            bob = await room.join("bob", files=OfferPolicy(Consent.ASK))
            source = room.file("notes.txt", 5_000)
            sending = await room.session("alice").send_file(source)
            await eventually(lambda: bool(bob.of(ev.TransferOffered)), "the question")
            (asked,) = bob.of(ev.TransferOffered)
            assert (asked.number, asked.sender, asked.name, asked.size) == (1, "alice", "notes.txt", 5_000)
            assert asked.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
            assert not room.downloads("bob").exists()  # nothing written while we wait for the user
            with pytest.raises(TransferError, match=r"^no file offer 2 is waiting \(waiting: 1\)$"):
                room.session("bob").answer_offer("2", accept=True)
            room.session("bob").answer_offer(asked.transfer, accept=True)  # by its key, as a script would
            result = await sending.wait(30)
            assert result.ok and result.outcomes == (("bob", True, ""),)
            (saved,) = await finished_in(bob, 1)
            assert saved.ok and Path(saved.path or "").read_bytes() == source.read_bytes()
            with pytest.raises(TransferError, match=r"^no file offer is waiting for an answer$"):
                room.session("bob").answer_offer(None, accept=False)

    run(scenario)


def test_an_offer_nobody_answers_is_refused_in_time(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Room(tmp_path) as room:
            await room.join("alice")
            bob = await room.join("bob", files=OfferPolicy(Consent.ASK, answer_timeout=0.3))
            result = await room.send("alice", room.file("later.bin", 1_000))
            assert result.outcomes == (("bob", False, "refused: this member did not answer within 0.3 s"),)
            (refused,) = await finished_in(bob, 1)
            assert refused.reason == "refused: not answered within 0.3 s"
            assert room.session("bob").transfers.offers == () and not room.downloads("bob").exists()

    run(scenario)


def test_quotas_refuse_the_offer_that_would_pass_them(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Room(tmp_path) as room:
            await room.join("alice")
            await room.join("carol")
            bob = await room.join("bob", files=OfferPolicy(Consent.ACCEPT, per_sender=5_000, total=7_500))
            assert (await room.send("alice", room.file("a1.bin", 3_000))).ok
            over = await room.send("alice", room.file("a2.bin", 2_001))  # 5001 from alice
            assert (
                "bob",
                False,
                "refused: this member's quota for files from you (4.9 KiB) would be exceeded",
            ) in (over.outcomes)
            assert (await room.send("carol", room.file("c1.bin", 4_000))).ok  # 7000 in all
            beyond = await room.send("carol", room.file("c2.bin", 501))  # 4501 from carol, 7501 in all
            assert (
                "bob",
                False,
                "refused: this member's quota for files (7.3 KiB in all) would be exceeded",
            ) in (beyond.outcomes)
            reasons = [(f.name, f.ok, f.reason.split(" (")[0]) for f in await finished_in(bob, 4)]
            assert reasons == [
                ("a1.bin", True, "saved as a1.bin, SHA-256 verified"),
                (
                    "a2.bin",
                    False,
                    "refused: 2 KiB more from alice would pass the quota of 4.9 KiB from one member",
                ),
                ("c1.bin", True, "saved as c1.bin, SHA-256 verified"),
                ("c2.bin", False, "refused: 501 bytes more would pass the quota of 7.3 KiB in all"),
            ]
            assert sorted(p.name for p in room.downloads("bob").iterdir()) == ["a1.bin", "c1.bin"]

    run(scenario)


def test_offers_at_once_are_bounded_waiting_ones_included(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Room(tmp_path) as room:
            await room.join("alice")
            await room.join("carol")
            bob = await room.join("bob", files=OfferPolicy(Consent.ASK, at_once=1))
            first = await room.session("alice").send_file(room.file("first.bin", 1_000))
            await eventually(lambda: bool(bob.of(ev.TransferOffered)), "the question")
            second = await room.send("carol", room.file("second.bin", 1_000))
            busy = "refused: 1 file(s) in progress or awaiting an answer (at most 1 at once)"
            assert ("bob", False, busy) in second.outcomes
            assert room.session("bob").cancel_transfers().count == 1  # /cancel refuses the waiting offer
            outcomes = set((await first.wait(30)).outcomes)
            assert outcomes == {
                ("bob", False, "refused: cancelled: cancelled by the user"),
                ("carol", True, ""),
            }

    run(scenario)


def test_a_changed_senders_offer_is_refused_until_the_user_trusts_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Room(tmp_path) as room:
            pinned = known_peers("bob", "127.0.0.1", room.port)
            pinned.check("alice", identity("mallory").fingerprint)  # bob met another "alice" before
            bob = await room.join("bob")
            await room.join("alice")
            await eventually(lambda: "identity_changed" in [w.code for w in bob.warnings()], "the warning")
            sending = await room.session("alice").send_file(room.file("invoice.pdf", 2_000))
            (seen,) = await finished_in(bob, 1)
            assert seen.reason == (
                "refused: alice's identity key CHANGED: no files from it until you /verify and /trust it"
            )
            assert not room.downloads("bob").exists()
            # bob's key is withheld from alice, so alice cannot read the refusal: she hears nothing
            assert sending.cancel() and not (await sending.wait(10)).ok
            await room.session("bob").trust("alice")
            assert (await room.send("alice", room.file("invoice.pdf", 2_000))).ok

    run(scenario)


def test_under_ca_an_uncertified_senders_offer_is_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Room(tmp_path) as room:
            bob = await room.join("bob", ca=ca_key().public_key())
            await room.join("alice")
            sending = await room.session("alice").send_file(room.file("cv.pdf", 1_000))
            (seen,) = await finished_in(bob, 1)
            assert seen.reason == "refused: alice's certificate does not hold (no certificate)"
            assert not room.downloads("bob").exists()
            assert sending.cancel()

    run(scenario)

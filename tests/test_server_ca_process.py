"""``python -m chat server --ca``: the real process admits only certified members."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from chat.e2e.certificates import issue
from ciphers.rsa.formats import dump_public_key
from tests.chat_net import run, server_child
from tests.chat_support import identity, wire
from tests.test_certificates import ca_key
from tests.test_server import WireClient


def test_a_server_with_a_ca_refuses_the_uncertified_and_admits_the_certified(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pub.pem"
    ca_file.write_bytes(dump_public_key(ca_key()))
    certificate = issue(ca_key(), "alice", identity("alice").public, days=1, now=int(time.time())).encode()

    async def scenario() -> None:
        process, port = await server_child("--cipher", "3des", "--ca", str(ca_file))
        try:
            mallory = await WireClient.connect(port)
            join = {"type": "join", "v": 1, "alias": "mallory", "room": "lobby", "identity": wire("bob")}
            mallory.send(join)
            refusal = await mallory.error("unauthorized")
            assert "no certificate" in refusal["message"]

            alice = await WireClient.connect(port)
            welcome = await alice.join("alice", identity=wire("alice"), certificate=certificate)
            assert welcome["you"] == "alice"
            assert (welcome["suite"], welcome["members"]) == ("3des", [])
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 10)

    run(scenario, timeout=40)

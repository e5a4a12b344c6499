"""``python -m chat server --ca``: the real process admits only certified members that prove possession."""

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
            refusal = await mallory.ask("mallory", identity=dict(wire("mallory")), signer=identity("mallory"))
            assert (refusal["code"], refusal["message"]) == ("unauthorized", "no certificate")

            alice = await WireClient.connect(port)
            welcome = await alice.join(
                "alice", identity=dict(wire("alice")), certificate=certificate, signer=identity("alice")
            )
            assert welcome["you"] == "alice"
            assert (welcome["suite"], welcome["members"]) == ("3des", [])
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 10)

    run(scenario, timeout=40)


def test_a_stolen_certificate_admits_nobody(tmp_path: Path) -> None:
    """Issue 10, point 5: an outsider presents alice's certificate and identity, copied from the
    ``member_joined`` every member received, while alice is away. In v1 it joined as alice and the
    real alice got ``alias_taken``; now it cannot answer the challenge, and alice joins as before."""
    ca_file = tmp_path / "ca.pub.pem"
    ca_file.write_bytes(dump_public_key(ca_key()))
    now = int(time.time())
    certificates = {
        name: issue(ca_key(), name, identity(name).public, days=1, now=now).encode()
        for name in ("alice", "bob")
    }

    def certified(name: str) -> dict[str, object]:
        return {"identity": dict(wire(name)), "certificate": certificates[name], "signer": identity(name)}

    async def scenario() -> None:
        process, port = await server_child("--cipher", "3des", "--ca", str(ca_file))
        try:
            bob = await WireClient.connect(port)
            await bob.join("bob", **certified("bob"))
            alice = await WireClient.connect(port)
            await alice.join("alice", **certified("alice"))
            stolen = (await bob.expect("member_joined"))["member"]
            assert stolen["certificate"] == certificates["alice"]
            await alice.close()
            assert (await bob.expect("member_left"))["alias"] == "alice"

            outsider = await WireClient.connect(port)
            copied = {"identity": stolen["identity"], "certificate": stolen["certificate"]}
            for signer in (identity("mallory"), None):  # its own key, or no signature at all
                refusal = await outsider.ask("alice", **copied, signer=signer)
                assert (refusal["type"], refusal["code"], refusal["ref"]) == ("error", "unauthorized", "join")
                assert (
                    refusal["message"]
                    == "the proof of possession does not verify with the identity's RSA key"
                )
            await bob.ping()  # bob never saw the outsider come in

            alice = await WireClient.connect(port)
            welcome = await alice.join("alice", **certified("alice"))  # no alias_taken
            assert [m["alias"] for m in welcome["members"]] == ["bob"]
            assert (await bob.expect("member_joined"))["member"]["alias"] == "alice"
            for client in (bob, alice, outsider):
                await client.close()
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 10)

    run(scenario, timeout=40)

"""What the line client gained by running on the application core, shown through a real relay:
reconnection, trust on first use, certificates under ``--ca``, and files (``/send``, ``/cancel``).

Clients are ``python -m chat client`` processes with piped stdin (as in test_cli_client); relays
run in the test's event loop on 127.0.0.1, so a test can stop one and start it again on its port.
Each client's identity is the tests' own, saved to a directory (``--identity``), and known peers go
to a temporary config directory.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from chat.client.chat_client import ChatClient
from chat.client.store import known_peers_path
from chat.e2e.admission import JoinAdmission
from chat.e2e.identity import safety_number
from chat.e2e.trust import KnownPeers
from chat.protocol.events import Member, MemberJoinedFrame
from chat.protocol.limits import JOIN_NONCE_BYTES
from chat.relay.server import RelayServer, ServerConfig, serve
from ciphers.rng import DeterministicRNG
from tests.chat_net import TapProxy, eventually, run
from tests.chat_support import identity
from tests.test_certificates import ca_key
from tests.test_cli_client import FINGERPRINT, LineClient, joined_client
from tests.test_tui_identity import ca_file, certificate_file

pytestmark = pytest.mark.usefixtures("config_home")  # the processes inherit the variable


def keys(tmp_path: Path, alias: str) -> str:
    """A directory holding the tests' identity of ``alias``, for ``--identity``."""
    directory = tmp_path / "identities" / alias
    if not directory.exists():
        identity(alias).save(directory)
    return str(directory)


async def relay(port: int = 0, **config: Any) -> RelayServer:
    return await serve(ServerConfig(port=port, **config))


async def library_client(port: int, alias: str, room: str, certificate: str | None = None) -> ChatClient:
    client = ChatClient(alias, identity(alias), certificate=certificate)
    await client.connect("127.0.0.1", port)
    await client.join(room)
    return client


async def finish(*clients: LineClient) -> list[tuple[int, str]]:
    """End each client's input and wait for it: the exit statuses and stderr."""
    results = []
    for client in clients:
        await client.end_input()
        results.append(await client.finish())
    return results


# --- reconnection -------------------------------------------------------------------------------


def test_it_reconnects_after_the_relay_restarts_and_sends_what_was_typed_meanwhile(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = await relay()
        port = server.port
        bob = await joined_client(port, "bob", "lobby", "--identity", keys(tmp_path, "bob"))
        alice = await joined_client(port, "alice", "lobby", "--identity", keys(tmp_path, "alice"))
        await bob.until(lambda line: line.startswith("* alice joined"), "alice in bob's room")
        await server.close()
        await alice.until(lambda line: line.startswith("! disconnected: "), "the loss")
        await alice.until(lambda line: line.startswith("* reconnecting in "), "the first attempt")
        alice.write("typed during the outage\n")
        queued = "* queued until the connection is back: typed during the outage"
        await alice.until(lambda line: line == queued, "the queue")
        server = await relay(port=port)
        back = await alice.until(lambda line: line.startswith("* reconnected after "), "alice back")
        assert "rejoined #lobby with a fresh session key; sending 1 queued message" in back
        await bob.until(lambda line: line == "[lobby] alice: typed during the outage", "the queued message")
        alice.write("after the outage\n")
        assert await finish(alice) == [(0, "")]
        await bob.until(lambda line: line == "* alice left", "alice leaving")
        assert await finish(bob) == [(0, "")]
        assert bob.lines.count("[lobby] alice: typed during the outage") == 1
        assert "[lobby] alice: after the outage" in bob.lines
        await server.close()

    run(scenario, timeout=60)


def test_json_reports_the_reconnection_and_what_was_never_sent(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = await relay()
        alice = await joined_client(
            server.port,
            "alice",
            "lobby",
            "--json",
            "--reconnect-for",
            "1",
            "--identity",
            keys(tmp_path, "alice"),
        )
        await server.close()
        await alice.until(lambda line: json.loads(line)["event"] == "reconnecting", "the first attempt")
        alice.write("into the void\n")
        status, err = await alice.finish()  # stdin still open: giving up alone ends the client
        assert status == 1 and err == "! not sent: into the void\n"
        events = [json.loads(line) for line in alice.lines]
        kinds = [event["event"] for event in events]
        assert kinds.index("disconnected") < kinds.index("reconnecting") < kinds.index("gave_up")
        (unsent,) = [event for event in events if event["event"] == "unsent"]
        assert unsent["texts"] == ["into the void"]

    run(scenario, timeout=60)


# --- trust on first use -------------------------------------------------------------------------


def remember_another_key(config_home: Path, port: int) -> Path:
    """alice's known peers on this server: bob was seen before, with another key."""
    path = known_peers_path("alice", "127.0.0.1", port, config_home)
    KnownPeers(path).check("bob", identity("mallory").fingerprint)
    return path


def test_a_changed_key_is_a_warning_and_its_messages_are_marked_until_trusted(
    tmp_path: Path, config_home: Path
) -> None:
    async def scenario() -> None:
        server = await relay()
        path = remember_another_key(config_home, server.port)
        bob = await library_client(server.port, "bob", "lobby")
        alice = await joined_client(server.port, "alice", "lobby", "--identity", keys(tmp_path, "alice"))
        warning = await alice.until(lambda line: line.startswith("! warning identity_changed"), "the warning")
        assert warning.startswith(
            "! warning identity_changed from bob: bob's identity key changed: "
            f"fingerprint now {identity('bob').fingerprint.digits}, "
            f"remembered {identity('mallory').fingerprint.digits}"
        )
        await bob.send("it is really me")
        await alice.until(lambda line: line == "[lobby] bob [unverified key]: it is really me", "the mark")
        alice.write("/who\n/verify bob\n/trust bob\n/who\n")
        number = safety_number("alice", identity("alice").public, "bob", identity("bob").public)
        await alice.until(lambda line: line == f"* safety number with bob: {number}", "the safety number")
        await alice.until(lambda line: line.startswith("* you marked bob's key as verified"), "the trust")
        await alice.until(lambda line: line.endswith(" verified") and "bob" in line, "bob verified in /who")
        rows = [line for line in alice.lines if line.startswith("*   bob ")]
        assert rows == [
            f"*   bob {identity('bob').fingerprint.digits} CHANGED",
            f"*   bob {identity('bob').fingerprint.digits} verified",
        ]
        await bob.send("and again")
        await alice.until(lambda line: line == "[lobby] bob: and again", "an unmarked message")
        assert await finish(alice) == [(0, "")]
        assert KnownPeers(path).remembered("bob") == identity("bob").fingerprint.hex
        await bob.close()
        await server.close()

    run(scenario, timeout=60)


def test_json_shows_the_changed_key_with_the_same_fields(tmp_path: Path, config_home: Path) -> None:
    async def scenario() -> None:
        server = await relay()
        remember_another_key(config_home, server.port)
        alice = await joined_client(
            server.port, "alice", "lobby", "--json", "--identity", keys(tmp_path, "alice")
        )
        bob = await library_client(server.port, "bob", "lobby")
        await alice.until(lambda line: json.loads(line)["event"] == "warning", "the warning")
        await bob.send("hello")
        await alice.until(lambda line: json.loads(line)["event"] == "message", "the message")
        events = [json.loads(line) for line in alice.lines]
        (arrival,) = [e for e in events if e["event"] == "member_joined"]
        assert (arrival["alias"], arrival["trust"]) == ("bob", "changed")
        assert re.fullmatch(FINGERPRINT, arrival["fingerprint"])
        (warning,) = [e for e in events if e["event"] == "warning"]
        assert (warning["code"], warning["sender"]) == ("identity_changed", "bob")
        (message,) = [e for e in events if e["event"] == "message"]
        assert (message["sender"], message["text"], message["trust"]) == ("bob", "hello", "changed")
        assert await finish(alice) == [(0, "")]
        await bob.close()
        await server.close()

    run(scenario, timeout=60)


# --- certificates -------------------------------------------------------------------------------


def test_under_ca_every_certificate_state_is_shown(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = await relay()  # no --ca on the server: the client checks for itself
        bob_cert = certificate_file(tmp_path, "bob").read_text("ascii")
        bob = await library_client(server.port, "bob", "lobby", certificate=bob_cert)
        carol = await library_client(server.port, "carol", "lobby")
        args = ["--ca", str(ca_file(tmp_path)), "--cert", str(certificate_file(tmp_path, "alice"))]
        alice = await joined_client(
            server.port, "alice", "lobby", *args, "--identity", keys(tmp_path, "alice")
        )
        await alice.until(lambda line: line == "! carol: no certificate", "carol's state")
        assert "* your certificate: certified" in alice.lines and "* bob: certified" in alice.lines
        alice.write("/who\n/cert bob\n/cert\n")
        await alice.until(lambda line: line.startswith("* alice's certificate: certified"), "our certificate")
        assert f"*   alice (you) {identity('alice').fingerprint.digits}; certified" in alice.lines
        assert f"*   bob {identity('bob').fingerprint.digits} new; certified" in alice.lines
        assert f"*   carol {identity('carol').fingerprint.digits} new; no certificate" in alice.lines
        assert "* bob's certificate: certified" in alice.lines
        assert any(line.startswith("*   for alias bob, RSA and ElGamal keys") for line in alice.lines)
        assert await finish(alice) == [(0, "")]
        await bob.close()
        await carol.close()
        await server.close()

    run(scenario, timeout=60)


def test_a_certifying_relay_refuses_the_line_client_without_certificate_in_one_line(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = await relay(admission=JoinAdmission(ca_key().public_key()))
        alice = await LineClient.start(server.port, "alice", "--identity", keys(tmp_path, "alice"))
        ((status, err),) = await finish(alice)
        assert status == 1 and alice.lines == []
        assert err == (
            "error: refused: no certificate "
            "(this server admits only certified members: start with --cert FILE)\n"
        )
        await server.close()

    run(scenario, timeout=60)


# --- files --------------------------------------------------------------------------------------


def test_send_delivers_a_file_before_the_end_of_input_ends_the_client(tmp_path: Path) -> None:
    source = tmp_path / "notes from class.bin"
    source.write_bytes(DeterministicRNG("line-client-file").bytes(150_000))
    downloads = tmp_path / "bob-downloads"

    async def scenario() -> None:
        server = await relay()
        bob = await joined_client(
            server.port,
            "bob",
            "files",
            "--downloads",
            str(downloads),
            "--identity",
            keys(tmp_path, "bob"),
            "--accept-files",
        )
        alice = await joined_client(server.port, "alice", "files", "--identity", keys(tmp_path, "alice"))
        alice.write(f'/cancel\n/send {tmp_path / "missing.bin"}\n/send "{source}"\n')
        ((status, err),) = await finish(alice)  # the input ends at once: the transfer still completes
        assert (status, err) == (0, "")
        assert "* no file transfer in progress" in alice.lines
        assert f"! error not_sent: no such file: {tmp_path / 'missing.bin'}" in alice.lines
        assert any(
            line.startswith("* offering notes from class.bin (146.5 KiB, SHA-256 ") for line in alice.lines
        )
        assert "* sent notes from class.bin (146.5 KiB): bob saved it" in alice.lines
        saved = downloads / source.name
        await bob.until(lambda line: line.startswith("* saved notes from class.bin"), "bob's copy")
        assert f"* alice is sending notes from class.bin (146.5 KiB); saving it in {downloads}" in bob.lines
        assert f"* saved notes from class.bin from alice to {saved} (146.5 KiB, SHA-256 checked)" in bob.lines
        assert hashlib.sha256(saved.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
        assert not any("bytes of file" in line for line in bob.lines)  # chunks are never chat lines
        assert await finish(bob) == [(0, "")]
        await server.close()

    run(scenario, timeout=60)


def test_without_accept_files_an_offer_is_refused_in_one_line_and_the_sender_told(tmp_path: Path) -> None:
    source = tmp_path / "unwanted.bin"
    source.write_bytes(b"not for you" * 100)
    downloads = tmp_path / "bob-downloads"

    async def scenario() -> None:
        server = await relay()
        bob = await joined_client(
            server.port, "bob", "files", "--downloads", str(downloads), "--identity", keys(tmp_path, "bob")
        )
        carol = await joined_client(
            server.port, "carol", "files", "--json", "--identity", keys(tmp_path, "carol")
        )
        alice = await joined_client(server.port, "alice", "files", "--identity", keys(tmp_path, "alice"))
        alice.write(f'/send "{source}"\n/accept\n')
        ((status, err),) = await finish(alice)
        assert (status, err) == (0, "")
        told = "refused: this member accepts no files (its client runs without --accept-files)"
        assert f"! unwanted.bin not sent: bob: {told}; carol: {told}" in alice.lines
        assert "! error no_offer: no file offer is waiting for an answer" in alice.lines
        refused = "! unwanted.bin from alice not saved: refused: this client accepts no files"
        line = await bob.until(lambda line: line.startswith(refused), "bob's refusal")
        assert line == refused + " (start it with --accept-files to receive them)"
        record = json.loads(await carol.until(lambda line: '"file_finished"' in line, "carol's refusal"))
        assert (record["direction"], record["sender"], record["ok"]) == ("in", "alice", False)
        assert not downloads.exists()
        assert await finish(bob, carol) == [(0, ""), (0, "")]
        await server.close()

    run(scenario, timeout=60)


# --- views of the room --------------------------------------------------------------------------


def test_a_ghost_the_relay_shows_only_some_is_named_in_red_words_and_in_json(tmp_path: Path) -> None:
    ghost = MemberJoinedFrame(
        Member("ghost", dict(identity("mallory").public.to_wire()), nonce=bytes(JOIN_NONCE_BYTES))
    ).to_dict()

    def down(number: int, alias: str | None, obj: dict[str, Any]) -> list[dict[str, Any]]:
        # bob and carol are told of a "ghost" right after their welcome; alice is not
        return [obj, ghost] if alias in ("bob", "carol") and obj.get("type") == "welcome" else [obj]

    async def scenario() -> None:
        server = await relay()
        proxy = await TapProxy(server.port, down=down).start()
        alice = await library_client(server.port, "alice", "views")
        bob = await joined_client(proxy.port, "bob", "views", "--identity", keys(tmp_path, "bob"))
        carol = await joined_client(
            proxy.port, "carol", "views", "--json", "--identity", keys(tmp_path, "carol")
        )
        for other in ("bob", "carol"):
            await eventually(
                lambda o=other: any(m.alias == o for m in alice.members), f"{other} in alice's room"
            )
        for text in ("one", "two"):  # the second shows alice's view still without the ghost
            await alice.send(text)
        hidden = "! ghost is in the room, but alice does not send to ghost"
        await bob.until(lambda line: line == hidden, "the warning")
        line = await carol.until(lambda line: '"view_differs"' in line, "the JSON event")
        record = json.loads(line)
        assert (record["sender"], record["differences"]) == ("alice", [["ghost", "hidden_member"]])
        await bob.until(lambda line: line == "[views] alice: two", "alice's messages, still shown")
        assert await finish(bob, carol) == [(0, ""), (0, "")]
        await alice.close()
        await proxy.close()
        await server.close()

    run(scenario, timeout=60)


def test_a_leave_the_relay_hides_from_one_member_is_learned_from_the_next_message(tmp_path: Path) -> None:
    """Issue 10, membership: the relay tells alice that carol left and hides it from bob, so that
    bob would keep sealing to carol. alice's next message carries her signed view without carol:
    bob forgets carol, rekeys without her, and says so in red words."""

    def down(number: int, alias: str | None, obj: dict[str, Any]) -> list[dict[str, Any]]:
        hidden = alias == "bob" and obj.get("type") == "member_left" and obj.get("alias") == "carol"
        return [] if hidden else [obj]

    async def scenario() -> None:
        server = await relay()
        proxy = await TapProxy(server.port, down=down).start()
        alice = await library_client(server.port, "alice", "views")
        bob = await joined_client(proxy.port, "bob", "views", "--identity", keys(tmp_path, "bob"))
        carol = await library_client(server.port, "carol", "views")
        for other in ("bob", "carol"):
            await eventually(
                lambda o=other: any(m.alias == o for m in alice.members), f"{other} in alice's room"
            )
        await bob.until(lambda line: "carol" in line and "joined" in line, "carol's arrival at bob")
        await carol.leave()
        await carol.close()
        await eventually(lambda: all(m.alias != "carol" for m in alice.members), "carol gone for alice")
        await alice.send("after carol left")
        departed = "! alice saw carol leave; the relay did not tell you: new key without carol"
        await bob.until(lambda line: line == departed, "the departure learned from alice")
        await bob.until(lambda line: line == "[views] alice: after carol left", "alice's message")
        assert await finish(bob) == [(0, "")]
        await alice.close()
        await proxy.close()
        await server.close()

    run(scenario, timeout=60)


def test_a_member_joined_the_relay_plays_twice_is_refused_and_nothing_displays_twice(
    tmp_path: Path,
) -> None:
    """Issue 10, replay through a duplicate join: the relay announces alice to bob a second time
    while she is present, which used to rebuild her state at bob and let her recorded frames
    display again. bob refuses the duplicate and every replayed frame, and alice's message displays
    once."""

    def down(number: int, alias: str | None, obj: dict[str, Any]) -> list[dict[str, Any]]:
        # to bob: every member_joined twice, then every key bundle and message twice
        twice = alias == "bob" and obj.get("type") in ("member_joined", "key_bundle", "message")
        return [obj, obj] if twice else [obj]

    async def scenario() -> None:
        server = await relay()
        proxy = await TapProxy(server.port, down=down).start()
        bob = await joined_client(proxy.port, "bob", "dups", "--identity", keys(tmp_path, "bob"))
        alice = await library_client(server.port, "alice", "dups")
        await bob.until(lambda line: "alice" in line and "joined" in line, "alice's arrival at bob")
        await alice.send("I approve payment #1")
        await bob.until(lambda line: "here already" in line, "the refused duplicate")
        await bob.until(lambda line: line == "[dups] alice: I approve payment #1", "alice's message")
        await alice.send("done")
        await bob.until(lambda line: line == "[dups] alice: done", "the next message")
        assert bob.lines.count("[dups] alice: I approve payment #1") == 1, bob.lines
        assert any(
            line.startswith("! warning replay from alice: message from alice rejected") for line in bob.lines
        )
        assert await finish(bob) == [(0, "")]
        await alice.close()
        await proxy.close()
        await server.close()

    run(scenario, timeout=60)

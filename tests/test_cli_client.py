"""``python -m chat client`` as a user runs it: subprocesses with piped stdin against a real server."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from chat.app.ca_checks import NO_CERTIFICATE
from chat.client import events as ev
from chat.e2e.certificates import CertificateState, CertificateStatus, issue
from chat.e2e.identity import Fingerprint, Identity
from chat.e2e.trust import TrustState
from chat.ui.text import plain_lines, printable
from tests.chat_net import TIMEOUT, ServerProcess, run
from tests.chat_support import identity
from tests.test_certificates import ca_key

ROOMS = itertools.count()
FINGERPRINT = r"\d{5}( \d{5}){5}"


class LineClient:
    """One ``python -m chat client`` process, its stdout read line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    @classmethod
    async def start(cls, port: int, alias: str, *args: str) -> LineClient:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "chat", "client", "--alias", alias, "--port", str(port), *args),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def until(self, predicate: Callable[[str], bool], what: str) -> str:
        """Read lines until one satisfies ``predicate``; return it."""
        assert self.process.stdout is not None
        for line in self.lines:
            if predicate(line):
                return line
        async with asyncio.timeout(TIMEOUT):
            while True:
                raw = await self.process.stdout.readline()
                if not raw:
                    raise AssertionError(f"output ended before {what}: {self.lines}")
                line = raw.decode().rstrip("\n")
                self.lines.append(line)
                if predicate(line):
                    return line

    def write(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode())

    async def end_input(self) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.drain()
        self.process.stdin.close()

    async def finish(self) -> tuple[int, str]:
        """Wait for the exit; the status and stderr (the rest of stdout is kept in ``lines``)."""
        assert self.process.stdout is not None and self.process.stderr is not None
        async with asyncio.timeout(TIMEOUT):
            rest, err = await asyncio.gather(self.process.stdout.read(), self.process.stderr.read())
            status = await self.process.wait()
        self.lines += rest.decode().splitlines()
        return status, err.decode()

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


async def joined_client(port: int, alias: str, room: str, *args: str) -> LineClient:
    client = await LineClient.start(port, alias, "--room", room, *args)
    await client.until(lambda line: line.startswith(("* joined", '{"event": "joined"')), f"{alias} to join")
    return client


def test_two_clients_chat_through_pipes(server: ServerProcess) -> None:
    async def scenario() -> None:
        room = f"pipes{next(ROOMS)}"
        bob = await joined_client(server.port, "bob", room)
        suite = (
            "3des, kex rsa): 3DES-CBC + HMAC-SHA256; session keys wrapped with RSA-OAEP; RSA-PSS signatures"
        )
        assert bob.lines[0] == f"* joined #{room} as bob ({suite}; members: nobody else yet"
        mine = await bob.until(lambda line: line.startswith("* your fingerprint"), "bob's fingerprint")
        assert mine == bob.lines[1] and re.fullmatch(rf"\* your fingerprint: {FINGERPRINT}", mine)
        alice = await LineClient.start(server.port, "alice", "--room", room)
        alice.write("hello bob\nsecond line\n\n")
        await alice.end_input()
        status, err = await alice.finish()
        assert (status, err) == (0, "")
        assert alice.lines[0] == f"* joined #{room} as alice ({suite}; members: bob"
        await bob.until(lambda line: line == "* alice left", "alice to leave")
        # trust on first use: "new" the first time bob meets alice on this server, "known" after
        arrival = rf"\* alice joined \(fingerprint {FINGERPRINT}, (?P<trust>new|known)\)"
        met = re.fullmatch(arrival, bob.lines[2])
        assert met is not None
        said = bob.lines[3:4] if met.group("trust") == "new" else []  # said once, the first time
        assert said == ["* first contact with alice: key remembered (trust on first use)"][: len(said)]
        del bob.lines[3 : 3 + len(said)]
        assert bob.lines[3:6] == [
            f"[{room}] alice: hello bob",
            f"[{room}] alice: second line",
            "* alice left",
        ]
        bob.write("/who\n/nonsense\n/trace\n/quit\nnot sent after quit\n")
        await bob.end_input()
        status, err = await bob.finish()
        assert (status, err) == (0, "")
        assert bob.lines[6] == (
            "* rekeyed: new session key: a member left, so what follows is unreadable to them (key bob/2)"
        )
        assert bob.lines[-5] == f"* members of #{room}:"
        assert re.fullmatch(rf"\*   bob \(you\) {FINGERPRINT}", bob.lines[-4])
        assert bob.lines[-3].startswith("! error unknown_command: unknown command /nonsense")
        assert bob.lines[-2].startswith(
            "! error not_in_line_mode: /trace shows a panel of the Textual client"
        )
        assert bob.lines[-1] == f"* left #{room}"

    run(scenario, timeout=60)


def test_json_lines(server: ServerProcess) -> None:
    async def scenario() -> None:
        room = f"json{next(ROOMS)}"
        bob = await joined_client(server.port, "bob", room, "--json")
        alice = await LineClient.start(server.port, "alice", "--room", room, "--json")
        alice.write("in json\n/who\n")
        await alice.end_input()
        assert (await alice.finish())[0] == 0
        await bob.until(lambda line: json.loads(line)["event"] == "member_left", "alice to leave")
        for client in (alice, bob):
            for line in client.lines:
                assert "event" in json.loads(line)
        events = [json.loads(line) for line in bob.lines]
        (message,) = [e for e in events if e["event"] == "message"]
        assert (message["sender"], message["text"], message["verified"], message["room"]) == (
            "alice",
            "in json",
            True,
            room,
        )
        (arrival,) = [e for e in events if e["event"] == "member_joined"]
        assert re.fullmatch(FINGERPRINT, arrival["fingerprint"])
        mine = [json.loads(line) for line in alice.lines]
        kinds = [e["event"] for e in mine]
        assert kinds[:2] == ["connected", "joined"] and "sent" in kinds and "members" in kinds
        (joined,) = [e for e in mine if e["event"] == "joined"]
        # The room existed already: bob created it with the server's 3des; alice asked for nothing.
        assert (joined["suite"], joined["insecure"]) == ("3des", False)
        (members,) = [e for e in mine if e["event"] == "members"]
        assert [m["alias"] for m in members["members"]] == ["bob"]
        bob.write("/quit\n")
        await bob.end_input()
        assert (await bob.finish())[0] == 0

    run(scenario, timeout=60)


def test_end_of_input_sends_everything_queued(server: ServerProcess) -> None:
    async def scenario() -> None:
        room = f"flush{next(ROOMS)}"
        bob = await joined_client(server.port, "bob", room)
        alice = await LineClient.start(server.port, "alice", "--room", room)
        lines = [f"line {i:03d} of a burst typed before the join completed" for i in range(40)]
        alice.write("".join(f"{line}\n" for line in lines))
        await alice.end_input()  # all of it is queued before alice has even joined
        assert (await alice.finish())[0] == 0
        await bob.until(lambda line: line == "* alice left", "alice to leave")
        received = [line.split(": ", 1)[1] for line in bob.lines if line.startswith(f"[{room}] alice: ")]
        assert received == lines
        bob.kill()
        await bob.finish()

    run(scenario, timeout=60)


def test_a_room_of_another_suite_than_asked_is_refused_in_one_line(server: ServerProcess) -> None:
    """The relay chooses a room's suite: asked for des, a 3des room is refused (issue 10, point 2)."""

    async def scenario() -> None:
        room = f"asked{next(ROOMS)}"
        bob = await joined_client(server.port, "bob", room)
        alice = await LineClient.start(server.port, "alice", "--room", room, "--cipher", "des")
        await alice.end_input()
        status, err = await alice.finish()
        assert status == 1 and alice.lines == []
        assert err == (
            f"error: the relay offered 3des/rsa for room {room!r}, but you asked for des: refused, as the "
            "relay could be downgrading the room (join without asking to accept the room's)\n"
        )
        await bob.until(lambda line: line == "* alice left", "alice to leave the room she refused")
        bob.write("/quit\n")
        await bob.end_input()
        await bob.finish()
        assert not any(line.startswith(f"[{room}] alice") for line in bob.lines)

    run(scenario, timeout=60)


def test_insecure_suite_is_labelled(server: ServerProcess) -> None:
    async def scenario() -> None:
        room = f"weak{next(ROOMS)}"
        alice = await LineClient.start(
            server.port, "alice", "--room", room, "--cipher", "des", "--kex", "elgamal"
        )
        await alice.end_input()
        status, _ = await alice.finish()
        assert status == 0
        assert alice.lines[0].startswith(f"* joined #{room} as alice (des, kex elgamal): DES-CBC")
        assert alice.lines[2].startswith("! warning insecure_suite: des is insecure: INSECURE: single DES")

    run(scenario, timeout=60)


def test_escape_sequences_from_others_are_shown_escaped(server: ServerProcess) -> None:
    async def scenario() -> None:
        room = f"escape{next(ROOMS)}"
        bob = await joined_client(server.port, "bob", room)
        alice = await LineClient.start(server.port, "alice", "--room", room)
        alice.write("\x1b[2Jscreen wiped?\x07\n")
        await alice.end_input()
        await alice.finish()
        line = await bob.until(lambda line: line.startswith(f"[{room}] alice:"), "the message")
        assert line == f"[{room}] alice: \\x1b[2Jscreen wiped?\\x07"
        assert "\x1b" not in "".join(bob.lines)
        bob.kill()
        await bob.finish()

    run(scenario, timeout=60)


def test_identity_directory_keeps_the_fingerprint(server: ServerProcess, tmp_path: Path) -> None:
    async def scenario() -> None:
        shown = []
        for _ in range(2):
            alice = await LineClient.start(
                server.port, "alice", "--room", f"id{next(ROOMS)}", "--identity", str(tmp_path)
            )
            await alice.end_input()
            assert (await alice.finish())[0] == 0
            match = re.fullmatch(rf"\* your fingerprint: ({FINGERPRINT})", alice.lines[1])
            assert match
            shown.append(match.group(1))
        assert shown[0] == shown[1] == Identity.load(tmp_path).fingerprint.digits
        assert stat.S_IMODE((tmp_path / "rsa.pem").stat().st_mode) == 0o600

    run(scenario, timeout=60)


def test_connection_refused_is_one_line_and_status_1(free_port: int) -> None:
    async def scenario() -> None:
        port = free_port
        client = await LineClient.start(port, "alice")
        await client.end_input()
        status, err = await client.finish()
        assert status == 1 and client.lines == []
        assert err == f"error: cannot connect to 127.0.0.1:{port}: connection refused\n"

    run(scenario)


def test_alias_taken_is_one_line(server: ServerProcess) -> None:
    async def scenario() -> None:
        room = f"taken{next(ROOMS)}"
        bob = await joined_client(server.port, "bob", room)
        twin = await LineClient.start(server.port, "Bob", "--room", room)
        await twin.end_input()
        status, err = await twin.finish()
        assert status == 1
        assert err == f"error: alias 'Bob' is taken in room '{room}'\n"
        bob.kill()
        await bob.finish()

    run(scenario)


def test_server_going_away_for_good_ends_the_client_with_status_1() -> None:
    async def scenario() -> None:
        own = ServerProcess()
        try:
            alice = await joined_client(own.port, "alice", "lobby", "--reconnect-for", "1")
            assert own.stop() == 0
            status, err = await alice.finish()  # stdin still open: giving up alone ends the client
            assert status == 1
            lost = alice.lines.index("! disconnected: server shutting down: server shutting down")
            assert alice.lines[lost + 1].startswith("* reconnecting in ")
            assert alice.lines[-1].startswith("! gave up reconnecting: no connection after ")
            assert "Traceback" not in err
        finally:
            own.stop()

    run(scenario, timeout=60)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--alias", "no spaces"], "error: alias may hold only letters"),
        (["--alias", "ok", "--room=-bad"], "error: room name must start with a letter or a digit"),
        (["--alias", "ok", "--port", "0"], "error: --port must be 1 to 65535"),
        (["--alias", "ok", "--cipher", "aes"], "invalid choice: 'aes'"),
        (["--alias", "ok", "--reconnect-for", "-1"], "error: --reconnect-for must be 0 to 86400 seconds"),
        (["--alias", "ok", "--quota-total", "-5"], "error: --quota-total must be 0 to 1048576 MiB, got -5"),
        (["--alias", "ok", "--transfers-at-once", "0"], "error: --transfers-at-once must be 1 to 64, got 0"),
    ],
    ids=["alias", "room", "port", "cipher", "reconnect", "quota", "at-once"],
)
def test_bad_arguments(args: list[str], message: str) -> None:
    async def scenario() -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "chat", "client", *args),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 2 and out == b""
        assert message in err.decode() and err.decode().count("\n") == 1

    run(scenario)


# --- formatting, without processes -------------------------------------------------------------


def test_plain_lines() -> None:
    fingerprint = Fingerprint(bytes(32))
    zeros = "00000 00000 00000 00000 00000 00000"
    certificate = issue(ca_key(), "bob", identity("bob").public, days=1, now=int(time.time()))
    valid = CertificateStatus(CertificateState.VALID, "certified for bob until ...", certificate)
    cases: list[tuple[ev.ChatEvent, list[str]]] = [
        (ev.MessageReceived("r", "bob", "hi", True, "bob/1", 1), ["[r] bob: hi"]),
        (
            ev.MessageReceived("r", "bob", "hi", True, "bob/1", 1, TrustState.CHANGED),
            ["[r] bob [unverified key]: hi"],
        ),
        (ev.MessageSent("r", "text", "mine", 4, "me/1", 1, ("bob",)), []),  # the user typed it
        (ev.MemberJoined("bob", fingerprint), [f"* bob joined (fingerprint {zeros})"]),
        (
            ev.MemberJoined("bob", fingerprint, TrustState.CHANGED),
            [f"* bob joined (fingerprint {zeros}, CHANGED)"],
        ),
        (ev.MemberJoined("bob", None), ["* bob joined (unusable keys)"]),
        (ev.MemberLeft("bob", "left"), ["* bob left"]),
        (ev.MemberLeft("bob", "slow_reader"), ["* bob left (slow_reader)"]),
        (
            ev.WarningEvent("bad_mac", "message from bob rejected", "bob"),
            ["! warning bad_mac from bob: message from bob rejected"],
        ),
        (ev.ErrorEvent("unknown_member", "not delivered"), ["! error unknown_member: not delivered"]),
        (ev.Rekeyed("bob", "bob/2", "replaced", "bob/1"), ["* bob rekeyed (key bob/2)"]),
        (ev.Rekeyed("bob", "bob/1", "received"), []),
        (ev.Rekeyed("me", "me/1", "start", recipients=("bob",)), []),
        (
            ev.Rekeyed("me", "me/2", "leave", recipients=("bob",)),
            [
                "* rekeyed: new session key: a member left, so what follows is unreadable to them (key me/2, "
                "wrapped for bob)"
            ],
        ),
        (
            ev.DataReceived("r", "bob", "file/chunk", b"abc", True, "bob/1", 2),
            ["[r] bob sent 3 bytes of file/chunk"],
        ),
        (ev.Connected("127.0.0.1", 5050), []),
        (ev.Disconnected("gone"), ["! disconnected: gone"]),
        (ev.Disconnected("closed", by_us=True), []),
        (ev.Left("r"), ["* left #r"]),
        (ev.Reconnecting(2, 1.0, "refused", 10), ["* reconnecting in 1.0 s (attempt 2 of 10)"]),
        (
            ev.Reconnected(3, 2.5, "r", 2),
            [
                "* reconnected after 3 attempt(s); rejoined #r with a fresh session key; "
                "sending 2 queued messages"
            ],
        ),
        (ev.GaveUp("no connection", 4, 9.0), ["! gave up reconnecting: no connection"]),
        (ev.MessageQueued("later", 1), ["* queued until the connection is back: later"]),
        (ev.MessagesUnsent(("a", "b"), "gave up"), ["! NOT SENT (gave up): a", "! NOT SENT (gave up): b"]),
        (ev.CertificateChecked("carol", NO_CERTIFICATE), ["! carol: no certificate"]),
        (
            ev.KeyWithheld("bob", "policy", "its certificate does not hold"),
            ["! your key is withheld from bob: its certificate does not hold"],
        ),
        (ev.KeyWithheld("bob", "bad_identity"), []),  # quiet: the rejection's warning says it
        (
            ev.ViewDiffers(
                "alice",
                (
                    ("mallory", "ghost"),
                    ("carol", "still_sending_to_leaver"),
                    ("dave", "hidden_member"),
                    ("erin", "other_identity"),
                    ("alice", "view_unknown"),
                ),
            ),
            [
                "! alice sends to mallory, whom you do not see in the room",
                "! alice still sends to carol, who left",
                "! dave is in the room, but alice does not send to dave",
                "! alice sees another identity or join for erin than you do",
                "! alice's view of the room cannot be checked: a frame of it was lost",
            ],
        ),
        (
            ev.Departed("carol", "alice"),
            ["! alice saw carol leave; the relay did not tell you: new key without carol"],
        ),
        (
            ev.Rekeyed("me", "me/3", "departed", recipients=("bob",)),
            [
                "* rekeyed: new session key: a member left without the relay saying so, and cannot read on "
                "(key me/3, wrapped for bob)"
            ],
        ),
        (
            ev.WarningEvent("stale_session", "message from bob rejected: other join", "bob"),
            [
                "! warning stale_session from bob: message from bob rejected: other join "
                "(bound to an earlier join of the sender's or yours: a replay)"
            ],
        ),
        (ev.Trusted("bob", fingerprint), [f"* you marked bob's key as verified (fingerprint {zeros})"]),
        (
            ev.FirstContact("bob", fingerprint),
            ["* first contact with bob: key remembered (trust on first use)"],
        ),
        (
            ev.TransferOffered("bob/1", 3, "bob", "a.txt", 2048, "ab" * 32, 60.0),
            [
                "* bob offers a.txt (2 KiB, SHA-256 abababababababab...): /accept 3 or /refuse 3 "
                "(refused in 60 s without an answer)"
            ],
        ),
        (
            ev.Members(
                "r",
                ev.MemberView("me", fingerprint, certificate_status=NO_CERTIFICATE),
                (ev.MemberView("bob", fingerprint, TrustState.VERIFIED, certificate_status=valid),),
            ),
            [
                "* members of #r:",
                f"*   me (you) {zeros}; no certificate",
                f"*   bob {zeros} verified; certified",
            ],
        ),
        (ev.TransfersCancelled(0), ["* no file transfer in progress"]),
        (ev.TransfersCancelled(2), ["* cancelling 2 transfers"]),
        (ev.TransferProgress("bob/1", "in", "a.txt", 10, 20), []),
        (
            ev.TransferFinished("bob/1", "in", "bob", "a.txt", False, "cancelled by bob: x", 20, "ab" * 32),
            ["! a.txt from bob not saved: cancelled by bob: x"],
        ),
    ]
    for event, expected in cases:
        assert plain_lines(event, "me") == expected, event


def test_printable_escapes_control_characters() -> None:
    assert printable("plain text, ünïcode ✓") == "plain text, ünïcode ✓"
    assert printable("a\nb\tc\x1b[31m\u202e") == "a\\nb\\tc\\x1b[31m\\u202e"

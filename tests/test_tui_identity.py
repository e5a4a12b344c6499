"""Who the Textual client is: identity keys kept per alias, certificates shown and presented."""

from __future__ import annotations

import asyncio
import re
import stat
import sys
import time
from pathlib import Path

import pytest

from chat.client.store import default_identity_dir
from chat.e2e.admission import JoinAdmission
from chat.e2e.certificates import issue
from chat.e2e.identity import Identity
from chat.ui.options import ClientOptions, load_files
from chat.ui.tui.screens import JoinScreen
from ciphers.rsa.formats import dump_public_key
from tests.chat_net import TIMEOUT, run
from tests.chat_support import identity
from tests.test_certificates import ca_key
from tests.tui_pilot import (
    SIZE,
    chat_app,
    close_all,
    joined,
    library_client,
    log_text,
    relay,
    type_line,
    until,
)

FINGERPRINT = r"\d{5}( \d{5}){5}"


pytestmark = pytest.mark.usefixtures("config_home")


def certificate_file(tmp_path: Path, alias: str, who: str | None = None) -> Path:
    """A certificate for ``who``'s identity (default: the alias's own) under ``alias``, valid a day."""
    path = tmp_path / f"{alias}.cert.pem"
    subject = identity(who or alias).public
    path.write_text(issue(ca_key(), alias, subject, days=1, now=int(time.time())).encode(), "ascii")
    return path


def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pub.pem"
    path.write_bytes(dump_public_key(ca_key().public_key()))
    return path


# --- identities ---------------------------------------------------------------------------------


def test_identity_persists_per_alias_between_runs(config_home: Path) -> None:
    async def scenario() -> None:
        server = await relay()
        shown = []
        for _ in range(2):
            app = chat_app(server.port, "Erin", "lobby", identities=None)  # the stored identity
            async with app.run_test(size=SIZE) as pilot:
                await joined(pilot, app)
                match = re.search(rf"fingerprint ({FINGERPRINT})", app.main_screen.header.text)
                assert match
                shown.append(match.group(1))
                await pilot.press("ctrl+q")
        directory = default_identity_dir("erin", config_home)
        assert shown[0] == shown[1] == Identity.load(directory).fingerprint.digits
        for name in ("rsa.pem", "elgamal.json"):
            assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        await server.close()

    run(scenario, timeout=60)


async def line_client(port: int, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "chat", "client", "--port", str(port), *args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(TIMEOUT):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def test_line_mode_keeps_the_alias_identity_too(config_home: Path) -> None:
    async def scenario() -> None:
        server = await relay()
        prints = []
        for args in (["--alias", "frank"], ["--alias", "Frank"], ["--alias", "frank", "--ephemeral"]):
            status, out, err = await line_client(server.port, *args, "--room", "idroom")
            assert (status, err) == (0, "")
            match = re.search(rf"your fingerprint: ({FINGERPRINT})", out)
            assert match, out
            prints.append(match.group(1))
        stored = Identity.load(default_identity_dir("frank", config_home)).fingerprint.digits
        assert prints[0] == prints[1] == stored
        assert prints[2] != stored  # --ephemeral: fresh keys, not saved
        status, out, err = await line_client(server.port, "--room", "idroom")
        assert (status, out) == (2, "") and err == "error: --alias is required in line mode\n"
        await server.close()

    run(scenario, timeout=60)


# --- certificates -------------------------------------------------------------------------------


def test_a_ca_server_refuses_the_app_without_certificate_and_admits_it_with_one(tmp_path: Path) -> None:
    ca = ca_file(tmp_path)

    async def scenario() -> None:
        server = await relay(admission=JoinAdmission(ca_key().public_key()))
        bare = chat_app(server.port, "alice", "lobby", ca=str(ca))
        async with bare.run_test(size=SIZE) as pilot:
            await until(
                pilot,
                lambda: isinstance(bare.screen, JoinScreen) and bare.screen.query("#join-status"),
                "the join screen, composed",
            )
            screen = bare.screen
            assert isinstance(screen, JoinScreen)
            await until(pilot, lambda: "refused" in screen.status, "the refusal")
            assert "no certificate" in screen.status and "--cert FILE" in screen.status
            assert bare.client is None
        certified = chat_app(
            server.port, "alice", "lobby", ca=str(ca), cert=str(certificate_file(tmp_path, "alice"))
        )
        async with certified.run_test(size=SIZE) as pilot:
            await joined(pilot, certified)
            bob_cert = certificate_file(tmp_path, "bob").read_text("ascii")
            bob = await library_client(server.port, "bob", "lobby", certificate=bob_cert)
            members = certified.main_screen.members
            await until(pilot, lambda: "bob" in members.text, "bob in the list")
            lines = members.text.splitlines()
            assert lines[lines.index("alice (you)") + 2] == "  certified"
            assert lines[lines.index("bob") + 2] == "  certified"
            await type_line(pilot, certified, "/cert bob")
            text = log_text(certified)
            assert "bob's certificate: certified" in text and "for alias bob, RSA and ElGamal keys" in text
            assert certified.internal_errors == []
            await close_all(bob)
        await server.close()

    run(scenario, timeout=60)


def test_members_without_a_valid_certificate_are_shown_so(tmp_path: Path) -> None:
    ca = ca_file(tmp_path)

    async def scenario() -> None:
        server = await relay()  # no --ca on the server: the client checks for itself
        app = chat_app(server.port, "alice", "lobby", ca=str(ca))
        async with app.run_test(size=SIZE) as pilot:
            await joined(pilot, app)
            stolen = certificate_file(tmp_path, "carol", who="dave").read_text("ascii")
            bob = await library_client(server.port, "bob", "lobby")
            carol = await library_client(server.port, "carol", "lobby", certificate=stolen)
            members = app.main_screen.members
            await until(pilot, lambda: "carol" in members.text, "carol in the list")
            lines = members.text.splitlines()
            assert lines[lines.index("alice (you)") + 2] == "  no certificate"
            assert lines[lines.index("bob") + 2] == "  no certificate"
            assert lines[lines.index("carol") + 2] == "  certificate key does not match identity (RSA key)"
            await type_line(pilot, app, "/who")
            assert "carol " + identity("carol").fingerprint.digits in log_text(app)
            assert app.internal_errors == []
            await close_all(bob, carol)
        await server.close()

    run(scenario, timeout=60)


def test_unreadable_files_are_one_line_before_the_screen_opens(tmp_path: Path) -> None:
    from ciphers.cli.common import UsageError

    with pytest.raises(UsageError, match="cannot read"):
        load_files(ClientOptions(ca=str(tmp_path / "missing.pem")))
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate", "ascii")
    with pytest.raises(UsageError, match=str(bad)):
        load_files(ClientOptions(cert=str(bad)))

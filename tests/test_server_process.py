"""The real server process: ``python -m chat server``, its first line, a client, Ctrl-C."""

from __future__ import annotations

import asyncio
import io
import signal

import pytest
from rich.console import Console

from chat.cli.server import choose_suite
from tests import cli_support
from tests.chat_net import run, server_child
from tests.chat_support import identity, oversized_identity, wire
from tests.test_server import TIMEOUT, WireClient


def test_the_server_process_serves_and_shuts_down_on_ctrl_c() -> None:
    async def scenario() -> None:
        process, port = await server_child("--cipher", "elgamal", "--kex", "elgamal")
        try:
            assert process.stdout is not None
            alice = await WireClient.connect(port)
            welcome = await alice.join("alice", identity=dict(wire("alice")), signer=identity("alice"))
            assert (welcome["suite"], welcome["kex"]) == ("elgamal", "elgamal")
            process.send_signal(signal.SIGINT)
            assert await alice.until_closed() == [
                {"type": "shutdown", "v": 2, "reason": "server shutting down"}
            ]
            assert await asyncio.wait_for(process.wait(), 10) == 0
            rest = (await asyncio.wait_for(process.stdout.read(), TIMEOUT)).decode()
            assert "INSECURE" in rest  # the suite's label is shown to the operator
            assert "alice" in rest  # joins are logged even with --quiet
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

    run(scenario, timeout=30)


def test_a_version_1_client_gets_bad_version_and_the_relay_serves_on() -> None:
    """The join a client of protocol 1 sends, byte for byte as it wrote it, against the real relay."""
    v1_join = {"type": "join", "v": 1, "alias": "old", "room": "lobby", "identity": dict(wire("alice"))}
    v1_join["client"] = "cipherchat"

    async def scenario() -> None:
        process, port = await server_child("--cipher", "3des")
        try:
            old = await WireClient.connect(port)
            old.send(v1_join)
            error = await old.error("bad_version")
            assert error["message"] == "protocol version must be 2, got 1"
            assert error["v"] == 2 and not error["fatal"]
            old.send({"type": "ping", "v": 1, "data": "x"})
            await old.error("bad_version")
            await old.close()
            alice = await WireClient.connect(port)
            welcome = await alice.join("alice", identity=dict(wire("alice")), signer=identity("alice"))
            assert welcome["you"] == "alice"
            await alice.close()
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 10)

    run(scenario, timeout=30)


@pytest.mark.parametrize(
    ("bits", "e", "message"),
    [
        (
            8192,
            65537,
            "identity is out of bounds: an identity RSA modulus must have 2048 to 4096 bits, not 8192",
        ),
        (4096, None, "identity is out of bounds: an identity RSA public exponent must be 65537"),
        (38_000, None, "identity RSA key is not usable: RSA modulus has 38000 bits, above the maximum 16384"),
    ],
    ids=["8192-bit", "e=n-2", "38000-bit-e=n-2"],
)
def test_the_relay_refuses_an_identity_out_of_bounds_in_one_line(
    bits: int, e: int | None, message: str
) -> None:
    """``python -m chat server`` always checks identities (no --ca needed): no member ever gets a key
    whose every signature check would cost seconds (the 38,000-bit n with e = n - 2 of issue 10)."""

    async def scenario() -> None:
        process, port = await server_child("--cipher", "3des")
        try:
            witness = await WireClient.connect(port)
            await witness.join("bob", identity=dict(wire("bob")), signer=identity("bob"))
            mallory = await WireClient.connect(port)
            error = await mallory.ask("mallory", identity=oversized_identity(bits, e))
            assert (error["type"], error["code"], error["ref"]) == ("error", "unauthorized", "join")
            assert error["message"] == message
            await witness.ping()  # bob never heard of mallory
            await witness.close()
            await mallory.close()
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 10)

    run(scenario, timeout=30)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["server", "--max-members", "0"], "--max-members: members per room must be 1 to"),
        (["server", "--port", "70000"], "--port must be 0 to 65535"),
        (["server", "--cipher", "aes"], "invalid choice: 'aes'"),
    ],
    ids=["max-members", "port", "cipher"],
)
def test_bad_arguments_are_one_line_and_status_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_support.run(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("typed", "suite"),
    [("\n", "3des"), ("des\n", "des"), ("aes\nelgamal\n", "elgamal")],
    ids=["enter", "des", "retry"],
)
def test_the_operator_chooses_the_suite(typed: str, suite: str) -> None:
    out = io.StringIO()
    assert choose_suite(Console(file=out, width=120), io.StringIO(typed)) == suite
    shown = out.getvalue()
    assert "INSECURE: single DES" in shown and "3des" in shown

"""The real server process: ``python -m chat server``, its first line, a client, Ctrl-C."""

from __future__ import annotations

import asyncio
import io
import signal

import pytest
from rich.console import Console

from chat.cli import main
from chat.cli import server as cli_server
from chat.cli.server import choose_suite
from chat.e2e.admission import JoinAdmission
from chat.protocol.limits import Limits
from chat.relay.server import ServerConfig
from tests import cli_support
from tests.chat_net import run, server_child
from tests.chat_support import identity, oversized_identity, wire
from tests.test_server import TIMEOUT, WireClient, no_event_loop_errors  # noqa: F401


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
            assert process.stderr is not None
            errors = (await asyncio.wait_for(process.stderr.read(), TIMEOUT)).decode()
            assert "Traceback" not in errors and "Exception in callback" not in errors, errors
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


TOO_LARGE = "identity RSA key of {} characters is larger than any 4096-bit key (at most 1200)"
NOT_65537 = "identity RSA key is not usable: an identity RSA public exponent must be 65537"


@pytest.mark.parametrize(
    ("bits", "e", "message"),
    [
        (8192, 65537, TOO_LARGE.format(1491)),
        (38_000, None, TOO_LARGE.format(12971)),
        (4096, 3, NOT_65537),
        (2048, None, NOT_65537),
    ],
    ids=["8192-bit", "38000-bit-e=n-2", "e=3", "e=n-2"],
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
        (["server", "--max-members", "5000"], "--max-members: members per room must be 1 to"),
        (["server", "--queue-bytes", "0"], "argument --queue-bytes: not a size: '0'"),
        (["server", "--queue-bytes", "4X"], "argument --queue-bytes: not a size: '4X'"),
        (["server", "--max-connections", "none"], "argument --max-connections: must be a whole number"),
        (["server", "--idle-timeout", "-1"], "argument --idle-timeout: must be a number of seconds"),
        (["server", "--stall-timeout", "0"], "argument --stall-timeout: must be above 0 seconds"),
    ],
    ids=[
        "max-members",
        "port",
        "cipher",
        "max-members-big",
        "size-zero",
        "size-unit",
        "count",
        "seconds",
        "zero",
    ],
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


def test_every_limit_is_a_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    configs: list[ServerConfig] = []

    def run_server(config: ServerConfig, *_: object) -> int:
        configs.append(config)
        return 0

    monkeypatch.setattr(cli_server, "run_server", run_server)
    argv = ["server", "--cipher", "3des", "--max-members", "1000", "--max-connections", "3000"]
    argv += ["--max-per-address", "600", "--queue-bytes", "16M", "--stall-timeout", "2.5"]
    argv += ["--idle-timeout", "0", "--join-timeout", "20", "--prove-timeout", "3", "--frame-timeout", "60"]
    argv += ["--max-unfinished", "512K", "--linger", "4", "--shutdown-grace", "1"]
    assert main(argv) == 0
    (config,) = configs
    assert config.limits == Limits.for_members(1000)
    assert (config.max_connections, config.max_per_address) == (3000, 600)
    assert (config.queue_bytes, config.max_unfinished) == (16 * 1024 * 1024, 512 * 1024)
    assert (config.stall_timeout, config.idle_timeout, config.join_timeout) == (2.5, None, 20.0)
    assert (config.frame_timeout, config.linger, config.shutdown_grace) == (60.0, 4.0, 1.0)
    assert config.prove_timeout == 3.0
    assert main(["server", "--cipher", "3des"]) == 0
    # The defaults are ServerConfig's, and the admission is always the end-to-end layer's.
    assert isinstance(configs[1].admission, JoinAdmission)
    assert configs[1] == ServerConfig(suite="3des", admission=configs[1].admission)

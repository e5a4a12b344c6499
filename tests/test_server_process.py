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
from tests.test_server import TIMEOUT, WireClient


def test_the_server_process_serves_and_shuts_down_on_ctrl_c() -> None:
    async def scenario() -> None:
        process, port = await server_child("--cipher", "elgamal", "--kex", "elgamal")
        try:
            assert process.stdout is not None
            alice = await WireClient.connect(port)
            welcome = await alice.join("alice")
            assert (welcome["suite"], welcome["kex"]) == ("elgamal", "elgamal")
            process.send_signal(signal.SIGINT)
            assert await alice.until_closed() == [
                {"type": "shutdown", "v": 1, "reason": "server shutting down"}
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

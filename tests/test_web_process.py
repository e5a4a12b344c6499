"""The web client's commands as processes: ``make chat-server`` without the runtime, the relay with
``--web`` (a TCP and a WebSocket member in one room, the bundle's hash it prints), ``cipherchat web``.

The ones that serve the real bundle need the Pyodide runtime (``make web-assets``); CI fetches it
and sets ``CIPHERCHAT_REQUIRE_BROWSER=1``, under which they fail instead of skipping.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chat.cli.web_assets import Lock
from chat.client import events as ev
from tests.chat_net import Recorder, eventually, run
from tests.test_relay_websocket import connect_ws, make_client
from tests.test_web_bundle import PAGE, http, require_assets

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 20.0
WEB_LINE = re.compile(
    r"web client on http://127\.0\.0\.1:(\d+)/ \(WebSocket at /ws\), bundle sha256 ([0-9a-f]{64})"
)


@pytest.fixture
def page(tmp_path: Path) -> Path:
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_bytes(PAGE)
    (static / "app.js").write_text("console.log('cipherchat');\n")
    return static


async def lines_until(stream: asyncio.StreamReader, pattern: re.Pattern[str], most: int = 20) -> list[str]:
    """Lines read from ``stream`` up to the first that matches ``pattern`` (bounded)."""
    lines: list[str] = []
    for _ in range(most):
        line = (await asyncio.wait_for(stream.readline(), TIMEOUT)).decode()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if pattern.search(line):
            return lines
    raise AssertionError(f"no line matching {pattern.pattern!r} in {lines!r}")


async def stop(process: asyncio.subprocess.Process, *, group: bool = False) -> int:
    if process.returncode is None:
        if group:
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
    return process.returncode or 0


def test_make_chat_server_without_the_runtime_says_how_to_get_it_and_serves_tcp(tmp_path: Path) -> None:
    empty = tmp_path / "no-assets"

    async def scenario() -> None:
        process = await asyncio.create_subprocess_exec(
            "make",
            "-s",
            "chat-server",
            "CIPHER=3des",
            "PORT=0",
            f"WEB_ASSETS={empty}",
            cwd=ROOT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        assert process.stdout is not None
        try:
            lines = await lines_until(process.stdout, re.compile(r"^listening on 127\.0\.0\.1:\d+$"))
            notes = [line for line in lines if "web client" in line]
            assert notes == [
                f"no web client (no Pyodide runtime in {empty}: run make web-assets); "
                "serving the terminal clients only"
            ]
            port = int(lines[-1].rsplit(":", 1)[1])
            from tests.test_server import WireClient

            tcp = await WireClient.connect(port)
            await tcp.ping()
            await tcp.close()
        finally:
            assert await stop(process, group=True) in (0, 2, -signal.SIGINT)

    run(scenario, timeout=60)


def test_the_relay_process_serves_the_bundle_it_announces_and_both_transports(page: Path) -> None:
    require_assets()
    texts = {"alice": "over tcp: the owl flies at dawn", "bob": "over websocket: the owl is late"}

    async def scenario() -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chat",
            "server",
            "--port",
            "0",
            "--quiet",
            "--cipher",
            "3des",
            "--web",
            "0",
            "--web-static",
            str(page),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None and process.stderr is not None
        try:
            first = (await asyncio.wait_for(process.stdout.readline(), TIMEOUT)).decode()
            port = int(re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)\n", first).group(1))  # type: ignore[union-attr]
            second = (await asyncio.wait_for(process.stdout.readline(), TIMEOUT)).decode()
            match = WEB_LINE.fullmatch(second.rstrip("\n"))
            assert match is not None, second
            web_port, announced = int(match.group(1)), match.group(2)

            status, _, body = await http(web_port, "GET", "/bundle.json")
            manifest = json.loads(body)
            assert status == 200 and manifest["sha256"] == announced
            for name, digest in Lock.read().files.items():
                assert manifest["files"][f"/pyodide/{name}"] == digest
                _, _, served = await http(web_port, "GET", f"/pyodide/{name}")
                assert hashlib.sha256(served).hexdigest() == digest

            alice, bob = make_client("alice"), make_client("bob")
            await alice.connect("127.0.0.1", port)
            await connect_ws(bob, web_port)
            recorders = {"alice": Recorder(alice), "bob": Recorder(bob)}
            await alice.join("lobby", "3des", "rsa")
            await bob.join("lobby")
            # A message alice seals before she knows bob is in is not for him: wait until she does.
            await eventually(lambda: bool(recorders["alice"].of(ev.MemberJoined)), "alice sees bob")
            await alice.send(texts["alice"])
            await bob.send(texts["bob"])
            await eventually(lambda: recorders["bob"].texts() == [("alice", texts["alice"])], "alice's text")
            await eventually(lambda: recorders["alice"].texts() == [("bob", texts["bob"])], "bob's text")
            for recorder in recorders.values():
                assert [m.verified for m in recorder.of(ev.MessageReceived)] == [True]
                await recorder.stop()
            assert await stop(process) == 0
            errors = (await asyncio.wait_for(process.stderr.read(), TIMEOUT)).decode()
            assert "Traceback" not in errors, errors
        finally:
            await stop(process)

    run(scenario, timeout=90)


def test_cipherchat_web_writes_a_local_copy_and_serves_it(page: Path, tmp_path: Path) -> None:
    require_assets()
    out = tmp_path / "copy"
    command = [sys.executable, "-m", "chat", "web", "--web-static", str(page)]
    result = subprocess.run(
        [*command, "--out", str(out), "--sizes"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "bundle.json").read_text())
    assert f"bundle sha256 {manifest['sha256']} " in result.stdout
    for url, digest in manifest["files"].items():
        assert hashlib.sha256((out / url.lstrip("/")).read_bytes()).hexdigest() == digest, url
    assert (out / "index.html").read_bytes() == PAGE
    assert re.search(r"^all +9 +[\d,]+ +[\d,]+$", result.stdout, re.MULTILINE), result.stdout

    async def scenario() -> None:
        process = await asyncio.create_subprocess_exec(
            *command,
            "--serve",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert process.stdout is not None
        try:
            lines = await lines_until(
                process.stdout, re.compile(r"serving the web client on http://127\.0\.0\.1:\d+/")
            )
            port = int(re.search(r"127\.0\.0\.1:(\d+)/", lines[-1]).group(1))  # type: ignore[union-attr]
            status, headers, body = await http(port, "GET", "/")
            assert (status, body) == (200, PAGE)
            assert "connect-src 'self' ws: wss:;" in headers["content-security-policy"]
            status, _, body = await http(port, "GET", "/bundle.json")
            assert json.loads(body)["sha256"] == manifest["sha256"]
            status, _, _ = await http(port, "GET", "/../bundle.json")
            assert status == 404
        finally:
            await stop(process)

    run(scenario, timeout=60)

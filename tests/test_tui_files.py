"""/send in the Textual client: files both ways through a real relay, with progress bars and checks."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from chat.client import events as ev
from chat.client.events import TransferEvent, TransferFinished
from chat.transfer.manager import TransferManager
from chat.transfer.policy import Consent, OfferPolicy
from ciphers.rng import DeterministicRNG
from tests.chat_net import run
from tests.tui_pilot import SIZE, chat_app, joined, library_client, log_text, relay, type_line, until

SIZE_BYTES = 150_000  # a few dozen chunks: the bars move
ACCEPT = OfferPolicy(Consent.ACCEPT)  # the library peers take every offer


pytestmark = pytest.mark.usefixtures("config_home")


def make_file(path: Path, size: int) -> Path:
    path.write_bytes(DeterministicRNG(f"tui-file-{path.name}").bytes(size))
    return path


class Peer:
    """A library client with its own transfer manager, reading its events in the background."""

    def __init__(self, manager: TransferManager) -> None:
        self.manager = manager
        self.files: list[TransferEvent] = []
        manager.on_event = self.files.append
        self.task = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        async for event in self.manager.client.events():
            self.manager.handle(event)

    def finished(self) -> list[TransferFinished]:
        return [e for e in self.files if isinstance(e, TransferFinished)]

    async def close(self) -> None:
        await self.manager.close()
        await self.manager.client.close()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            async with asyncio.timeout(5):
                await self.task


async def sender_beside(pilot: Any, port: int, tmp_path: Path) -> Peer:
    """Bob, a library client that takes every offer, in the app's room and seeing alice there."""
    client = await library_client(port, "bob", "files")
    bob = Peer(TransferManager(client, tmp_path / "unused", policy=ACCEPT))
    await until(pilot, lambda: any(m.alias == "alice" for m in client.members), "alice in bob's room")
    return bob


def test_a_file_sent_from_the_app_arrives_intact(tmp_path: Path) -> None:
    source = make_file(tmp_path / "notes from class.bin", SIZE_BYTES)

    async def scenario() -> None:
        server = await relay()
        app = chat_app(server.port, "alice", "files")
        async with app.run_test(size=SIZE) as pilot:
            await joined(pilot, app)
            client = await library_client(server.port, "bob", "files")
            bob = Peer(TransferManager(client, tmp_path / "bob-downloads", policy=ACCEPT))
            await until(pilot, lambda: "bob" in app.main_screen.members.text, "bob in the room")
            await type_line(pilot, app, f'/send "{source}"')
            bars = app.main_screen.transfers
            await until(pilot, lambda: bars.shown, "the bar")
            key = next(iter(bars.shown))
            await until(pilot, lambda: bob.finished(), "bob's copy")
            await until(pilot, lambda: "bob saved it" in log_text(app), "the sender's result")
            assert bars.shown[key].endswith(": sent") and bars.fraction(key) == 1.0
            (finished,) = bob.finished()
            assert finished.ok and finished.sender == "alice"
            saved = tmp_path / "bob-downloads" / source.name
            assert saved.read_bytes() == source.read_bytes()
            assert finished.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
            assert "offering notes from class.bin (146.5 KiB" in log_text(app)
            # the file's chunks never show as chat lines
            assert "bytes of file" not in log_text(app)
            assert app.internal_errors == []
            await bob.close()
        await server.close()

    run(scenario, timeout=60)


def test_a_file_sent_to_the_app_is_saved_in_its_downloads_once_accepted(tmp_path: Path) -> None:
    source = make_file(tmp_path / "report.pdf", SIZE_BYTES)
    downloads = tmp_path / "alice-downloads"

    async def scenario() -> None:
        server = await relay()
        app = chat_app(server.port, "alice", "files", downloads=str(downloads))
        async with app.run_test(size=SIZE) as pilot:
            await joined(pilot, app)
            bob = await sender_beside(pilot, server.port, tmp_path)
            outgoing = await bob.manager.send_file(source)
            await until(pilot, lambda: "bob offers report.pdf (146.5 KiB" in log_text(app), "the question")
            assert "/accept 1 or /refuse 1" in log_text(app)
            assert not downloads.exists()  # nothing is written before the user says yes
            await type_line(pilot, app, "/accept")
            bars = app.main_screen.transfers
            await until(pilot, lambda: bars.shown, "the receiving bar")
            key = next(iter(bars.shown))
            await until(pilot, lambda: "saved report.pdf from bob" in log_text(app), "the saved file")
            result = await outgoing.wait(10)
            assert result.ok and result.outcomes == (("alice", True, ""),)
            assert (downloads / "report.pdf").read_bytes() == source.read_bytes()
            assert f"to {downloads / 'report.pdf'}" in log_text(app) and "SHA-256 checked" in log_text(app)
            assert bars.fraction(key) == 1.0 and bars.shown[key] == "report.pdf: saved"
            assert sorted(os.listdir(downloads)) == ["report.pdf"]  # no partial file left beside it
            assert app.internal_errors == []
            await bob.close()
        await server.close()

    run(scenario, timeout=60)


def test_send_mistakes_are_red_lines(tmp_path: Path) -> None:
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as handle:
        handle.truncate(51 * 1024 * 1024)  # sparse: the limit is checked before anything is read

    async def scenario() -> None:
        server = await relay()
        app = chat_app(server.port, "alice", "files")
        async with app.run_test(size=SIZE) as pilot:
            await joined(pilot, app)
            await type_line(pilot, app, f"/send {tmp_path / 'missing.bin'}")
            await until(pilot, lambda: "missing.bin" in log_text(app), "the missing file")
            bob = await library_client(server.port, "bob", "files")
            await until(pilot, lambda: "bob" in app.main_screen.members.text, "bob in the room")
            await type_line(pilot, app, f"/send {huge}")
            await until(pilot, lambda: "above the limit of 50 MiB" in log_text(app), "the size limit")
            line = next(e for e in app.main_screen.log_view.entries if "above the limit" in e.plain)
            assert any("red" in str(span.style) for span in line.spans)
            await type_line(pilot, app, "/cancel")
            assert "no file transfer in progress" in log_text(app)
            assert not app.main_screen.transfers.shown
            assert not [e for e in bob.wire.history() if e.obj and e.obj.get("type") == "message"]
            assert app.internal_errors == []
            await bob.close()
        await server.close()

    run(scenario, timeout=60)


def test_data_that_is_not_a_file_is_shown_as_such(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = await relay()
        app = chat_app(server.port, "alice", "files")
        async with app.run_test(size=SIZE) as pilot:
            await joined(pilot, app)
            bob = await library_client(server.port, "bob", "files")
            await until(pilot, lambda: "received bob's session key" in log_text(app), "bob's key")
            sent = await bob.send_data(b"\x00\x01", "application/octet-stream")
            assert isinstance(sent, ev.MessageSent)
            await until(pilot, lambda: "bob sent 2 bytes of application/octet-stream" in log_text(app), "it")
            await bob.close()
        await server.close()

    run(scenario, timeout=60)


def test_an_offer_the_user_refuses_writes_nothing_and_the_sender_is_told(tmp_path: Path) -> None:
    source = make_file(tmp_path / "unwanted.exe", 2_000)
    downloads = tmp_path / "alice-downloads"

    async def scenario() -> None:
        server = await relay()
        app = chat_app(server.port, "alice", "files", downloads=str(downloads))
        async with app.run_test(size=SIZE) as pilot:
            await joined(pilot, app)
            bob = await sender_beside(pilot, server.port, tmp_path)
            outgoing = await bob.manager.send_file(source)
            await until(pilot, lambda: "bob offers unwanted.exe" in log_text(app), "the question")
            await type_line(pilot, app, "/accept 7")
            assert "no file offer 7 is waiting (waiting: 1)" in log_text(app)
            await type_line(pilot, app, "/refuse 1")
            result = await outgoing.wait(10)
            assert not result.ok
            assert result.outcomes == (("alice", False, "refused: this member declined the file"),)
            assert "unwanted.exe from bob not saved: refused: you declined it" in log_text(app)
            assert not downloads.exists()
            assert app.internal_errors == []
            await bob.close()
        await server.close()

    run(scenario, timeout=60)


def test_with_accept_files_the_app_takes_offers_unasked(tmp_path: Path) -> None:
    source = make_file(tmp_path / "notes.txt", 3_000)
    downloads = tmp_path / "alice-downloads"

    async def scenario() -> None:
        server = await relay()
        app = chat_app(server.port, "alice", "files", downloads=str(downloads), accept_files=True)
        async with app.run_test(size=SIZE) as pilot:
            await joined(pilot, app)
            bob = await sender_beside(pilot, server.port, tmp_path)
            result = await (await bob.manager.send_file(source)).wait(10)
            assert result.ok
            await until(pilot, lambda: "saved notes.txt from bob" in log_text(app), "the saved file")
            assert "offers" not in log_text(app)
            assert (downloads / "notes.txt").read_bytes() == source.read_bytes()
            await bob.close()
        await server.close()

    run(scenario, timeout=60)

"""The page in a real headless Chromium, against the real relay process (``--web``): two browsers and
one terminal client in one room, every message verified everywhere and in order, no plaintext in
what the relay saw, a changed key in red, a reload that keeps the fingerprint, an identity file
exported and imported; and the screenshot the README shows (docs/web-client.png).

One relay and one Pyodide boot per browser for the whole module. Skipped, with the reason, when
Chromium, its driver, selenium or the pinned Pyodide runtime (make web-assets) is missing, unless
``CIPHERCHAT_REQUIRE_BROWSER=1`` (CI sets it): then that is a failure.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.browser import LAPTOP, PHONE, REQUIRE, ROOT, Browser, RelayProcess, browser_problem
from chat.client import events as ev
from tests.browser_support import TerminalPeers, wait_until
from tests.chat_net import find_secrets
from tests.chat_support import identity

SCREENSHOT = ROOT / "docs" / "web-client.png"


@pytest.fixture(scope="module")
def relay() -> Iterator[RelayProcess]:
    problem = browser_problem()
    if problem is not None:
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{REQUIRE}=1 but the browser tests cannot run: {problem}")
        pytest.skip(f"browser tests skipped: {problem}")
    process = RelayProcess("--cipher", "3des", "--kex", "rsa")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browsers(relay: RelayProcess) -> Iterator[dict[str, Browser]]:
    opened: dict[str, Browser] = {}
    try:
        for name in ("alice", "bob"):
            opened[name] = Browser()
            opened[name].open(relay.url)
        for browser in opened.values():  # both boot at once
            browser.ready()
        yield opened
    finally:
        for browser in opened.values():
            browser.quit()


@pytest.fixture(scope="module")
def terminal(relay: RelayProcess) -> Iterator[TerminalPeers]:
    peers = TerminalPeers(relay.port)
    yield peers
    peers.close()


def test_two_browsers_and_a_terminal_client_chat_verified_and_the_relay_sees_no_plaintext(
    relay: RelayProcess, browsers: dict[str, Browser], terminal: TerminalPeers
) -> None:
    alice, bob = browsers["alice"], browsers["bob"]
    alice.join("alice")  # the relay beside the page, as the form proposes it
    assert alice.js("return document.getElementById('relay').value") == relay.url.replace("http", "ws") + "ws"
    bob.join("bob")
    carol, heard = terminal.join("carol")
    for browser in (alice, bob):
        browser.wait("document.querySelectorAll('#members li[data-alias]').length === 3", "three members")
    assert [alias for alias, _ in alice.members()] == ["alice", "bob", "carol"]

    said = [
        ("alice", "the first from alice"),
        ("bob", "bob answers, ünïcode too"),
        ("carol", "carol's terminal"),
        ("alice", "and alice again"),
    ]
    for sender, text in said:
        if sender == "carol":
            terminal.say(carol, text)
        else:
            browsers[sender].say(text)
        for browser in (b for name, b in browsers.items() if name != sender):
            browser.wait(
                "Array.from(document.querySelectorAll('#log [data-event=message] .text'))"
                ".some(n => n.textContent === arguments[0])",
                f"{text!r} at a browser",
                30,
                text,
            )
        if sender != "carol":
            wait_until(lambda said=(sender, text): said in heard.texts(), f"{text!r} at carol")
    for name, browser in browsers.items():
        assert browser.messages() == [(s, t, "true") for s, t in said if s != name]
    assert heard.texts() == [(s, t) for s, t in said if s != "carol"]
    assert all(message.verified for message in heard.of(ev.MessageReceived))
    assert not heard.warnings()

    # What the relay saw: every frame of the room on carol's link, and its console; no plaintext
    recorded = terminal.recorded()
    assert recorded.count(b'"type":"message"') >= len(said)
    secrets = {text: [text.encode(), text.encode("unicode_escape")] for _, text in said}
    assert find_secrets(recorded + relay.text().encode(), secrets) == []
    wire = alice.text("wire")
    assert '"type":"message"' in wire and all(text not in wire for _, text in said)
    trace = alice.js("return Array.from(document.querySelectorAll('#trace .outcome'), n => n.textContent)")
    assert trace.count("verified") >= 2 and "FAILED" not in trace


def test_a_peer_back_with_a_new_key_under_a_pinned_alias_is_a_red_warning_in_the_page(
    browsers: dict[str, Browser], terminal: TerminalPeers
) -> None:
    alice, bob = browsers["alice"], browsers["bob"]
    bob.driver.find_element("id", "quit").click()
    alice.wait("document.querySelectorAll('#members li[data-alias]').length === 2", "bob gone")
    impostor, _ = terminal.join("bob", identity("mallory"))
    alice.wait(
        "Array.from(document.querySelectorAll('#log .tone-warning'))"
        ".some(n => n.textContent.includes('bob'))",
        "the changed key's warning",
    )
    alice.wait("document.querySelector('#members li.changed[data-alias=bob]')", "bob marked CHANGED")
    assert "CHANGED" in alice.text("members")
    colour = alice.js("return getComputedStyle(document.querySelector('#log .tone-warning .text')).color")
    assert colour == "rgb(192, 24, 24)"  # the style sheet's red
    _screenshots(alice)
    terminal.leave(impostor)


def test_a_reload_keeps_the_fingerprint_and_an_exported_identity_imports_elsewhere(
    browsers: dict[str, Browser], tmp_path: Path
) -> None:
    alice, bob = browsers["alice"], browsers["bob"]
    fingerprint = alice.text("me-fingerprint")
    assert len(fingerprint.split()) == 6
    alice.driver.refresh()  # the same profile: localStorage holds the keys
    alice.ready()
    alice.fill(alias="alice")
    assert alice.text("identity-note") == f"your fingerprint as alice: {fingerprint}"
    alice.join("alice")
    assert alice.text("me-fingerprint") == fingerprint

    exported = tmp_path / "cipherchat-identity-alice.zip"
    exported.write_bytes(alice.export_identity())
    bob.fill(alias="alice")
    bob.import_identity(exported)
    assert bob.text("status") == f"imported: alice is now {fingerprint}"
    assert bob.text("identity-note") == f"your fingerprint as alice: {fingerprint}"


def _screenshots(browser: Browser) -> None:
    """The page at laptop and phone width, side by side, for the README."""
    from PIL import Image

    laptop = Image.open(io.BytesIO(browser.screenshot(LAPTOP)))
    phone = Image.open(io.BytesIO(browser.screenshot(PHONE)))
    browser.screenshot(LAPTOP)
    gap = 24
    combined = Image.new("RGB", (laptop.width + gap + phone.width, max(laptop.height, phone.height)), "white")
    combined.paste(laptop, (0, 0))
    combined.paste(phone, (laptop.width + gap, 0))
    combined.save(SCREENSHOT, optimize=True)
    assert SCREENSHOT.stat().st_size > 10_000

"""The headless browser harness of the web client, for ``bench/web.py`` and the browser tests: the real
relay with ``--web`` (:class:`RelayProcess`), and the system's Chromium driven by Selenium
(:class:`Browser`; never a downloaded browser or driver), each wait bounded.

Nothing here runs without Debian's ``chromium`` and ``chromium-driver``, the ``selenium`` package,
and the pinned Pyodide runtime (``make web-assets``): :func:`browser_problem` says which is
missing, in one line.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from chat.cli.web_assets import AssetError, verify_assets

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
RELAY_COMMAND = [sys.executable, "-m", "chat", "server"]  # then --port 0 --web 0 and the test's options
REQUIRE = "CIPHERCHAT_REQUIRE_BROWSER"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
TCP_LINE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
WEB_LINE = re.compile(r"http://127\.0\.0\.1:(\d+)/")
BOOT_TIMEOUT = 120.0  # seconds for Pyodide and our wheel to load on a loaded machine
TIMEOUT = 30.0  # seconds for anything else in a browser
LAPTOP = (1280, 800)
PHONE = (390, 844)


def browser_problem() -> str | None:
    """Why the browser tests cannot run here, in one line; None when they can."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"no {path} (apt-get install {package})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    try:
        verify_assets()  # what the relay checks before it serves the page
    except AssetError as exc:
        return str(exc)
    return None


class RelayProcess:
    """``cipherchat server --port 0 --web 0 ARGS``, its console (the operator's view of every frame)
    in a file; the TCP port and the page's URL from what it prints."""

    def __init__(self, *args: str) -> None:
        handle, name = tempfile.mkstemp(prefix="chat-web-relay-", suffix=".log")
        os.close(handle)
        self.log = Path(name)
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [*RELAY_COMMAND, "--port", "0", "--web", "0", *args],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        deadline = time.monotonic() + TIMEOUT
        tcp = web = None
        while time.monotonic() < deadline and (tcp is None or web is None):
            text = self.text()
            tcp, web = TCP_LINE.search(text), WEB_LINE.search(text)
            if self.process.poll() is not None:
                raise AssertionError(f"the relay exited: {text!r}")
            time.sleep(0.05)
        if tcp is None or web is None:
            self.stop()
            raise AssertionError(f"the relay did not say where it listens: {self.text()!r}")
        self.port = int(tcp.group(1))
        self.url = f"http://127.0.0.1:{web.group(1)}/"

    def text(self) -> str:
        return self.log.read_bytes().decode("utf-8", "replace") if self.log.exists() else ""

    def stop(self) -> None:
        """Ctrl-C, then wait (kill after a bound)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(TIMEOUT)
        self.log.unlink(missing_ok=True)


class Browser:
    """One headless Chromium with its own profile (kept across reloads, removed at :meth:`quit`)."""

    def __init__(self, size: tuple[int, int] = LAPTOP) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = Path(tempfile.mkdtemp(prefix="chat-web-profile-"))
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        window = f"--window-size={size[0]},{size[1]}"
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", window):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
        self.driver.set_script_timeout(TIMEOUT)
        self.driver.set_page_load_timeout(BOOT_TIMEOUT)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def wait(self, condition: str, what: str, timeout: float = TIMEOUT, *args: Any) -> Any:
        """Until the JavaScript expression ``condition`` is truthy (its value); AssertionError after
        ``timeout`` seconds, with the page's status line."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(
                lambda driver: driver.execute_script(f"return ({condition});", *args)
            )
        except TimeoutException:
            status = self.js("return document.getElementById('status')?.textContent")
            message = f"timed out after {timeout:g} s waiting for {what} (status: {status!r})"
            raise AssertionError(message) from None

    def open(self, url: str) -> None:
        self.driver.get(url)

    def ready(self) -> dict[str, float]:
        """Until the page has booted (Pyodide, our wheel, the page's Python); its timings in ms."""
        booted = "window.cipherchat && (window.cipherchat.ready || window.cipherchat.failed)"
        self.wait(booted, "boot", BOOT_TIMEOUT)
        failed = self.js("return window.cipherchat.failed")
        assert failed is None, f"the page did not start: {failed}"
        times: dict[str, float] = self.js("return window.cipherchat.times")
        return times

    def fill(self, **fields: str) -> None:
        for name, value in fields.items():
            self.js("document.getElementById(arguments[0]).value = arguments[1];", name, value)
        if "alias" in fields:
            self.js("document.getElementById('alias').dispatchEvent(new Event('input'));")

    def join(self, alias: str, room: str = "lobby", cipher: str = "", kex: str = "") -> None:
        self.fill(alias=alias, room=room, cipher=cipher, kex=kex)
        self.driver.find_element("id", "join").click()
        self.wait(
            "!document.getElementById('chat-view').hidden || "
            "document.getElementById('status').className.includes('error')",
            f"{alias} to join",
        )
        assert self.text("status").startswith("in #"), self.text("status")

    def text(self, element_id: str) -> str:
        return str(self.js("return document.getElementById(arguments[0]).textContent", element_id))

    def say(self, text: str) -> None:
        field = self.driver.find_element("id", "say")
        field.send_keys(text)
        self.driver.find_element("id", "send").click()

    def messages(self) -> list[tuple[str, str, str]]:
        """The messages in the log: (sender, text, "true" if verified)."""
        found: list[list[str]] = self.js(
            "return Array.from(document.querySelectorAll('#log [data-event=message]'))"
            ".map(n => [n.dataset.sender, n.querySelector('.text').textContent, n.dataset.verified]);"
        )
        return [(sender, text, verified) for sender, text, verified in found]

    def members(self) -> list[tuple[str, str]]:
        """The member list: (alias, the row's class), us first."""
        found: list[list[str]] = self.js(
            "return Array.from(document.querySelectorAll('#members li[data-alias]'))"
            ".map(n => [n.dataset.alias, n.className]);"
        )
        return [(alias, cls) for alias, cls in found]

    def export_identity(self) -> bytes:
        """What the Export button downloads: the page's identity zip."""
        data: str = self.js(
            "const d = window.cipherchat.page.export_identity(); if (!d) return null;"
            "const b = d.toJs(); d.destroy(); let s = ''; for (const x of b) s += String.fromCharCode(x);"
            "return btoa(s);"
        )
        assert data, self.text("status")
        return base64.b64decode(data)

    def import_identity(self, path: Path) -> None:
        """Choose ``path`` in the Import file picker."""
        field = self.driver.find_element("id", "import-file")
        self.js("arguments[0].style.display = 'block';", field)
        field.send_keys(str(path))
        self.wait(
            "document.getElementById('status').textContent.startsWith('imported') || "
            "document.getElementById('status').className.includes('error')",
            "the import",
        )

    def screenshot(self, size: tuple[int, int]) -> bytes:
        self.driver.set_window_size(*size)
        time.sleep(0.3)  # a moment for the layout of the new width
        self.js(
            "for (const id of ['log', 'trace', 'wire']) { const n = document.getElementById(id);"
            " n.scrollTop = n.scrollHeight; }"
        )
        png: bytes = self.driver.get_screenshot_as_png()
        return png

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

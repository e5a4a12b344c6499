"""``python -m chat client`` on a (pseudo-)terminal: the Textual client starts, chats and quits."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import time
from pathlib import Path

from chat.cli.client import register
from chat.ui.options import ClientOptions
from tests.chat_net import TIMEOUT, ServerProcess

ESCAPES = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][A-Z0-9]|[=>78])")


class Terminal:
    """A child process on an 80x24 pseudo-terminal; ``screen()`` is its output without escapes."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: become the client
            os.execve(sys.executable, [sys.executable, "-m", "chat", "client", *args], env)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.output = b""

    def read_until(self, pattern: str, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while pattern not in self.screen():
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} on the terminal: {self.screen()[-2000:]!r}")
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    self.output += os.read(self.fd, 65536)
                except OSError:
                    return

    def screen(self) -> str:
        return ESCAPES.sub(b"", self.output).decode("utf-8", "replace")

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def wait(self, timeout: float = TIMEOUT) -> int:
        """The exit status (the child is killed after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.drain()
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            self.drain()
            time.sleep(0.05)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        raise AssertionError(f"the client did not exit: {self.screen()[-2000:]!r}")

    def drain(self) -> None:
        while True:
            ready, _, _ = select.select([self.fd], [], [], 0)
            if not ready:
                return
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk


def test_on_a_terminal_the_client_is_the_textual_app(tmp_path: Path) -> None:
    server = ServerProcess("--cipher", "des")
    try:
        env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path), TERM="xterm-256color")
        terminal = Terminal("--port", str(server.port), "--alias", "zoe", "--room", "lobby", env=env)
        terminal.read_until("joined #lobby as zoe")
        terminal.read_until("INSECURE")  # the badge and the warning line
        terminal.type(b"hello from a terminal\r")
        terminal.read_until("zoe: hello from a terminal")
        terminal.type(b"\x11")  # Ctrl+Q
        assert terminal.wait() == 0
        assert "Traceback" not in terminal.screen()
        assert (tmp_path / "cipherchat" / "identities" / "zoe" / "rsa.pem").exists()
    finally:
        assert server.stop() == 0


def test_options_come_from_the_command_line() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(
        ["client", "--port", "6000", "--ca", "ca.pem", "--cert", "me.pem", "--downloads", "dl", "--ephemeral"]
    )
    options = ClientOptions.from_args(args)
    assert (options.port, options.alias, options.room) == (6000, None, None)
    assert (options.ca, options.cert, options.downloads, options.ephemeral) == (
        "ca.pem",
        "me.pem",
        "dl",
        True,
    )
    assert not options.skip_join_screen
    args = parser.parse_args(["client", "--alias", "zoe", "--room", "maths", "--cipher", "des"])
    options = ClientOptions.from_args(args)
    assert options.skip_join_screen and (options.alias, options.room, options.cipher) == (
        "zoe",
        "maths",
        "des",
    )

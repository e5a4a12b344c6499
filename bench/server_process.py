"""A relay child process, ``python -m chat server ARGS``, its output in a file (never a full pipe),
the ports read from what it prints: shared by the benchmarks and the tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIMEOUT = 15.0  # seconds for the relay to start or to stop
LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


class ServerProcess:
    """``python -m chat server ARGS``; :attr:`port` is the TCP port it announced, :attr:`found` the
    match of each of ``announces`` in what it printed (each waited for, a bounded time)."""

    def __init__(
        self, *args: str, announces: tuple[re.Pattern[str], ...] = (), cwd: Path | None = None
    ) -> None:
        handle, name = tempfile.mkstemp(prefix="chat-server-", suffix=".log")
        os.close(handle)
        self.log = Path(name)
        # The child gets its own file description: reading here never moves its write offset.
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "chat", "server", *args],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=cwd,
            )
        self.found = self._wait_for((LISTENING, *announces))
        self.port = int(self.found[0].group(1))

    def _wait_for(self, patterns: tuple[re.Pattern[str], ...]) -> list[re.Match[str]]:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            text = self.text()
            found = [match for pattern in patterns if (match := pattern.search(text))]
            if len(found) == len(patterns):
                return found
            if self.process.poll() is not None:
                raise AssertionError(f"the relay exited: {text!r}")
            time.sleep(0.02)
        self.stop()
        raise AssertionError(f"the relay did not say where it listens: {self.text()!r}")

    def text(self) -> str:
        """Everything the relay printed so far."""
        return self.log.read_bytes().decode("utf-8", "replace") if self.log.exists() else ""

    def stop(self) -> int:
        """Ctrl-C, then wait (kill after a bound). Returns the exit status; the log is removed unless
        ``CHAT_KEEP_SERVER_LOGS`` is set."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(TIMEOUT)
        if os.environ.get("CHAT_KEEP_SERVER_LOGS") is None:
            self.log.unlink(missing_ok=True)
        return self.process.returncode

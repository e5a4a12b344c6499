"""The web client in a real headless Chromium: what a student waits for, measured in this run.

Against the real relay with ``--web`` (:mod:`bench.browser`): the boot, from the page's load to a
ready join form (Pyodide loaded, our wheel fetched and unpacked, the page's Python started); the
size of what the page downloads; then, inside the page's Pyodide on the int backend of
:mod:`ciphers.bigint`, generating identity keys (RSA-2048 and ElGamal), and sealing and opening a
message in a room of two for 3des/rsa and 3des/elgamal. Skipped with its reason (one line) when
the browser or the pinned Pyodide runtime is missing.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.browser import Browser, RelayProcess, browser_problem

ROOMS = (("3des", "rsa"), ("3des", "elgamal"))
IDENTITIES = 5  # identities generated (the median is shown: a prime search takes what it takes)
MESSAGES = 15  # messages sealed and opened per room (medians)

# Run in the page's Pyodide: the same recipe as bench/chat_crypto.py's, on the browser's Python.
MEASURE = """
import json, os, statistics, time
from ciphers import bigint
from chat.e2e.identity import Identity
from chat.e2e.session import Arrival, Delivered, RoomSession

TEXT = "The quick brown fox jumps over the lazy dog. " * 4 + "Done."

def room(suite, kex, identities):
    names = ["m0", "m1"]
    nonces = [os.urandom(16) for _ in names]
    sessions = [RoomSession(i, n, "bench", suite, kex, nonce=x) for i, n, x in zip(identities, names, nonces)]
    arrivals = [Arrival(n, i.public.to_wire(), x) for i, n, x in zip(identities, names, nonces)]
    results = [(names[k], s.start(arrivals[:k] + arrivals[k + 1:])) for k, s in enumerate(sessions)]
    for sender, result in results:
        for out in result.outgoing:
            for name, session in zip(names, sessions):
                if out.payloads is not None and name in out.payloads:
                    session.open_bundle(sender, out.key_id or "", out.body, out.payloads[name])
    return sessions

made, identities = [], []
for _ in range(IDENTITIES):
    start = time.perf_counter()
    identities.append(Identity.generate())
    made.append(time.perf_counter() - start)
figures = {"backend": bigint.BACKEND, "identity": statistics.median(made), "rooms": {}}
for suite, kex in ROOMS:
    sender, receiver = room(suite, kex, identities[:2])
    seals, opens = [], []
    for _ in range(MESSAGES):
        start = time.perf_counter()
        out = sender.seal(TEXT).outgoing[0]
        seals.append(time.perf_counter() - start)
        payload = None if out.payloads is None else out.payloads[receiver.alias]
        start = time.perf_counter()
        result = receiver.open_message(sender.alias, out.body, payload)
        opens.append(time.perf_counter() - start)
        assert any(isinstance(e, Delivered) for e in result.events), result.events
    figures["rooms"][f"{suite}/{kex}"] = [statistics.median(seals), statistics.median(opens)]
json.dumps(figures)
"""

RUN = """
const [code, done] = [arguments[0], arguments[arguments.length - 1]];
window.cipherchat.pyodide.runPythonAsync(code).then(done, (e) => done("error: " + e));
"""

DOWNLOADED = """
const entries = performance.getEntriesByType("resource");
const nav = performance.getEntriesByType("navigation")[0];
const sum = (key) => entries.reduce((total, e) => total + (e[key] || 0), nav ? nav[key] || 0 : 0);
return [sum("encodedBodySize"), sum("decodedBodySize"), entries.length + 1];
"""


def measure(relay: RelayProcess) -> dict[str, Any]:
    """Boot one browser on the relay's page and take every figure from it."""
    browser = Browser()
    try:
        browser.open(relay.url)
        times = browser.ready()
        encoded, decoded, files = browser.js(DOWNLOADED)
        setup = f"IDENTITIES = {IDENTITIES}\nMESSAGES = {MESSAGES}\nROOMS = {ROOMS!r}\n"
        answer = browser.driver.execute_async_script(RUN, setup + MEASURE)
        if not isinstance(answer, str) or answer.startswith("error"):
            raise RuntimeError(f"the measurement failed in the browser: {answer}")
        figures: dict[str, Any] = json.loads(answer)
        figures |= {"times": times, "download": (encoded, decoded, files)}
        return figures
    finally:
        browser.quit()


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms"


def run(console: Console) -> None:
    problem = browser_problem()
    if problem is not None:
        console.print(f"[yellow]web client: skipped[/] ({problem})")
        return
    relay = RelayProcess("--quiet")
    try:
        figures = measure(relay)
    finally:
        relay.stop()
    times = figures["times"]
    table = Table(title=f"The web client in headless Chromium (Pyodide, bigint backend {figures['backend']})")
    table.add_column("what")
    table.add_column("time", justify="right")
    table.add_row("boot: page load to Python loaded", _ms(times["python"] / 1e3))
    table.add_row("boot: wheel fetched and unpacked", _ms((times["unpacked"] - times["python"]) / 1e3))
    table.add_row("boot: page load to ready", _ms(times["ready"] / 1e3))
    table.add_row("identity keys generated (RSA-2048 + ElGamal)", _ms(figures["identity"]))
    for name, (seal, open_) in figures["rooms"].items():
        table.add_row(f"{name}: seal one message (room of 2)", _ms(seal))
        table.add_row(f"{name}: open one message", _ms(open_))
    console.print(table)
    encoded, decoded, files = figures["download"]
    size = f"{encoded / 1e6:.1f} MB on the wire ({decoded / 1e6:.1f} MB unpacked)"
    console.print(f"the page downloads {files} files: {size}")

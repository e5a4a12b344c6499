"""bench/web.py's measurement, the Python it runs in the page's Pyodide, run here in CPython with the
smallest counts: it stays on the current session API (the browser run is in ``make bench``)."""

from __future__ import annotations

from bench import web


def test_the_in_browser_measurement_runs_on_the_current_api() -> None:
    namespace: dict[str, object] = {"IDENTITIES": 2, "MESSAGES": 1, "ROOMS": web.ROOMS}
    exec(web.MEASURE, namespace)  # our own benchmark code, as the page runs it
    figures = namespace["figures"]
    assert isinstance(figures, dict)
    assert set(figures["rooms"]) == {f"{suite}/{kex}" for suite, kex in web.ROOMS}
    assert all(seal > 0 and opened > 0 for seal, opened in figures["rooms"].values())
    assert figures["identity"] > 0

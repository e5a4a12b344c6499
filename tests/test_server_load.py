"""The load and fault harness, short version (``make soak`` runs the full one): every scenario's goal.

Each scenario runs the relay as ``python -m chat server`` in a child process with raw clients on
127.0.0.1 (see :mod:`bench.relay_load`); the relay's stderr must hold no traceback.
"""

from __future__ import annotations

import pytest

from bench import relay_load


@pytest.fixture(scope="module")
def outcomes() -> dict[str, relay_load.Outcome]:
    return {outcome.name: outcome for outcome in relay_load.run(list(relay_load.SCENARIOS), relay_load.SHORT)}


@pytest.mark.parametrize("name", list(relay_load.SCENARIOS))
def test_the_scenario_meets_its_goal(outcomes: dict[str, relay_load.Outcome], name: str) -> None:
    outcome = outcomes[name]
    assert outcome.figures, f"{name} measured nothing"
    assert outcome.ok, f"{name}: {'; '.join(outcome.problems)} ({'; '.join(outcome.figures)})"

"""bench/membership.py runs on the current session API, and its v1 baseline file is complete."""

from __future__ import annotations

from bench import membership
from tests.chat_support import identity


def test_a_two_member_row_measures_every_column() -> None:
    row = membership.measure("3des", "rsa", 2, [identity("alice"), identity("bob")])
    assert row["seal_ms"] > 0 and row["open_ms"] > 0
    assert row["join_bytes"] > row["message_bytes"] > 0  # a join sends two chains, each bigger than a message
    assert row["leave_bytes"] == 0  # the one who stays has nobody to send a new chain to


def test_the_baseline_has_every_row_the_bench_prints() -> None:
    document, rows = membership.load_baseline()
    assert document["protocol"] == 1 and document["commit"]
    wanted = {(suite, kex, n) for suite, kex in membership.ROOMS for n in membership.SIZES}
    assert wanted <= set(rows)

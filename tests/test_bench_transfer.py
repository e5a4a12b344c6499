"""bench/transfer.py sends a file through a real relay to a real receiver, each way it compares,
and checks what arrived; here on a small file, both ways, so the bench cannot rot."""

from __future__ import annotations

from bench import transfer
from chat.transfer import outgoing
from chat.transfer.chunks import HYBRID_CHUNK, hybrid_frame_bytes


def test_both_ways_deliver_the_file_and_give_a_rate() -> None:
    small = transfer.Sending("small batches", chunk_size=1024, window=16, ack_every=4, batch=8)
    results = transfer.measure([small, transfer.ONE_AT_A_TIME], size=40 * 1024)
    assert len(results) == 2 and all(rate > 0 and delay is None for rate, delay in results)


def test_with_carol_talking_her_lines_reach_bob_during_the_transfer() -> None:
    slow = transfer.Sending("small chunks", chunk_size=1024, window=16, ack_every=4, batch=8)
    ((rate, delay),) = transfer.measure([slow], size=256 * 1024, talk=True)
    assert rate > 0 and delay is not None and 0 <= delay < transfer.TIMEOUT


def test_the_comparison_is_today_against_one_chunk_at_a_time() -> None:
    assert transfer.DEFAULTS.batch is None and transfer.DEFAULTS.chunk_size is None  # the clients' own
    assert transfer.ONE_AT_A_TIME.batch == 1 and transfer.ONE_AT_A_TIME.window == 4


def test_the_small_window_is_one_batch_where_the_defaults_hold_two() -> None:
    """The third row keeps the previous bound, 2 MiB: one batch fits its window, where the
    defaults' window holds two batches (one sealed while the other is opened)."""
    frame = hybrid_frame_bytes(HYBRID_CHUNK)
    assert transfer.SMALL_WINDOW.in_flight is not None
    assert transfer.SMALL_WINDOW.in_flight // frame < outgoing.BATCH
    assert outgoing.MAX_IN_FLIGHT // frame >= outgoing.WINDOW == 2 * outgoing.BATCH

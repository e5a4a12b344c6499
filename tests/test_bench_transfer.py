"""bench/transfer.py sends a file through a real relay to a real receiver, each way it compares,
and checks what arrived; here on a small file, both ways, so the bench cannot rot."""

from __future__ import annotations

from bench import transfer
from chat.transfer import outgoing
from chat.transfer.chunks import HYBRID_CHUNK, hybrid_frame_bytes


def test_both_ways_deliver_the_file_and_give_a_rate() -> None:
    small = transfer.Sending("small batches", chunk_size=1024, window=16, ack_every=4, batch=8)
    rates = transfer.measure([small, transfer.ONE_AT_A_TIME], size=40 * 1024)
    assert len(rates) == 2 and all(rate > 0 for rate in rates)


def test_the_comparison_is_today_against_one_chunk_at_a_time() -> None:
    assert transfer.DEFAULTS.batch is None and transfer.DEFAULTS.chunk_size is None  # the clients' own
    assert transfer.ONE_AT_A_TIME.batch == 1 and transfer.ONE_AT_A_TIME.window == 4


def test_the_unbounded_way_is_the_window_before_the_in_flight_bound() -> None:
    """The third row lifts the bound above what its window needs, so its window of 512 holds."""
    way = transfer.UNBOUNDED
    assert way.window == 512 and way.batch == 256 and way.in_flight is not None
    assert way.in_flight // hybrid_frame_bytes(HYBRID_CHUNK) >= way.window
    assert outgoing.MAX_IN_FLIGHT // hybrid_frame_bytes(HYBRID_CHUNK) < way.window

"""The relay's pure parts: a recipient's queue, the deadline clocks, a fan-out's shared encoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.protocol.errors import LocalProtocolError
from chat.protocol.events import RelayedKeyBundleFrame, RelayedMessageFrame
from chat.protocol.framing import FrameBuffer, encode_frame
from chat.relay.deadlines import Deadlines
from chat.relay.fanout import SharedPrefix
from chat.relay.outbox import Outbox

# --- the queue ----------------------------------------------------------------------------------


def test_the_queue_hands_out_whole_frames_and_counts_bytes() -> None:
    box = Outbox()
    box.put(b"aaaa", 4)
    box.put((b"\x00\x00", b"shared", b"tail"), 12)
    box.put(b"cc", 2)
    assert (len(box), box.size) == (3, 18)
    assert box.take(5) == b"aaaa"  # the next frame would pass 5 bytes
    assert box.take(1) == b"\x00\x00sharedtail"  # at least one frame, however large
    assert box.size == 2
    box.put(b"dd", 2)
    assert box.take(100) == b"ccdd"
    assert (len(box), box.size) == (0, 0)


def test_dropping_the_queue_leaves_the_stream_on_a_frame_boundary() -> None:
    box = Outbox()
    for i in range(5):
        box.put(encode_frame({"n": i}), len(encode_frame({"n": i})))
    written = box.take(22)  # two frames of 11 bytes
    assert box.clear() == 3 * len(encode_frame({"n": 0}))
    assert (len(box), box.size) == (0, 0)
    written += encode_frame({"error": 1})
    reader = FrameBuffer(1000)
    reader.feed(written)
    assert [reader.next_payload() for _ in range(3)] == [b'{"n":0}', b'{"n":1}', b'{"error":1}']


# --- the clocks ---------------------------------------------------------------------------------


def test_deadlines_expire_oldest_first_and_restarting_moves_to_the_back() -> None:
    clocks: Deadlines[str] = Deadlines()
    for name, started in (("a", 1.0), ("b", 2.0), ("c", 3.0)):
        clocks.start(name, started)
    assert clocks.oldest() == "a"
    assert clocks.expired(now=4.5, timeout=2.0) == ["a", "b"]
    clocks.start("a", 4.0)  # a new frame, a new join...: its clock starts again
    assert clocks.expired(now=4.5, timeout=2.0) == ["b"]
    assert clocks.oldest() == "b"
    clocks.stop("b")
    clocks.stop("missing")
    assert ("b" in clocks, len(clocks), clocks.oldest()) == (False, 2, "c")
    assert clocks.expired(now=100.0, timeout=1.0) == ["c", "a"]


# --- the shared encoding ------------------------------------------------------------------------

names = st.text(st.sampled_from("abcXYZ09._-"), min_size=1, max_size=12).filter(lambda s: s[0].isalnum())
maps = st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=30), max_size=4)


@given(
    sender=names, body=maps, payload=maps, key_id=st.none() | st.text(st.sampled_from("ab/12"), min_size=1)
)
def test_a_fan_out_frame_is_exactly_the_frame_encoded_alone(
    sender: str, body: dict[str, str], payload: dict[str, str], key_id: str | None
) -> None:
    whole: RelayedMessageFrame | RelayedKeyBundleFrame
    if key_id is None:
        common: RelayedMessageFrame | RelayedKeyBundleFrame = RelayedMessageFrame(sender, body)
        whole = RelayedMessageFrame(sender, body, payload)
    else:
        common = RelayedKeyBundleFrame(sender, key_id, {}, body)
        whole = RelayedKeyBundleFrame(sender, key_id, payload, body)
    pieces, size = SharedPrefix(common, 1 << 20).frame(payload)
    expected = encode_frame(whole.to_dict())
    assert b"".join(pieces) == expected and size == len(expected)


def test_one_prefix_is_shared_by_every_recipient_and_frames_are_bounded() -> None:
    shared = SharedPrefix(RelayedKeyBundleFrame("alice", "alice/1", {}, {"to": "x" * 500}), 700)
    first, _ = shared.frame({"wrapped": "AAAA"})
    second, _ = shared.frame({"wrapped": "BBBB"})
    assert first[1] is second[1]  # the same bytes object: stored once for all recipients
    with pytest.raises(LocalProtocolError, match="above the limit of 700"):
        shared.frame({"wrapped": "C" * 200})

"""Framing: 4-byte big-endian length + canonical UTF-8 JSON; strict decoding; reassembly from any split."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from chat.protocol.framing import FrameBuffer, decode_payload, encode_frame


def test_frame_is_big_endian_length_then_compact_json() -> None:
    assert encode_frame({"type": "ping", "v": 1}) == b'\x00\x00\x00\x15{"type":"ping","v":1}'


def test_non_ascii_is_escaped_so_frames_are_ascii() -> None:
    assert encode_frame({"a": "\u00e9"}) == b'\x00\x00\x00\x0e{"a":"\\u00e9"}'


def test_encode_refuses_a_frame_above_the_limit() -> None:
    with pytest.raises(LocalProtocolError) as info:
        encode_frame({"a": "x" * 100}, max_frame=50)
    assert info.value.code is ErrorCode.TOO_LARGE


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"", ErrorCode.BAD_FRAME),
        (b"\xff\xfe{}", ErrorCode.BAD_JSON),
        (b"\xef\xbb\xbf{}", ErrorCode.BAD_JSON),
        (b"{", ErrorCode.BAD_JSON),
        (b"[1, 2]", ErrorCode.BAD_JSON),
        (b'"text"', ErrorCode.BAD_JSON),
        (b'{"v": NaN}', ErrorCode.BAD_JSON),
        (b'{"v": Infinity}', ErrorCode.BAD_JSON),
        (b'{"v": ' + b"9" * 5000 + b"}", ErrorCode.BAD_JSON),
        (b"[" * 100_000 + b"]" * 100_000, ErrorCode.BAD_JSON),
        (b'{"a": "\xed\xa0\x80"}', ErrorCode.BAD_JSON),
    ],
    ids=[
        "empty",
        "utf16",
        "bom",
        "truncated",
        "array",
        "string",
        "nan",
        "infinity",
        "huge-int",
        "deep",
        "cesu",
    ],
)
def test_decode_refuses_what_is_not_one_utf8_json_object(payload: bytes, code: ErrorCode) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_payload(payload)
    assert info.value.code is code
    assert not info.value.fatal


def test_decode_reads_an_object() -> None:
    assert decode_payload(b'{"type": "ping", "v": 1}') == {"type": "ping", "v": 1}


def test_buffer_waits_for_whole_frames_fed_byte_by_byte() -> None:
    stream = b'\x00\x00\x00\x02{}\x00\x00\x00\x07{"a":1}'
    buffer = FrameBuffer(max_frame=100)
    out = []
    for i in range(len(stream)):
        buffer.feed(stream[i : i + 1])
        while (payload := buffer.next_payload()) is not None:
            out.append(payload)
    assert out == [b"{}", b'{"a":1}']
    assert buffer.buffered == 0


def test_buffer_length_above_limit_is_fatal_before_the_body_arrives() -> None:
    buffer = FrameBuffer(max_frame=10)
    buffer.feed(b"\x00\x00\x00\x0b")
    with pytest.raises(RemoteProtocolError) as info:
        buffer.next_payload()
    assert info.value.code is ErrorCode.TOO_LARGE
    assert info.value.fatal


def test_buffer_length_at_limit_is_accepted() -> None:
    buffer = FrameBuffer(max_frame=10)
    buffer.feed(b"\x00\x00\x00\x0a" + b"0123456789")
    assert buffer.next_payload() == b"0123456789"


@given(
    st.lists(st.binary(max_size=300), max_size=20),
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=30),
)
def test_buffer_gives_the_same_payloads_for_any_split(payloads: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(len(p).to_bytes(4, "big") + p for p in payloads)
    points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    buffer = FrameBuffer(max_frame=1000)
    out = []
    for start, end in itertools.pairwise(points):
        buffer.feed(stream[start:end])
        while (payload := buffer.next_payload()) is not None:
            out.append(payload)
    assert out == payloads

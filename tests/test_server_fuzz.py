"""1,000 hypothesis-generated frames (50 examples of 20) sent to a running relay leave it serving.

Valid-looking JSON frames share one connection, which must stay in step: a final ping is answered.
Raw byte strings each get a connection of their own, which the server must close cleanly when we
stop sending. Then two fresh clients still meet and talk, and the server caught no internal error.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_protocol_connection import validish_frames
from tests.test_server import WireClient, no_event_loop_errors, running, still_serving  # noqa: F401

FRAMES_PER_EXAMPLE = 20

fuzz_items = st.one_of(
    validish_frames.map(lambda f: ("json", f)),
    validish_frames.map(lambda f: ("json", f)),
    st.binary(min_size=1, max_size=200).map(lambda b: ("raw", b)),
)


def encode(obj: dict[str, Any]) -> bytes:
    payload = json.dumps(obj).encode()
    return len(payload).to_bytes(4, "big") + payload


@settings(max_examples=50)
@given(st.lists(fuzz_items, min_size=FRAMES_PER_EXAMPLE, max_size=FRAMES_PER_EXAMPLE))
def test_random_frames_leave_the_server_serving(items: list[tuple[str, Any]]) -> None:
    async def scenario() -> None:
        async with running() as server:
            fuzzer = await WireClient.connect(server.port)
            raw_clients = []
            for kind, item in items:
                if kind == "json":
                    fuzzer.send_raw(encode(item))
                else:
                    raw = await WireClient.connect(server.port)
                    raw.send_raw(item)
                    raw.writer.write_eof()
                    raw_clients.append(raw)
            fuzzer.send_raw(encode({"type": "ping", "v": 2, "data": "end"}))
            for _ in range(10 * FRAMES_PER_EXAMPLE):
                frame = await fuzzer.recv()
                if frame == {"type": "pong", "v": 2, "data": "end"}:
                    break
            else:
                raise AssertionError("the fuzzed connection fell out of step")
            for raw in raw_clients:
                await raw.until_closed()
                await raw.close()
            await still_serving(server)
            await fuzzer.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))

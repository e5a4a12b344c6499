"""The relay's WebSocket transport: one relay, one room, members over TCP and over WebSocket.

Against the real relay in this process (and once as a process): the unchanged
:class:`~chat.client.chat_client.ChatClient` joins over TCP and over a WebSocket (each message one
frame's JSON), through the challenge and the proof, and the messages arrive verified both ways;
the relay's wiretap holds no plaintext; a message above the frame limit, a binary message and a
malformed one are refused as on TCP; the guards (connections per address, the join and frame
deadlines) hold for WebSocket connections; a page of another origin is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import unittest.mock
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.e2e.admission import JoinAdmission
from chat.protocol.framing import encode_json
from chat.protocol.limits import DEFAULT_LIMITS
from chat.relay.server import RelayServer, ServerConfig, serve
from chat.relay.websocket import origin_refusal
from tests.chat_net import Recorder, byte_forms, eventually, find_secrets, run
from tests.chat_support import identity
from tests.ws_support import WsWireClient, open_ws_streams

TIMEOUT = 15.0


def make_client(name: str) -> ChatClient:
    return ChatClient(name, identity(name), ping_interval=None, hold_timeout=1.0)


async def connect_ws(client: ChatClient, port: int) -> None:
    """``client.connect`` with its TCP connection replaced by a WebSocket to the relay's /ws."""
    real = asyncio.open_connection

    async def over_websocket(host: str, tcp_port: int, **options: Any) -> Any:
        return await open_ws_streams(f"ws://{host}:{port}/ws")

    with unittest.mock.patch("chat.client.chat_client.asyncio.open_connection", over_websocket):
        await client.connect("127.0.0.1", port)
    assert asyncio.open_connection is real


@contextlib.asynccontextmanager
async def relay(**options: Any) -> AsyncIterator[tuple[RelayServer, list[tuple[str, str, bytes]]]]:
    """A relay on 127.0.0.1 with a web port, the end-to-end admission, and a wiretap's record."""
    tapped: list[tuple[str, str, bytes]] = []
    settings: dict[str, Any] = {
        "port": 0,
        "web_port": 0,
        "admission": JoinAdmission(None),
        "wiretap": lambda label, way, data: tapped.append((label, way, bytes(data))),
        "max_per_address": 100,
    } | options
    server = await serve(ServerConfig(**settings))
    try:
        yield server, tapped
    finally:
        await server.close()


def test_a_websocket_member_and_a_tcp_member_talk_in_one_room_verified() -> None:
    texts = {"alice": "the eagle lands at the north gate", "bob": "the fox sleeps under the old bridge"}

    async def scenario() -> None:
        async with relay() as (server, tapped):
            alice, bob = make_client("alice"), make_client("bob")
            await alice.connect("127.0.0.1", server.port)
            await connect_ws(bob, server.web_port or 0)
            recorders = {"alice": Recorder(alice), "bob": Recorder(bob)}
            await alice.join("lobby", "3des", "rsa")
            await bob.join("lobby")
            assert {label.endswith(" ws") for label, _, _ in tapped} == {True, False}
            await alice.send(texts["alice"])
            await bob.send(texts["bob"])
            await eventually(lambda: recorders["bob"].texts() == [("alice", texts["alice"])], "bob's message")
            await eventually(lambda: recorders["alice"].texts() == [("bob", texts["bob"])], "alice's message")
            for recorder in recorders.values():
                assert all(m.verified for m in recorder.of(ev.MessageReceived))
            wire = b"".join(data for _, _, data in tapped)
            secrets = {name: byte_forms(text.encode()) for name, text in texts.items()}
            assert find_secrets(wire, secrets) == []
            for recorder in recorders.values():
                await recorder.stop()
            assert server.internal_errors == 0

    run(scenario, timeout=60)


def test_a_websocket_member_is_challenged_and_sees_the_same_frames_as_tcp() -> None:
    """The wiretap records TCP's bytes for both: the same length-prefixed frames in and out."""

    async def scenario() -> None:
        async with relay(admission=None) as (server, tapped):
            ws = await WsWireClient.connect(f"ws://127.0.0.1:{server.web_port}/ws")
            await ws.send({"type": "ping", "v": 2, "data": "abc"})
            assert await ws.expect("pong") == {"type": "pong", "v": 2, "data": "abc"}
            (label,) = {label for label, _, _ in tapped}
            inbound = b"".join(data for lab, way, data in tapped if way == "in")
            outbound = b"".join(data for lab, way, data in tapped if way == "out")
            sent = encode_json({"type": "ping", "v": 2, "data": "abc"})
            assert inbound == len(sent).to_bytes(4, "big") + sent
            assert json.loads(outbound[4:]) == {"type": "pong", "v": 2, "data": "abc"}
            assert int.from_bytes(outbound[:4], "big") == len(outbound) - 4
            assert label.endswith(" ws")
            await ws.close()

    run(scenario)


async def joined_ws(port: int, alias: str) -> WsWireClient:
    """A bare WebSocket client in room ``lobby`` as ``alias`` (a relay without admission)."""
    ws = await WsWireClient.connect(f"ws://127.0.0.1:{port}/ws")
    await ws.send(join_obj(alias))
    challenge = await ws.expect("challenge")
    assert challenge["nonce"]
    await ws.send({"type": "prove", "v": 2, "signature": "AA=="})
    await ws.expect("welcome")
    return ws


def join_obj(alias: str) -> dict[str, Any]:
    from tests.test_server import join_frame

    return join_frame(alias, "lobby")


def test_a_message_above_the_frame_limit_is_refused_as_on_tcp() -> None:
    async def scenario() -> None:
        async with relay(admission=None) as (server, _):
            ws = await WsWireClient.connect(f"ws://127.0.0.1:{server.web_port}/ws", max_size=None)
            size = DEFAULT_LIMITS.max_frame + 1
            await ws.send_raw("x" * size)
            (error,) = await ws.until_closed()
            assert error["type"] == "error" and error["code"] == "too_large" and error["fatal"]
            assert (
                error["message"] == f"frame of {size} bytes is above the limit of {DEFAULT_LIMITS.max_frame}"
            )
            assert ws.close_code == 1009
            assert server.internal_errors == 0

    run(scenario)


def test_a_binary_message_is_a_protocol_error() -> None:
    async def scenario() -> None:
        async with relay(admission=None) as (server, _):
            ws = await WsWireClient.connect(f"ws://127.0.0.1:{server.web_port}/ws")
            await ws.send_raw(b'{"type":"ping","v":2,"data":"x"}')
            (error,) = await ws.until_closed()
            assert (error["code"], error["fatal"]) == ("bad_frame", True)
            assert "binary" in error["message"]
            assert ws.close_code == 1003

    run(scenario)


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_json"),
        ('{"type":"ping","v":1,"data":"x"}', "bad_version"),
        ('{"type":"teleport","v":2}', "unknown_type"),
    ],
)
def test_a_malformed_message_gets_the_error_tcp_gets_and_the_connection_goes_on(
    message: str, code: str
) -> None:
    async def scenario() -> None:
        async with relay(admission=None) as (server, _):
            ws = await WsWireClient.connect(f"ws://127.0.0.1:{server.web_port}/ws")
            await ws.send_raw(message)
            error = await ws.expect("error")
            assert (error["code"], error["fatal"]) == (code, False)
            await ws.send({"type": "ping", "v": 2, "data": "still here"})
            await ws.expect("pong")
            await ws.close()

    run(scenario)


def test_websocket_and_tcp_members_share_one_room_and_its_frames() -> None:
    async def scenario() -> None:
        async with relay(admission=None) as (server, _):
            from tests.test_server import WireClient

            carol = await WireClient.connect(server.port)
            await carol.join("carol")
            dave = await joined_ws(server.web_port or 0, "dave")
            joined = await carol.expect("member_joined")
            assert joined["member"]["alias"] == "dave"
            body = {"ct": "AAAA"}
            await dave.send({"type": "message", "v": 2, "body": body})
            relayed = await carol.expect("message")
            assert (relayed["from"], relayed["body"]) == ("dave", body)
            await dave.close()
            left = await carol.expect("member_left")
            assert (left["alias"], left["reason"]) == ("dave", "disconnected")
            await carol.close()

    run(scenario)


def test_the_per_address_limit_counts_websocket_connections() -> None:
    async def scenario() -> None:
        async with relay(admission=None, max_per_address=2) as (server, _):
            from tests.test_server import WireClient

            tcp = await WireClient.connect(server.port)
            ws = await WsWireClient.connect(f"ws://127.0.0.1:{server.web_port}/ws")
            await eventually(lambda: len(server.peers) == 2, "two connections")
            with pytest.raises(InvalidStatus) as refused:
                await WsWireClient.connect(f"ws://127.0.0.1:{server.web_port}/ws")
            assert refused.value.response.status_code == 503
            assert refused.value.response.body == b"server_full: too many connections from 127.0.0.1 (2)\n"
            with pytest.raises(InvalidStatus):
                await WsWireClient.connect(f"ws://127.0.0.1:{server.web_port}/ws")
            await ws.close()
            await tcp.close()

    run(scenario)


def test_a_websocket_that_never_joins_is_cut_off_at_the_join_deadline() -> None:
    async def scenario() -> None:
        async with relay(admission=None, join_timeout=0.3) as (server, _):
            ws = await WsWireClient.connect(f"ws://127.0.0.1:{server.web_port}/ws")
            (error,) = await ws.until_closed(5.0)
            assert (error["code"], error["message"]) == (
                "idle_timeout",
                "not in a room 0.3 s after connecting",
            )

    run(scenario)


async def raw_connection(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), TIMEOUT)


def test_a_handshake_sent_byte_by_byte_is_cut_off_at_the_frame_deadline() -> None:
    """Slowloris on the HTTP request: the frame clock times the unfinished request."""

    async def scenario() -> None:
        async with relay(admission=None, frame_timeout=0.3, join_timeout=None) as (server, _):
            reader, writer = await raw_connection(server.web_port or 0)
            head = b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            writer.write(head)
            await eventually(lambda: len(server.peers) == 1, "the connection admitted")
            answer = await asyncio.wait_for(reader.read(), 5.0)
            assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
            assert answer.endswith(f"frame not finished within 0.3 s ({len(head)} bytes of it)\n".encode())
            await eventually(lambda: not server.peers, "the connection dropped")
            writer.close()

    run(scenario)


def test_a_websocket_frame_left_unfinished_is_cut_off_at_the_frame_deadline() -> None:
    async def scenario() -> None:
        async with relay(admission=None, frame_timeout=0.3, join_timeout=None) as (server, _):
            ws = await WsWireClient.connect(f"ws://127.0.0.1:{server.web_port}/ws")
            transport = ws.ws.transport
            transport.write(bytes([0x81, 0xFE, 0x10, 0x00]) + b"\x00" * 4 + b"x" * 100)  # 4096 announced
            (error,) = await ws.until_closed(5.0)
            assert error["code"] == "idle_timeout"
            assert error["message"].startswith("frame not finished within 0.3 s")

    run(scenario)


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        (None, "relay.example:8080", True),
        ("http://relay.example:8080", "relay.example:8080", True),
        ("http://127.0.0.1:43121", "relay.example:8080", True),
        ("http://localhost:9000", "10.0.0.5:8080", True),
        ("http://[::1]:9000", "10.0.0.5:8080", True),
        ("http://evil.example", "relay.example:8080", False),
        ("http://127.0.0.1.evil.example", "relay.example:8080", False),
        ("null", "relay.example:8080", False),
        ("http://relay.example:8081", "relay.example:8080", False),
    ],
)
def test_the_origin_policy(origin: str | None, host: str, allowed: bool) -> None:
    assert (origin_refusal(origin, host) is None) is allowed


def test_a_page_of_another_site_cannot_open_a_websocket() -> None:
    async def scenario() -> None:
        async with relay(admission=None) as (server, _):
            url = f"ws://127.0.0.1:{server.web_port}/ws"
            with pytest.raises(InvalidStatus) as refused:
                await WsWireClient.connect(url, origin="http://evil.example")
            assert refused.value.response.status_code == 403
            good = await WsWireClient.connect(url, origin=f"http://127.0.0.1:{server.web_port}")
            await good.send({"type": "ping", "v": 2, "data": "ok"})
            await good.expect("pong")
            await good.close()

    run(scenario)


def test_shutdown_reaches_websocket_members() -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0, web_port=0))
        ws = await joined_ws(server.web_port or 0, "erin")
        await server.close()
        assert await ws.until_closed() == [{"type": "shutdown", "v": 2, "reason": "server shutting down"}]

    run(scenario)

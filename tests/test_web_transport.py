"""The WebSocket transport of the browser client (chat.web.transport) in CPython: one text message per
frame payload both ways, the ends of a connection, and the unchanged ChatClient over it against a
real relay on 127.0.0.1 (each WebSocket bridged to the relay's TCP by tests.web_support)."""

from __future__ import annotations

import asyncio
import json
from typing import TypeVar

import pytest

from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.client.errors import ConnectError
from chat.protocol.connection import Connection
from chat.protocol.events import JoinFrame
from chat.protocol.framing import encode_frame
from chat.protocol.limits import DEFAULT_LIMITS
from chat.protocol.state import Role
from chat.relay.server import ServerConfig, serve
from chat.web.transport import WebSocketStream, open_websocket, websocket_connector
from tests.chat_net import run
from tests.chat_support import identity
from tests.web_support import FakeWebSocket, RelayWebSocket

pytestmark = pytest.mark.usefixtures("config_home")
TIMEOUT = 10.0
E = TypeVar("E", bound=ev.ChatEvent)


def same(callback: object) -> object:
    return callback


def stream() -> tuple[WebSocketStream, FakeWebSocket]:
    socket = FakeWebSocket("ws://127.0.0.1:1/ws")
    return WebSocketStream(socket, same), socket


def test_each_frame_written_is_one_text_message_without_its_length() -> None:
    async def scenario() -> None:
        ws, socket = stream()
        first, second = encode_frame({"type": "ping", "v": 2}), encode_frame({"type": "x", "n": "é"})
        ws.write(first + second[:3])  # two frames' bytes cut inside the second's length
        assert socket.sent == [first[4:].decode("ascii")]
        ws.write(second[3:])
        sent = [json.loads(text) for text in socket.sent]
        assert sent == [{"type": "ping", "v": 2}, {"type": "x", "n": "é"}]
        await ws.drain()

    run(scenario, timeout=TIMEOUT)


def test_each_message_received_reads_as_one_length_prefixed_frame() -> None:
    async def scenario() -> None:
        ws, socket = stream()
        messages = ['{"type":"pong","v":2}', '{"type":"error","v":2,"code":"x","message":"\\u00e9"}']
        for text in messages:
            socket.fire("message", data=text)
        conn = Connection(Role.SERVER, DEFAULT_LIMITS)
        data = await ws.read(5)  # a short read leaves the rest for the next
        data += await ws.read(-1)
        assert data == b"".join(encode_frame(json.loads(text)) for text in messages)
        # What the sans-IO connection makes of a frame arriving this way: the client's own join
        join = JoinFrame("alice", "lobby", dict(identity("alice").public.to_wire()), nonce=b"n" * 16)
        socket.fire("message", data=encode_frame(join.to_dict())[4:].decode())
        conn.receive_data(await ws.read(-1))
        assert conn.next_event() == join

    run(scenario, timeout=TIMEOUT)


def test_a_closed_socket_reads_empty_after_what_arrived_and_refuses_to_drain() -> None:
    async def scenario() -> None:
        ws, socket = stream()
        socket.fire("message", data='{"type":"pong","v":2}')
        socket.fire("close", code=1001, reason="server shutting down")
        assert await ws.read(-1) == encode_frame({"type": "pong", "v": 2})
        assert await ws.read(-1) == b""
        assert ws.close_reason == "server shutting down"
        with pytest.raises(ConnectionResetError):
            await ws.drain()
        ws.write(encode_frame({"type": "ping", "v": 2}))  # nothing goes out on a closed socket
        assert socket.sent == []
        await asyncio.wait_for(ws.wait_closed(), TIMEOUT)

    run(scenario, timeout=TIMEOUT)


def test_a_binary_message_breaks_the_contract_and_closes_the_socket() -> None:
    async def scenario() -> None:
        ws, socket = stream()
        socket.fire("message", data=b"\x00\x00\x00\x02{}")
        assert socket.closed
        assert await ws.read(-1) == b""
        assert ws.close_reason == "the relay sent a binary WebSocket message"

    run(scenario, timeout=TIMEOUT)


def test_a_socket_that_closes_before_opening_is_a_refused_connection_in_one_line() -> None:
    async def scenario() -> None:
        def refusing(url: str) -> FakeWebSocket:
            socket = FakeWebSocket(url)
            asyncio.get_running_loop().call_soon(socket.fire, "close", code=1006, reason="")
            return socket

        with pytest.raises(ConnectionRefusedError):
            await open_websocket("ws://127.0.0.1:9/ws", socket_factory=refusing, proxy=same)
        client = ChatClient(
            "alice",
            identity("alice"),
            connector=websocket_connector("ws://127.0.0.1:9/ws", socket_factory=refusing, proxy=same),
        )
        with pytest.raises(ConnectError) as refused:
            await client.connect("127.0.0.1", 9)
        assert refused.value.message == "cannot connect to 127.0.0.1:9: connection refused"

        socket_made: list[FakeWebSocket] = []

        def silent(url: str) -> FakeWebSocket:
            socket_made.append(FakeWebSocket(url))  # it never opens
            return socket_made[-1]

        with pytest.raises(ConnectionRefusedError):
            await open_websocket("ws://127.0.0.1:9/ws", socket_factory=silent, proxy=same, timeout=0.05)
        assert socket_made[0].closed  # the handshake that never finished is given up

    run(scenario, timeout=TIMEOUT)


def test_the_unchanged_client_over_a_websocket_talks_with_a_tcp_client_through_the_real_relay() -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0))
        sockets: list[RelayWebSocket] = []

        def bridged(url: str) -> RelayWebSocket:
            sockets.append(RelayWebSocket(url, server.port))
            return sockets[-1]

        web = ChatClient(
            "alice",
            identity("alice"),
            connector=websocket_connector("ws://127.0.0.1/ws", socket_factory=bridged, proxy=same),
            ping_interval=None,
        )
        tcp = ChatClient("bob", identity("bob"), ping_interval=None)
        try:
            await web.connect("127.0.0.1", server.port)
            await web.join("lobby", "3des", "rsa")
            await tcp.connect("127.0.0.1", server.port)
            await tcp.join("lobby")
            await _first(web, ev.MemberJoined)  # alice's chain goes to bob before her message
            await web.send("from the browser")
            await tcp.send("from the terminal")
            got_tcp = await _first(tcp, ev.MessageReceived)
            got_web = await _first(web, ev.MessageReceived)
            assert (got_tcp.sender, got_tcp.text, got_tcp.verified) == ("alice", "from the browser", True)
            assert (got_web.sender, got_web.text, got_web.verified) == ("bob", "from the terminal", True)
            sent = [json.loads(text) for text in sockets[0].sent]
            assert [frame["type"] for frame in sent[:2]] == ["join", "prove"]
            assert all("from the browser" not in text for text in sockets[0].sent)
        finally:
            await web.close()
            await tcp.close()
            await server.close()
        assert sockets[0].closed

    run(scenario, timeout=60)


async def _first(client: ChatClient, kind: type[E]) -> E:
    """The client's next event of ``kind`` (each wait bounded)."""
    for _ in range(100):
        event = await client.next_event(TIMEOUT)
        if isinstance(event, kind):
            return event
    raise AssertionError(f"no {kind.__name__} among 100 events")

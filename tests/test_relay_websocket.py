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
import base64
import contextlib
import io
import json
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from rich.console import Console
from websockets.exceptions import InvalidStatus
from websockets.frames import Frame, Opcode

from chat.cli.server import BINARY_FIELDS
from chat.client import events as ev
from chat.client.chat_client import ChatClient
from chat.e2e.admission import JoinAdmission
from chat.protocol.framing import encode_json
from chat.protocol.limits import DEFAULT_LIMITS
from chat.relay.console import WireView
from chat.relay.server import RelayServer, ServerConfig, serve
from chat.relay.websocket import origin_refusal
from tests.chat_net import Recorder, byte_forms, eventually, find_secrets, run
from tests.chat_support import identity
from tests.test_server import no_event_loop_errors  # noqa: F401  (autouse: no event loop tracebacks)
from tests.ws_support import WsWireClient, open_ws_streams

TIMEOUT = 15.0


def make_client(name: str) -> ChatClient:
    return ChatClient(name, identity(name), ping_interval=None, hold_timeout=1.0)


async def connect_ws(client: ChatClient, port: int) -> None:
    """``client.connect`` over a WebSocket to the relay's /ws, through the client's connector seam."""

    async def over_websocket(host: str, web_port: int) -> Any:
        return await open_ws_streams(f"ws://{host}:{web_port}/ws")

    client.connector = over_websocket
    await client.connect("127.0.0.1", port)


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
    view = settings.pop("view", None)
    server = await serve(ServerConfig(**settings), view)
    try:
        yield server, tapped
    finally:
        await server.close()


def test_a_websocket_member_and_a_tcp_member_talk_in_one_room_verified() -> None:
    texts = {"alice": "the eagle lands at the north gate", "bob": "the fox sleeps under the old bridge"}
    shown = io.StringIO()
    view = WireView(Console(file=shown, width=200), frames=True, binary=BINARY_FIELDS)

    async def scenario() -> None:
        async with relay(view=view) as (server, tapped):
            alice, bob = make_client("alice"), make_client("bob")
            await alice.connect("127.0.0.1", server.port)
            await connect_ws(bob, server.web_port or 0)
            recorders = {"alice": Recorder(alice), "bob": Recorder(bob)}
            await alice.join("lobby", "3des", "rsa")
            await bob.join("lobby")
            # A message alice seals before she knows bob is in is not for him: wait until she does.
            await eventually(lambda: bool(recorders["alice"].of(ev.MemberJoined)), "alice sees bob")
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
            console = shown.getvalue()
            assert "ws  suite 3des/rsa" in console and "bob joined from 127.0.0.1:" in console
            assert find_secrets(console.encode(), secrets) == []
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
            writer.close()  # the relay's side ended; ours ends it all
            await eventually(lambda: not server.peers, "the connection gone", 5.0)

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


# --- raw WebSocket frames, written by hand --------------------------------------------------------


async def raw_websocket(port: int, *parts: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket opened by hand, its handshake written in ``parts`` (0.1 s apart) if given."""
    reader, writer = await raw_connection(port)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    cut = len(request) // 2
    for part in parts or (request[:cut], request[cut:]):
        writer.write(part)
        await asyncio.sleep(0.1)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    assert head.startswith(b"HTTP/1.1 101 "), head
    return reader, writer


def client_frame(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=True)


async def server_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The next frame the relay sent: its opcode and payload (servers do not mask)."""
    first, second = await asyncio.wait_for(reader.readexactly(2), TIMEOUT)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    return first & 0x0F, await asyncio.wait_for(reader.readexactly(length), TIMEOUT)


PING = b'{"type":"ping","v":2,"data":"raw"}'


def test_a_handshake_in_two_reads_leaves_no_frame_clock_running() -> None:
    """The request's first half started the frame clock; the whole request stops it."""

    async def scenario() -> None:
        async with relay(admission=None, frame_timeout=0.3, join_timeout=None) as (server, _):
            reader, writer = await raw_websocket(server.web_port or 0)
            await asyncio.sleep(0.8)
            writer.write(client_frame(Opcode.TEXT, PING))
            opcode, payload = await server_frame(reader)
            assert (opcode, json.loads(payload)) == (Opcode.TEXT, {"type": "pong", "v": 2, "data": "raw"})
            writer.close()

    run(scenario)


def test_a_message_in_fragments_is_one_frame() -> None:
    async def scenario() -> None:
        async with relay(admission=None) as (server, tapped):
            reader, writer = await raw_websocket(server.web_port or 0)
            writer.write(client_frame(Opcode.TEXT, PING[:10], fin=False))
            writer.write(client_frame(Opcode.PING, b"between"))  # control frames may come between
            writer.write(client_frame(Opcode.CONT, PING[10:20], fin=False))
            writer.write(client_frame(Opcode.CONT, PING[20:]))
            assert await server_frame(reader) == (Opcode.PONG, b"between")
            opcode, payload = await server_frame(reader)
            assert (opcode, json.loads(payload)["type"]) == (Opcode.TEXT, "pong")
            inbound = [data for _, way, data in tapped if way == "in"]
            assert inbound == [len(PING).to_bytes(4, "big") + PING]
            writer.close()

    run(scenario)


def test_fragments_above_the_frame_limit_together_are_refused() -> None:
    half = DEFAULT_LIMITS.max_frame // 2 + 1

    async def scenario() -> None:
        async with relay(admission=None) as (server, _):
            reader, writer = await raw_websocket(server.web_port or 0)
            writer.write(client_frame(Opcode.TEXT, b"x" * half, fin=False))
            writer.write(client_frame(Opcode.CONT, b"x" * half))
            opcode, payload = await server_frame(reader)
            error = json.loads(payload)
            assert (opcode, error["code"], error["fatal"]) == (Opcode.TEXT, "too_large", True)
            assert error["message"].startswith(f"frame of {2 * half} bytes is above the limit")
            opcode, payload = await server_frame(reader)
            assert opcode == Opcode.CLOSE and int.from_bytes(payload[:2], "big") == 1009
            writer.close()

    run(scenario)


def test_a_client_that_never_closes_its_side_is_aborted_after_the_linger() -> None:
    async def scenario() -> None:
        async with relay(admission=None, join_timeout=0.2, linger=0.3) as (server, _):
            reader, writer = await raw_connection(server.web_port or 0)
            answer = await asyncio.wait_for(reader.read(), 5.0)  # the relay ends its side...
            assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
            await eventually(lambda: not server.peers, "the connection aborted", 5.0)  # ...then all
            writer.close()

    run(scenario)


def slow_websocket(port: int) -> socket.socket:
    """A blocking socket with a small receive window: opens a WebSocket, joins as "slow", never reads."""
    from tests.test_server import PROOF

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: it sets the window
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    frames = [client_frame(Opcode.TEXT, encode_json(obj)) for obj in (join_obj("slow"), PROOF)]
    sock.sendall(handshake + b"".join(frames))  # no admission hook: the proof may precede the challenge
    return sock


def text_messages(data: bytes) -> list[dict[str, Any]]:
    """The text messages of a server's WebSocket stream after its handshake response."""
    _, _, rest = data.partition(b"\r\n\r\n")
    found = []
    while len(rest) >= 2:
        opcode, length, start = rest[0] & 0x0F, rest[1] & 0x7F, 2
        if length == 126:
            length, start = int.from_bytes(rest[2:4], "big"), 4
        elif length == 127:
            length, start = int.from_bytes(rest[2:10], "big"), 10
        if opcode == Opcode.TEXT:
            found.append(json.loads(rest[start : start + length]))
        rest = rest[start + length :]
    return found


def read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    sock.close()
    return b"".join(chunks)


def test_a_websocket_reader_that_takes_nothing_is_cut_after_the_stall_timeout() -> None:
    """Flow control and the stall deadline through the WebSocket transport, as on TCP."""

    async def scenario() -> None:
        from tests.test_server import WireClient

        async with relay(admission=None, stall_timeout=0.5) as (server, _):
            slow = slow_websocket(server.web_port or 0)
            await eventually(lambda: any(p.alias == "slow" for p in server.peers), "slow in the room")
            alice = await WireClient.connect(server.port)
            await alice.join("alice")
            start = asyncio.get_running_loop().time()
            for i in range(100):  # 4 MB: slow's buffers fill, nothing passes the 8 MiB bound
                alice.send({"type": "message", "v": 2, "body": {"n": str(i), "ct": "A" * 40_000}})
            for _ in range(200):
                got = await alice.recv()
                if got["type"] == "member_left":
                    break
            assert (got["alias"], got["reason"]) == ("slow", "slow_reader")
            assert asyncio.get_running_loop().time() - start < 5
            frames = text_messages(await asyncio.to_thread(read_until_closed, slow))
            assert [f["type"] for f in frames[:2]] == ["challenge", "welcome"]
            assert frames[-1]["code"] == "slow_reader" and "took none of" in frames[-1]["message"]
            await alice.close()
            assert server.internal_errors == 0

    run(scenario, timeout=30)

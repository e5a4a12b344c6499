"""One client connection of the relay: an :class:`asyncio.Protocol` with its queue and its flow control.

The transport calls the peer (bytes read, the end of input, its write buffer filling up and
draining, the connection lost) and the peer passes each to the server, which owns the rules.
Frames for the client wait in its :class:`~chat.relay.outbox.Outbox`; :meth:`Peer.feed` hands
them to the transport whole, until the transport's buffer passes :data:`HIGH_WATER` and it pauses
the peer, and again when it has drained to a quarter of that. So the transport never holds more
than about :data:`HIGH_WATER` bytes, and what a client cut off is sent next (its error) waits
behind that much at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import TYPE_CHECKING, cast

from chat.protocol.connection import Connection
from chat.protocol.errors import ErrorCode
from chat.protocol.events import Frame
from chat.protocol.state import Role
from chat.relay.outbox import Outbox, QueuedFrame

if TYPE_CHECKING:
    from chat.relay.rooms import Room
    from chat.relay.server import RelayServer

HIGH_WATER = 64 * 1024  # bytes in the transport's buffer above which it pauses us (resumes at 1/4)
FEED_BYTES = 64 * 1024  # bytes of whole frames handed to the transport in one write
# The kernel's send buffer per connection (Linux doubles it): fixed, because left to itself it
# grows to megabytes, and a client that stops reading would hide that much backlog in the kernel
# before the relay saw it. 256 KiB still carries 250 MB/s at 1 ms round trips.
KERNEL_SEND_BUFFER = 128 * 1024
# More than this waiting in the queue and the client is behind; a room with half its members
# behind is congested, and its senders are not read until it catches up (see RelayServer).
PACE_MARK = 4 * HIGH_WATER


class Peer(asyncio.Protocol):
    """One client connection: its protocol state, its queue, its transport, and where it sits."""

    __slots__ = (
        "abort_handle",
        "address",
        "admitted",
        "alias",
        "closed",
        "conn",
        "dirty",
        "doomed",
        "label",
        "lost",
        "outbox",
        "paused",
        "queue_bytes",
        "reason",
        "room",
        "server",
        "shown",
        "transport",
    )

    def __init__(self, server: RelayServer) -> None:
        self.server = server
        self.conn = Connection(Role.SERVER, server.config.limits)
        self.queue_bytes = server.config.queue_bytes
        self.outbox = Outbox()
        self.transport = cast(asyncio.Transport, None)  # set by connection_made, before anything else
        self.label = ""
        self.address = ""
        self.room: Room[Peer] | None = None
        self.alias = ""
        self.admitted = False  # counted among the server's connections
        self.closed = False  # no frame goes in or out any more: dropped, departed or refused
        self.doomed = False  # to be cut off once the current batch is handled
        self.lost = False  # the transport reported the connection lost
        self.reason = "disconnected"  # what the room is told when this client goes
        self.dirty = False  # frames queued since the last flush
        self.paused = False  # the transport's buffer is above the high-water mark
        self.abort_handle: asyncio.TimerHandle | None = None
        self.shown = True  # the console shows its connecting and going

    @property
    def buffered(self) -> int:
        """Bytes received that are not yet frames (nonzero in the middle of one)."""
        return self.conn.buffered

    # --- what the transport tells us -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.server.admit(self)

    def data_received(self, data: bytes) -> None:
        self.server.received(self, data)

    def eof_received(self) -> bool:
        self.server.received(self, b"")
        return True  # keep the transport: the server closes it once our last frames are written

    def pause_writing(self) -> None:
        self.paused = True
        self.server.writing_paused(self)

    def resume_writing(self) -> None:
        self.paused = False
        self.server.writing_resumed(self)
        if not self.closed:
            self.feed()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.server.lost(self, exc)

    def bound_buffers(self) -> None:
        """Set the transport's high-water mark and the kernel's send buffer (see the module notes)."""
        self.transport.set_write_buffer_limits(high=HIGH_WATER)
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_SEND_BUFFER)

    # --- frames out ------------------------------------------------------------------------------

    def send(self, event: Frame, frame: QueuedFrame | None = None, size: int = 0) -> None:
        """Queue ``event`` unless the client is gone (``frame``: its ``size`` bytes, shared by a fan-out).

        A client with more than ``queue_bytes`` already waiting for it is cut off instead, once
        the current batch is handled: the sender never waits for it.
        """
        if self.closed or self.doomed:
            return
        waiting = self.outbox.size + self.transport.get_write_buffer_size()
        if waiting > self.queue_bytes:
            message = f"{waiting} bytes waiting for it, above the bound of {self.queue_bytes}: not reading"
            self.server.cut(self, ErrorCode.SLOW_READER, message)
            return
        if frame is None:
            frame = self.conn.send(event)
            size = len(frame)
        else:
            self.conn.send(event, encoded=b"")  # the state machine's check: the bytes are ``frame``
        self.outbox.put(frame, size)
        if self.outbox.size > PACE_MARK and self.room is not None:
            self.room.behind.add(self)
        if not self.dirty:
            self.dirty = True
            self.server.dirty.append(self)

    def feed(self) -> None:
        """Hand the transport whole frames until it pauses us or nothing is left."""
        self.dirty = False
        outbox, transport, wiretap = self.outbox, self.transport, self.server.config.wiretap
        while outbox and not self.paused:
            data = outbox.take(FEED_BYTES)
            if wiretap is not None:
                wiretap(self.label, "out", data)
            transport.write(data)
        room = self.room
        if room is not None and outbox.size <= PACE_MARK and self in room.behind:
            self.server.release(room.caught_up(self))

    def write_all(self) -> None:
        """Hand the transport everything queued (the connection is closing: no more will come)."""
        if self.outbox and not self.transport.is_closing():
            data = self.outbox.take(self.outbox.size)
            wiretap = self.server.config.wiretap
            if wiretap is not None:
                wiretap(self.label, "out", data)
            self.transport.write(data)
        self.outbox.clear()

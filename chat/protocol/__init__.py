"""The chat protocol, sans-IO (after h11): frames, events, state machine and connection, no sockets.

Protocol version 1
==================

Framing
-------
Every frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON holding one
object with a ``type`` and the protocol version ``"v": 1``. Writers use the canonical encoding (no
spaces, ASCII only). Binary data travels as standard base64 with padding, decoded strictly
(:mod:`ciphers.strict_base64`: alphabet only, canonical). A length above ``max_frame`` is fatal (an ``error``
frame, then the connection is closed: the stream cannot be resynchronised); every other fault
concerns one frame, which the server answers with an ``error`` frame before reading on.

Names
-----
Aliases and room names are 1 to 32 characters from ``A-Z a-z 0-9 _ - .``, starting with a letter
or a digit; they compare ignoring case (``str.casefold``), so ``Alice`` and ``alice`` cannot be in
one room. ASCII only, so that look-alike letters cannot impersonate a member.

Client to server
----------------
========== ====================================================================================
type       fields
========== ====================================================================================
join       ``alias``, ``room``, ``identity`` (map of strings: the public keys, opaque to the
           server), optional ``suite`` (:data:`SUITE_NAMES`) and ``kex`` (:data:`KEX_NAMES`) asked
           for a new room, optional ``certificate`` (opaque string), optional ``client`` (software name)
leave      (none): leave the room, keep the connection
message    ``body`` (map of strings: the sealed envelope, opaque) and optional ``payloads``
           (alias -> map of strings). Without payloads the body goes to every other member; with
           them, only the named members get it, each with its own entry alone
key_bundle ``key_id``, ``body`` (map of strings, may be empty), ``payloads`` (alias -> map of
           strings: each recipient's wrapped session key and signature); each recipient gets only
           its own entry
ping       optional ``data`` (short string), echoed by ``pong``
========== ====================================================================================

Server to client
----------------
============= =================================================================================
type          fields
============= =================================================================================
welcome       ``room`` (as first written), ``suite``, ``kex`` (the room's, whatever was asked),
              ``you`` (your alias), ``members``: the others, each ``{alias, identity,
              certificate?}``
member_joined ``member``: ``{alias, identity, certificate?}``
member_left   ``alias``, ``reason``: ``left``, ``disconnected``, or the error code that cut the
              member off (``slow_reader``, ``idle_timeout``, ``too_large``, ...)
left          ``room``: your ``leave`` is done; you may join again
message       ``from`` (stamped by the server from the connection; clients never choose it),
              ``body``, and ``payload`` (your entry) if the sender used payloads
key_bundle    ``from``, ``key_id``, ``body``, ``payload`` (your entry only)
error         ``code`` (below), ``message`` (one line for humans), ``fatal`` (the server closes
              the connection after it), optional ``ref`` (the type of the frame refused)
shutdown      ``reason``: the server is stopping and closes the connection
pong          ``data`` of the ping
============= =================================================================================

Error codes
-----------
``bad_frame`` (empty frame; connection ended mid-frame), ``too_large`` (frame above the limit:
fatal; a field above its limit), ``bad_json``, ``bad_version``, ``unknown_type``, ``bad_field``
(missing, unexpected or mistyped field), ``bad_state`` (valid frame at the wrong moment),
``not_in_room`` (leave, message or key_bundle before joining), ``bad_alias``, ``bad_room``,
``bad_suite``, ``alias_taken``, ``room_full``, ``unknown_member`` (a payload for nobody in the
room: the others are delivered), ``unauthorized`` (the server's authorisation hook refused the
join), ``slow_reader``, ``idle_timeout``, ``server_full``, ``internal_error``.

States
------
``IDLE --join--> JOINING --welcome--> IN_ROOM --leave--> LEAVING --left--> IDLE``, and
``JOINING --error--> IDLE`` when a join is refused; ``shutdown`` or the end of the connection lead
to ``CLOSED``. Messages and key bundles are allowed only IN_ROOM; ``ping`` in every open state.
The transitions are two tables in :mod:`chat.protocol.state`, applied by both ends.

Limits (:class:`Limits`, defaults)
---------------------------------
frame 1 MiB (a client's frames 2 KiB less, room for what the relay stamps in); the server's frames
8 MiB, so that a ``welcome`` listing a full room fits; body and payloads 768 Ki characters; one
member's entry (alias, identity, certificate) 14 KiB as JSON; 500 members per room; 564 entries per
map (one per member of a full room, and 64), names of entries 64 characters; short strings 256
characters; message text 4 Ki characters (checked by clients before sealing: the server never
sees text).

For client writers
------------------
Drive a :class:`Connection` with ``Role.CLIENT``: it refuses (LocalProtocolError, nothing sent)
whatever the server would refuse, so a client never gets ``bad_field`` or ``bad_state`` back.
The relay drops a connection that sends no frame for ``idle_timeout`` (600 s by default): ping
when idle. It also expects a new connection to be in a room within 10 s and a frame once begun to
be complete within 30 s. It never waits for one slow client: a client with more than 8 MiB
waiting for it, or that takes none of it for 5 s, gets ``slow_reader`` (ahead of what waited,
which is dropped) and is disconnected; while half a room has more than 256 KiB waiting, the relay
reads that room's senders no further (TCP slows them) until it catches up. A payload for someone
who has just left comes back as ``unknown_member`` while the others are served: harmless, the
``member_left`` is on its way. A client frame may take ``max_client_frame`` bytes (the frame limit
less 2 KiB) and a body ``max_body`` characters: chunk files so that a sealed chunk, with its
payload per recipient in the direct suites, stays under both.

What the relay sees
-------------------
Aliases, room names, suites, public identities and certificates, who sends to whom, when, and
how much: metadata. Bodies and payloads are opaque to it; with the end-to-end layer they hold
ciphertext, MACs, signatures and wrapped keys only. Which of their fields are binary is the
end-to-end layer's to say (:mod:`chat.e2e.sealed`), not the protocol's: ``python -m chat server``
tells the console, so the relay decodes nothing it was not told is base64.
"""

from chat.protocol.connection import Connection
from chat.protocol.errors import ErrorCode, LocalProtocolError, ProtocolError, RemoteProtocolError
from chat.protocol.events import (
    CLIENT_FRAMES,
    KEX_NAMES,
    PROTOCOL_VERSION,
    SERVER_FRAMES,
    SUITE_NAMES,
    ClientFrame,
    ConnectionClosed,
    ErrorFrame,
    Frame,
    JoinFrame,
    KexName,
    KeyBundleFrame,
    LeaveFrame,
    LeftFrame,
    Member,
    MemberJoinedFrame,
    MemberLeftFrame,
    MessageFrame,
    PingFrame,
    PongFrame,
    RelayedKeyBundleFrame,
    RelayedMessageFrame,
    ServerFrame,
    ShutdownFrame,
    StrMap,
    SuiteName,
    WelcomeFrame,
)
from chat.protocol.framing import FrameBuffer, decode_payload, encode_frame
from chat.protocol.limits import DEFAULT_LIMITS, Limits
from chat.protocol.names import MAX_NAME_LENGTH, is_valid_name, name_key, name_problem
from chat.protocol.state import Role, State

__all__ = [
    "CLIENT_FRAMES",
    "DEFAULT_LIMITS",
    "KEX_NAMES",
    "MAX_NAME_LENGTH",
    "PROTOCOL_VERSION",
    "SERVER_FRAMES",
    "SUITE_NAMES",
    "ClientFrame",
    "Connection",
    "ConnectionClosed",
    "ErrorCode",
    "ErrorFrame",
    "Frame",
    "FrameBuffer",
    "JoinFrame",
    "KexName",
    "KeyBundleFrame",
    "LeaveFrame",
    "LeftFrame",
    "Limits",
    "LocalProtocolError",
    "Member",
    "MemberJoinedFrame",
    "MemberLeftFrame",
    "MessageFrame",
    "PingFrame",
    "PongFrame",
    "ProtocolError",
    "RelayedKeyBundleFrame",
    "RelayedMessageFrame",
    "RemoteProtocolError",
    "Role",
    "ServerFrame",
    "ShutdownFrame",
    "State",
    "StrMap",
    "SuiteName",
    "WelcomeFrame",
    "decode_payload",
    "encode_frame",
    "is_valid_name",
    "name_key",
    "name_problem",
]

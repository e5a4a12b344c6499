"""The chat protocol, sans-IO (after h11): frames, events, state machine and connection, no sockets.

Protocol version 2
==================

Framing
-------
Every frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON holding one
object with a ``type`` and the protocol version ``"v": 2``. Writers use the canonical encoding (no
spaces, ASCII only). Binary data travels as standard base64 with padding, decoded strictly
(:mod:`ciphers.strict_base64`: alphabet only, canonical). A length above ``max_frame`` is fatal (an ``error``
frame, then the connection is closed: the stream cannot be resynchronised); every other fault
concerns one frame, which the server answers with an ``error`` frame before reading on. A frame
whose ``v`` is not the integer 2 (a version 1 peer) is refused whole with ``bad_version``:
"protocol version must be 2, got 1".

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
           protocol), ``nonce`` (base64 of exactly 16 bytes: the *join nonce*, drawn at random
           by the client for this join alone), optional ``suite`` (:data:`SUITE_NAMES`) and
           ``kex`` (:data:`KEX_NAMES`) asked for a new room, optional ``certificate`` (opaque
           string), optional ``client`` (software name)
prove      ``signature`` (base64 of 1 to ``max_signature`` bytes): the answer to ``challenge``,
           the joiner's signature with its identity key over the challenge and its join (the
           bytes signed are the end-to-end layer's: :mod:`chat.e2e.admission`)
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
challenge     ``nonce`` (base64 of exactly 32 bytes, fresh from :mod:`secrets` for each join):
              the server's answer to a valid ``join``; the client answers with ``prove``
welcome       ``room`` (as first written), ``suite``, ``kex`` (the room's, whatever was asked),
              ``you`` (your alias), ``members``: the others, each a *member entry*
              ``{alias, identity, certificate?, nonce}`` (``nonce``: the join nonce that member
              sent, base64 of 16 bytes)
member_joined ``member``: the newcomer's member entry ``{alias, identity, certificate?, nonce}``
member_left   ``alias``, ``reason``: ``left``, ``disconnected``, or the error code that cut the
              member off (``slow_reader``, ``idle_timeout``, ``too_large``, ...)
left          ``room``: your ``leave`` is done; you may join again
message       ``from`` (stamped by the server from the connection; clients never choose it),
              ``body``, and ``payload`` (your entry) if the sender used payloads
key_bundle    ``from``, ``key_id``, ``body``, ``payload`` (your entry only)
error         ``code`` (below), ``message`` (one line for humans), ``fatal`` (the server closes
              the connection after it), optional ``ref`` (the type of the frame refused; ``join``
              for every refusal of a join, whether at the ``join`` or at its ``prove``)
shutdown      ``reason``: the server is stopping and closes the connection
pong          ``data`` of the ping
============= =================================================================================

Joining: the proof of possession
--------------------------------
Every join takes two round trips. The client sends ``join`` with a fresh join nonce; the server
answers ``challenge`` with 32 fresh random bytes; the client signs them together with its join
and answers ``prove``; the server asks its admission hook (a relay started by ``python -m chat
server`` checks the identity's bounds, the signature with the identity's RSA key and, under
``--ca``, the certificate) and answers ``welcome``, or ``error`` with ``unauthorized`` and the
reason. A ``prove`` that does not come within the server's deadline (10 s by default) gets the
same ``error``. Only then is the member seated, so a certificate copied from a ``welcome`` admits
nobody, and an alias is never held by a joiner that has not proved. The join nonce reaches the
other members in the newcomer's member entry: the end-to-end layer binds what it sends to one
join of the recipient with it (:mod:`chat.e2e.sealed`).

Error codes
-----------
``bad_frame`` (empty frame; connection ended mid-frame), ``too_large`` (frame above the limit:
fatal; a field above its limit), ``bad_json``, ``bad_version`` (``v`` is not 2), ``unknown_type``,
``bad_field`` (missing, unexpected or mistyped field; a binary field that is not canonical base64
or not of its size), ``bad_state`` (valid frame at the wrong moment), ``not_in_room`` (leave,
message or key_bundle before joining), ``bad_alias``, ``bad_room``, ``bad_suite``,
``alias_taken``, ``room_full``, ``unknown_member`` (a payload for nobody in the room: the others
are delivered), ``unauthorized`` (the admission hook refused the join: no proof within the
deadline, a bad proof, an identity out of bounds, no valid certificate), ``slow_reader``,
``idle_timeout``, ``server_full``, ``internal_error``.

States
------
``IDLE --join--> JOINING --challenge--> PROVING --prove--> PROVING --welcome--> IN_ROOM
--leave--> LEAVING --left--> IDLE``; ``JOINING --error--> IDLE`` and ``PROVING --error--> IDLE``
when a join is refused; ``shutdown`` or the end of the connection lead to ``CLOSED``. ``welcome``
comes only in PROVING: no room without a challenge. Messages and key bundles are allowed only
IN_ROOM; ``ping`` in every open state. The transitions are two tables in
:mod:`chat.protocol.state`, applied by both ends.

Limits (:class:`Limits`, defaults)
---------------------------------
frame 1 MiB (a client's frames 2 KiB less, room for what the relay stamps in); the server's frames
8 MiB, so that a ``welcome`` listing a full room fits; body and payloads 768 Ki characters; one
member's entry (alias, identity, certificate, nonce) 14 KiB as JSON; 500 members per room; 564
entries per map (one per member of a full room, and 64), names of entries 64 characters; short
strings 256 characters; message text 4 Ki characters (checked by clients before sealing: the
server never sees text). Fixed sizes: a join nonce 16 bytes (:data:`JOIN_NONCE_BYTES`), a
challenge 32 bytes (:data:`CHALLENGE_BYTES`); a proof's signature at most 512 bytes
(``max_signature``: RSA-4096).

For client writers
------------------
Drive a :class:`Connection` with ``Role.CLIENT``: it refuses (LocalProtocolError, nothing sent)
whatever the server would refuse, so a client never gets ``bad_field`` or ``bad_state`` back.
Draw a new join nonce for every join (after a reconnection too), answer the ``challenge`` at once,
and compare the ``welcome``'s suite and kex with those you asked for: the relay chooses them, and
a client that asked for one must refuse another (:class:`chat.client.errors.JoinError`,
``downgrade``). The relay drops a connection that sends no frame for ``idle_timeout`` (600 s by
default): ping when idle. It also expects a new connection to be in a room within 10 s, a
challenge to be answered within 10 s and a frame once begun to be complete within 30 s. It never
waits for one slow client: a client with more than 8 MiB waiting for it, or that takes none of it
for 5 s, gets ``slow_reader`` (ahead of what waited, which is dropped) and is disconnected; while
half a room has more than 256 KiB waiting, the relay reads that room's senders no further (TCP
slows them) until it catches up. A payload for someone who has just left comes back as
``unknown_member`` while the others are served: harmless, the ``member_left`` is on its way. A
client frame may take ``max_client_frame`` bytes (the frame limit less 2 KiB) and a body
``max_body`` characters: chunk files so that a sealed chunk, with its payload per recipient in the
direct suites, stays under both.

What the relay sees
-------------------
Aliases, room names, suites, public identities, certificates and join nonces, who sends to whom,
when, and how much: metadata. Bodies and payloads are opaque to it; with the end-to-end layer they hold
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
    ChallengeFrame,
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
    ProveFrame,
    RelayedKeyBundleFrame,
    RelayedMessageFrame,
    ServerFrame,
    ShutdownFrame,
    StrMap,
    SuiteName,
    WelcomeFrame,
)
from chat.protocol.framing import FrameBuffer, decode_payload, encode_frame
from chat.protocol.limits import CHALLENGE_BYTES, DEFAULT_LIMITS, JOIN_NONCE_BYTES, Limits
from chat.protocol.names import MAX_NAME_LENGTH, is_valid_name, name_key, name_problem
from chat.protocol.state import Role, State

__all__ = [
    "CHALLENGE_BYTES",
    "CLIENT_FRAMES",
    "DEFAULT_LIMITS",
    "JOIN_NONCE_BYTES",
    "KEX_NAMES",
    "MAX_NAME_LENGTH",
    "PROTOCOL_VERSION",
    "SERVER_FRAMES",
    "SUITE_NAMES",
    "ChallengeFrame",
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
    "ProveFrame",
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

"""The conversation's state machine: one table per sender, applied identically by both sides.

A connection is in one of six states. Frames the client sends move it by :data:`CLIENT_SENDS`,
frames the server sends by :data:`SERVER_SENDS`; each side applies both tables (one to what it
sends, the other to what it receives), so client and server always agree on the state. A pair
missing from its table is out of state: the sender's :class:`~chat.protocol.connection.Connection`
refuses it (LocalProtocolError) and the receiver's rejects it (RemoteProtocolError) with the code
:data:`REJECTIONS` gives, ``bad_state`` by default.

::

    IDLE --join--> JOINING --challenge--> PROVING --prove--> PROVING --welcome--> IN_ROOM
                   JOINING --error------> IDLE     PROVING --error--> IDLE
    IN_ROOM --leave--> LEAVING --left--> IDLE
    any state but CLOSED --shutdown--> CLOSED;  the connection ending --> CLOSED

Every join is challenged: ``welcome`` comes only in PROVING, so a client never enters a room
without proving possession of its identity key, and a server never seats one that did not.

The server never rests in JOINING or LEAVING: it answers ``join`` (``challenge`` or ``error``) and
``leave`` before it reads another frame. It rests in PROVING until the ``prove`` arrives, which
it answers at once (``welcome`` or ``error``), or until its deadline passes (``error``); any
``error`` it sends in PROVING ends the join, so a second ``prove`` meets IDLE or IN_ROOM and is
refused. Only the client waits in JOINING and LEAVING, and while it is LEAVING it still accepts
what the server relayed before it read the ``leave``.
"""

from __future__ import annotations

from enum import Enum

from chat.protocol.errors import ErrorCode


class Role(Enum):
    """Which end of the connection we are."""

    CLIENT = "client"
    SERVER = "server"

    @property
    def peer(self) -> Role:
        """The other end."""
        return Role.SERVER if self is Role.CLIENT else Role.CLIENT


class State(Enum):
    """Where the conversation is."""

    IDLE = "idle"  # connected, in no room
    JOINING = "joining"  # join sent, no challenge yet
    PROVING = "proving"  # challenge received: the proof is owed, then the verdict awaited
    IN_ROOM = "in_room"  # welcome received: member of one room
    LEAVING = "leaving"  # leave sent, no answer yet
    CLOSED = "closed"  # shutdown received or the connection ended

    # Members are singletons: identity hashing, in C, keeps table lookups cheap on the relay's path.
    __hash__ = object.__hash__


OPEN_STATES = (State.IDLE, State.JOINING, State.PROVING, State.IN_ROOM, State.LEAVING)

Transitions = dict[tuple[State, str], State]

CLIENT_SENDS: Transitions = {
    (State.IDLE, "join"): State.JOINING,
    (State.PROVING, "prove"): State.PROVING,
    (State.IN_ROOM, "leave"): State.LEAVING,
    (State.IN_ROOM, "message"): State.IN_ROOM,
    (State.IN_ROOM, "key_bundle"): State.IN_ROOM,
    **{(state, "ping"): state for state in OPEN_STATES},
}

SERVER_SENDS: Transitions = {
    (State.JOINING, "challenge"): State.PROVING,
    (State.JOINING, "error"): State.IDLE,
    (State.PROVING, "welcome"): State.IN_ROOM,
    (State.PROVING, "error"): State.IDLE,
    (State.LEAVING, "left"): State.IDLE,
    **{(state, "error"): state for state in (State.IDLE, State.IN_ROOM, State.LEAVING)},
    **{
        (state, kind): state
        for state in (State.IN_ROOM, State.LEAVING)
        for kind in ("member_joined", "member_left", "message", "key_bundle")
    },
    **{(state, "pong"): state for state in OPEN_STATES},
    **{(state, "shutdown"): State.CLOSED for state in OPEN_STATES},
}

TRANSITIONS: dict[Role, Transitions] = {Role.CLIENT: CLIENT_SENDS, Role.SERVER: SERVER_SENDS}

# The same tables by row: for each sender and state, frame type -> next state.
ROWS: dict[Role, dict[State, dict[str, State]]] = {
    role: {state: {kind: new for (old, kind), new in table.items() if old is state} for state in State}
    for role, table in TRANSITIONS.items()
}

# Out-of-state client frames that deserve a more telling code than bad_state.
REJECTIONS: dict[tuple[State, str], ErrorCode] = {
    (State.IDLE, "leave"): ErrorCode.NOT_IN_ROOM,
    (State.IDLE, "message"): ErrorCode.NOT_IN_ROOM,
    (State.IDLE, "key_bundle"): ErrorCode.NOT_IN_ROOM,
}


def next_state(sender: Role, state: State, frame_type: str) -> State | None:
    """The state after ``sender`` sends a ``frame_type`` frame in ``state``; None if out of state."""
    return TRANSITIONS[sender].get((state, frame_type))


def rejection(sender: Role, state: State, frame_type: str) -> tuple[ErrorCode, str]:
    """The code and message for a frame ``sender`` sent out of state."""
    code = ErrorCode.BAD_STATE
    if sender is Role.CLIENT:
        code = REJECTIONS.get((state, frame_type), code)
    if code is ErrorCode.NOT_IN_ROOM:
        return code, f"{frame_type}: join a room first"
    return code, f"{frame_type} is not allowed while {state.value}"

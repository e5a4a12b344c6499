"""How many bytes of a file go in one chunk: whole end-to-end blocks, in a frame the relay accepts.

A chunk is a data message (:data:`~chat.transfer.format.CHUNK`), sealed like any other, so its
size is bounded by the protocol's body limit once sealed. The hybrid suites seal once for the
whole room; the direct suites once per recipient, so their chunks shrink as the room may grow.
"""

from __future__ import annotations

import math

from chat.e2e.session import RoomSession
from chat.protocol.limits import Limits
from chat.protocol.names import MAX_NAME_LENGTH
from chat.transfer.format import CHUNK_HEADER

#: Bytes of file per chunk for 3des/des. Small, because the sender encrypts a batch of chunks side
#: by side (:mod:`chat.transfer.outgoing`), one bit-slice lane each: at a given number of bytes in
#: flight, smaller chunks make more lanes (faster encryption) but more messages (a signature, a
#: MAC and a key each). ``python -m bench chat`` measured 8 KiB with batches of 256 as fast as
#: 16 KiB with the same batches, at half the bytes in flight.
HYBRID_CHUNK = 8 * 1024
DIRECT_CHUNK = 32 * 1024  # the most a direct-suite chunk holds
#: Bytes of a hybrid chunk's frame besides its base64 ciphertext: the body's other fields (the
#: signature is 344 characters with RSA-2048, 684 with ElGamal in ffdhe2048; view changes) and the
#: frame's JSON. Measured: 543 and 887 characters of other fields for a chunk of 8 KiB.
HYBRID_FRAME_FIXED = 2048
# --- chunk sizes --------------------------------------------------------------------------------

DIRECT_FIXED = 2048  # characters of a direct message's body besides its per-recipient parts
DIRECT_PER_RECIPIENT = 2 * MAX_NAME_LENGTH + 72  # payload key + manifest entry "alias:<64 hex>,"


def base64_length(size: int) -> int:
    """Characters of standard base64 (with padding) for ``size`` bytes."""
    return 4 * math.ceil(size / 3)


def hybrid_frame_bytes(chunk_size: int) -> int:
    """An estimate, from above unless a view change lists many members, of the bytes of the frame
    carrying one hybrid chunk of ``chunk_size`` bytes of file (CBC pads to the next whole block)."""
    sealed = 8 * ((chunk_size + CHUNK_HEADER) // 8 + 1)
    return base64_length(sealed) + HYBRID_FRAME_FIXED


def direct_body_estimate(size: int, recipients: int, blocks: list[tuple[int, int]]) -> int:
    """An upper bound on the characters a direct-suite message of ``size`` bytes puts in a frame.

    ``blocks`` holds (plaintext, ciphertext) bytes per public-key block of each key it may be
    encrypted to (RSA-OAEP: 190/256 for RSA-2048; ElGamal: 255/512 in ffdhe2048); the worst is used.
    What is counted mirrors the protocol's body check: each recipient's alias and base64
    ciphertext, and the signed manifest naming each recipient with a digest.
    """
    ciphertext = max(-(-max(size, 1) // plain) * cipher for plain, cipher in blocks)
    return DIRECT_FIXED + recipients * (DIRECT_PER_RECIPIENT + base64_length(ciphertext))


def chunk_size_for(
    hybrid: bool, recipients: int, max_body: int, blocks: list[tuple[int, int]] | None = None
) -> int:
    """Bytes of file per chunk for a room: whole E2E blocks, and a frame that fits the body limit.

    The hybrid suites carry one ciphertext for the whole room, so :data:`HYBRID_CHUNK` fits any
    room. The direct suites carry one per recipient: the chunk is sized for ``recipients`` (the
    caller passes the most the room may hold, so members who join mid-transfer still fit), at
    most :data:`DIRECT_CHUNK`.
    """
    if hybrid:
        return HYBRID_CHUNK
    if not blocks:
        raise ValueError("the direct suites need the public-key block sizes")
    recipients = max(recipients, 1)
    budget = (max_body - DIRECT_FIXED) // recipients - DIRECT_PER_RECIPIENT
    ciphertext = 3 * (budget // 4)  # the most ciphertext whose base64 fits the budget
    size = min((ciphertext // cipher) * plain for plain, cipher in blocks) - CHUNK_HEADER
    if size < 1:
        raise ValueError(f"a room of {recipients + 1} members leaves no room for file chunks")
    return min(size, DIRECT_CHUNK)


def room_chunk_size(session: RoomSession, limits: Limits) -> int:
    """Chunk bytes for the room's suite, sized for the fullest room ``limits`` allow.

    The room's family gives the block sizes of a direct suite for each member's keys (and ours).
    """
    if session.suite.hybrid:
        return chunk_size_for(True, 0, 0)
    identities = [session.identity.public] + [m.identity for m in session.members if m.identity]
    blocks = [session.family.block_sizes(identity) for identity in identities]
    recipients = max(limits.max_members - 1, len(identities) - 1)
    return chunk_size_for(False, recipients, limits.max_body, blocks)


__all__ = [
    "DIRECT_CHUNK",
    "HYBRID_CHUNK",
    "base64_length",
    "chunk_size_for",
    "direct_body_estimate",
    "room_chunk_size",
]

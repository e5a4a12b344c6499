"""Every size limit of the protocol in one place, with defaults both sides share.

The frame limit bounds what the relay buffers for each connection. Whatever the server builds
from valid input must fit in a frame too: a client's frame may use the frame limit less
:data:`FRAME_OVERHEAD`, which leaves room for the ``from`` the relay stamps in. The one frame that
grows with the room is ``welcome``, which lists every member: the server may send frames up to
``max_server_frame``, chosen so that a ``welcome`` listing a full room of entries at their limit
fits; :class:`Limits` checks this. Maps of strings may hold one entry per member of a full room
(a key bundle's or a view's list of recipients) and :data:`FIXED_FIELDS` more.

The defaults are sized for a lecture hall: 500 members per room, each member's entry (alias, an
RSA-4096 identity with an ElGamal key in the largest group, a certificate: 6.8 KB as measured)
up to 14 KiB, so a full room's ``welcome`` takes at most 7 MiB.
"""

from __future__ import annotations

from dataclasses import dataclass

KiB = 1024
MiB = 1024 * KiB

# What a frame needs beyond its variable fields (type, v, room, suite, from, key_id, ...).
FRAME_OVERHEAD = 2 * KiB
# The least room a member's entry may get: an RSA-2048 PEM, an ElGamal key and a certificate.
MIN_MEMBER = 4 * KiB
# Fixed sizes of the protocol's own binary fields (base64 on the wire).
JOIN_NONCE_BYTES = 16  # a join nonce, drawn by the joiner for each join
CHALLENGE_BYTES = 32  # a challenge, drawn by the server for each join
# Entries a map may hold besides one per member: the sender's own fields (iv, ct, sig, ...).
FIXED_FIELDS = 64


@dataclass(frozen=True)
class Limits:
    """Sizes in bytes of encoded JSON, or in characters where the field says so."""

    max_frame: int = 1 * MiB  # bytes of JSON after the 4-byte length; larger is fatal
    max_server_frame: int = 8 * MiB  # the same for what the server sends: a welcome listing a full room
    max_body: int = 768 * KiB  # characters of an opaque body and its payloads (names and values)
    max_member: int = 14 * KiB  # bytes of one member's JSON entry (alias, identity, certificate)
    max_members: int = 500  # members per room
    max_fields: int = 500 + FIXED_FIELDS  # entries in one opaque string map (a body, a payload, an identity)
    max_field_name: int = 64  # characters of a key in an opaque string map
    max_short: int = 256  # characters of short strings: key ids, reasons, client names, ping data
    max_message: int = 1 * KiB  # characters of an error frame's human message
    max_text: int = 4 * KiB  # characters of a chat message's plaintext: enforced by clients, which seal it
    max_signature: int = 512  # bytes of a prove frame's signature: RSA-4096, the largest identity key

    @property
    def max_client_frame(self) -> int:
        """The largest frame a client may send: room is left for what the relay adds."""
        return self.max_frame - FRAME_OVERHEAD

    @property
    def max_welcome(self) -> int:
        """The largest ``welcome`` a full room may need: its members' entries at their limit."""
        return self.max_members * (self.max_member + 1) + FRAME_OVERHEAD

    @classmethod
    def for_members(cls, max_members: int) -> Limits:
        """The default limits for rooms of ``max_members``, shrinking ``max_member`` to fit if needed.

        Raises ValueError when a member entry would get less than :data:`MIN_MEMBER` bytes.
        """
        default = cls()
        room_for_each = (default.max_server_frame - FRAME_OVERHEAD) // max(max_members, 1) - 1
        max_member = min(default.max_member, room_for_each)
        if max_members < 1 or max_member < MIN_MEMBER:
            most = (default.max_server_frame - FRAME_OVERHEAD) // (MIN_MEMBER + 1)
            raise ValueError(f"members per room must be 1 to {most}, got {max_members}")
        max_fields = max(default.max_fields, max_members + FIXED_FIELDS)
        return cls(max_members=max_members, max_member=max_member, max_fields=max_fields)

    def __post_init__(self) -> None:
        if min(self.max_frame, self.max_body, self.max_member, self.max_members, self.max_fields) < 1:
            raise ValueError("every limit must be positive")
        if self.max_server_frame < self.max_frame:
            raise ValueError("the server's frame limit must not be below the frame limit")
        if self.max_welcome > self.max_server_frame:
            raise ValueError("a welcome listing a full room would not fit in one frame")
        if self.max_body + FRAME_OVERHEAD > self.max_frame:
            raise ValueError("a body at its limit would not fit in one frame")


DEFAULT_LIMITS = Limits()

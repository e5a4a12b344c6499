"""Bytes <-> elements of the quadratic-residue subgroup, the message space of ElGamal encryption.

Two bijections, composed:

1. bytes -> an integer m in [1, q]: m = OS2IP(0x01 || data). The 0x01 marker keeps leading zero
   bytes (and the empty string, m = 1). It fits when 8 * len(data) + 1 <= bits(q) - 1, so the
   longest message is ``max_message_length(group)`` = (bits(q) - 2) // 8 bytes: 255 for a 2048-bit
   group, 95 for modp768.
2. m in [1, q] -> the element m if m is a quadratic residue, else p - m.

Why (2) is a bijection onto the subgroup: a safe prime p = 2q + 1 (q odd) is ≡ 3 (mod 4), so -1 is a
non-residue and ((p - m)/p) = -(m/p). Exactly one of m and p - m is a residue; m <= q < p - m, so
the element determines m (m = e if e <= q, else p - e); [1, q] and the residues both have q members.
"""

from __future__ import annotations

from ciphers.elgamal.groups import Group
from ciphers.errors import MessageTooLongError
from ciphers.numtheory import legendre

MARKER = 0x01


def max_message_length(group: Group) -> int:
    """The longest byte string one element can carry: (bits(q) - 2) // 8."""
    return (group.q.bit_length() - 2) // 8


def int_to_element(group: Group, m: int) -> int:
    """Map m in [1, q] into the subgroup: m if it is a quadratic residue, else p - m."""
    if not 1 <= m <= group.q:
        raise ValueError("the integer to encode must be in [1, q]")
    return m if legendre(m, group.p) == 1 else group.p - m


def element_to_int(group: Group, element: int) -> int:
    """The inverse of :func:`int_to_element`; ``ValueError`` if ``element`` is not in the subgroup."""
    if not group.contains(element):
        raise ValueError("not an element of the subgroup")
    return element if element <= group.q else group.p - element


def bytes_to_element(group: Group, data: bytes) -> int:
    """Encode up to ``max_message_length(group)`` bytes as a subgroup element."""
    limit = max_message_length(group)
    if len(data) > limit:
        raise MessageTooLongError(f"message too long: {len(data)} bytes, this group carries at most {limit}")
    return int_to_element(group, int.from_bytes(bytes([MARKER]) + data, "big"))


def element_to_bytes(group: Group, element: int) -> bytes:
    """Decode an element made by :func:`bytes_to_element`; ``ValueError`` if it is not one."""
    m = element_to_int(group, element)
    length, marker_bits = divmod(m.bit_length() - 1, 8)
    if marker_bits != 0 or length > max_message_length(group):
        raise ValueError("element does not encode a byte string")
    return (m - (MARKER << (8 * length))).to_bytes(length, "big")

"""The end-to-end formats of protocol v2, byte by byte: what is signed, MACed and ratcheted.

The protocol carries the opaque ``body`` (one for the whole room) and ``payload`` (one per
recipient) maps of ``message`` and ``key_bundle`` frames; this module says what they hold
(:mod:`chat.e2e.bodies` reads them) and builds the bytes that are MACed, signed, hashed and used as
OAEP labels. Notation:

* ``LP(a, b, ...)`` is :func:`ciphers.envelope.length_prefixed`: each field as a 4-byte big-endian
  length, then its bytes, so no two field lists encode alike.
* ``u64(n)`` is n as 8 bytes big-endian; ``fold(name)`` is the protocol's case-folded name
  (:func:`chat.protocol.names.name_key`) in UTF-8: names are compared, MACed and signed folded.
* ``DOMAIN`` is ``b"cipherchat-e2e-v2"`` (v1 signed ``cipherchat-e2e-v1``: no v1 signature passes
  for v2). ``suite`` and ``kex`` are the room's wire names (``3des``, ``rsa``, ...) in ASCII.
* A *join nonce* is 16 random bytes a member draws for each join; ``N(x)`` is member x's current one.
  ``FP(x)`` is the 32-byte SHA-256 fingerprint of x's identity (:mod:`chat.e2e.identity`).
* Binary body fields (:data:`BINARY_FIELDS`) are canonical standard base64; in the text fields,
  hex is lower case, numbers are canonical decimals (no sign, no leading zero, below 2^63),
  aliases folded, lists comma-separated and sorted by folded alias. A list of members holds at
  most as many entries as a room holds members (the protocol's ``max_members``, 64), a list of
  changes twice that; longer ones are refused before anything is computed.

Views. A sender's *view* is the set of members its messages are for (the members its current chain
was handed to; in a direct suite, those it encrypts to): entries (fold(alias), FP, N), never itself.
``epoch`` counts the changes of the view during the sender's join (u64, from 0). Its digest::

    view_digest = SHA-256(LP(DOMAIN, "view", LP(fold(a1), FP(a1), N(a1)), LP(fold(a2), ...), ...))

A *change* says where one member stands after the changes since the sender's previous message:
``+alias:FP:N`` (in the view: it joined, or became eligible), ``-alias:FP:N`` (that member left the
room, as the sender saw it), ``~alias:FP:N`` (withheld: present, no longer sent to). At most one
removal then one ``+`` per alias, sorted by alias; applying them to the sender's previous view gives
its current one. In signed bytes: ``changes = LP(LP(op, fold(alias), FP, N), ...)`` (empty: ``b""``).

Sender chains (the hybrid suites ``3des`` and ``des``; the Megolm idea). A chain has the key id
``alias/generation`` (generation from 1, one new chain per leave, inferred departure or member
becoming ineligible) and a 32-byte chain key CK_0 drawn from :mod:`ciphers.rng`. Message i::

    MK_i     = HMAC-SHA256(CK_i, 0x01)
    CK_{i+1} = HMAC-SHA256(CK_i, 0x02)                     # the sender then forgets CK_i
    cipher_key || mac_key = HKDF-Expand(PRK = MK_i,          # RFC 5869 §2.3
                                        info = LP("cipherchat-e2e-v2 message keys", suite),
                                        L = key_size + 32)

An index whose cipher key the suite calls weak (FIPS 74, SP 800-67) is skipped by the sender.

Hybrid message, one body for the whole room::

    body = {suite, kex, nonce, kid, idx, type, epoch, view, changes, iv, ct, mac, sig}
    header = LP(DOMAIN, "message", suite, kex, fold(room), fold(sender), N(sender), kid, u64(idx),
                type, u64(epoch), view)                      # view: the 32-byte view_digest
    ct  = the suite's mode (CBC, PKCS#7) under cipher_key and a fresh 8-byte iv
    mac = HMAC-SHA256(mac_key, LP(header, iv, ct))           # ciphers.envelope, checked first
    sig = Sign(sender's identity key, LP("signed", header, iv, ct, mac, changes))

Key bundle (``key_id`` is a frame field), handing over the chain at the sender's current index:
the 32-byte CK_idx, never an earlier chain key, so its recipient cannot open earlier messages::

    body = {suite, kex, nonce, idx, why, epoch, members, changes, to, sig};  payload_r = {wrapped}
    header = LP(DOMAIN, "key-bundle", suite, kex, fold(room), fold(sender), N(sender), key_id,
                u64(idx), why, u64(epoch), view_digest(members))
    wrapped_r = Wrap(r's identity key, CK_idx; OAEP label = LP(header, "to", fold(r), N(r)))
    members = "a1:<hex FP>:<hex N>,..."      the sender's full view (sorted)
    to      = "r1:<hex N(r1)>:<hex SHA-256(wrapped_r1)>,..."        (sorted)
    sig = Sign(LP("signed", header, LP(fold(r1), N(r1), SHA-256(wrapped_r1), fold(r2), ...), changes))

``why`` is ``start``, ``join``, ``leave``, ``eligible``, ``ineligible`` or ``departed``.

Direct message (``rsa``, ``elgamal``), one payload ``{ct}`` per recipient::

    body = {suite, kex, nonce, kid = "<alias>/0", ctr, type, epoch, changes, to, sig}
    header = LP(DOMAIN, "direct-message", suite, kex, fold(room), fold(sender), N(sender), kid,
                u64(ctr), type, u64(epoch))
    ct_r = Encrypt(r's identity key, data; OAEP label = LP(header, "to", fold(r), N(r)))
    to   = "r1:<hex FP(r1)>:<hex N(r1)>:<hex SHA-256(ct_r1)>,..."    the view, with digests (sorted)
    sig  = Sign(LP("signed", header, LP(fold(r1), FP(r1), N(r1), SHA-256(ct_r1), ...), changes))

``Sign`` is RSASSA-PSS with SHA-256 for the ``rsa`` family, DSA-form signatures in the ElGamal
group's prime-order subgroup for ``elgamal`` (:mod:`chat.e2e.families`). ``Wrap`` is RSAES-OAEP
with SHA-256, or the ElGamal KEM (whose payload digest, under the signature, binds the label's
fields instead).

Why each field: the domain tag and the frame kind keep one kind of signature from passing for
another; ``suite`` and ``kex`` make a frame from a room of other parameters fail, and travel in
clear so the receiver can name it (``suite_mismatch``) rather than report a bad signature; the
room and sender names stop cross-room and relabelled replays; the sender's join nonce ties a frame
to one join of the sender, the recipient's to one join of the recipient (a bundle or direct
message replayed after either rejoins is refused); the index and the chain stop in-session replay;
epoch, view and changes let each receiver check, within one message, whom the sender is sending to.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from chat.protocol.limits import JOIN_NONCE_BYTES
from chat.protocol.names import is_valid_name, name_key
from ciphers.envelope import Sealed, length_prefixed

DOMAIN = b"cipherchat-e2e-v2"
SIGNED = b"signed"
KEY_INFO = b"cipherchat-e2e-v2 message keys"
NONCE_SIZE = JOIN_NONCE_BYTES  # the protocol's join nonce (chat.protocol.limits)
CHAIN_KEY_SIZE = 32
FINGERPRINT_SIZE = 32
DIGEST_SIZE = 32
MAX_NUMBER = (1 << 63) - 1
WHY = ("start", "join", "leave", "eligible", "ineligible", "departed")
JOINED, LEFT, WITHHELD = "+", "-", "~"
CHANGE_OPS = (JOINED, LEFT, WITHHELD)
CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9._/-]{0,31}")
TEXT = "text"  # the content type of a chat message: UTF-8 text
BINARY_FIELDS = frozenset({"nonce", "view", "iv", "ct", "mac", "sig", "wrapped"})
"""The body and payload fields that hold base64; all the others are text."""


class Entry(NamedTuple):
    """One member in a view: folded alias, identity fingerprint, join nonce."""

    alias: str
    fingerprint: bytes
    nonce: bytes


class Change(NamedTuple):
    """Where one member of a view stands now: ``op`` is ``+`` (in), ``-`` (left) or ``~`` (withheld)."""

    op: str
    alias: str
    fingerprint: bytes
    nonce: bytes

    @property
    def entry(self) -> Entry:
        """The member this change is about."""
        return Entry(self.alias, self.fingerprint, self.nonce)


def make_key_id(alias: str, generation: int) -> str:
    """``alias/generation``."""
    return f"{alias}/{generation}"


def owner_and_generation(key_id: str) -> tuple[str, str] | None:
    """The two halves of ``alias/number``, or None if ``key_id`` is not of that shape."""
    owner, slash, number = key_id.rpartition("/")
    if not slash or not is_valid_name(owner):
        return None
    return owner, number


def fold(name: str) -> bytes:
    """A name as signed bytes: folded, UTF-8."""
    return name_key(name).encode("utf-8")


def u64(value: int) -> bytes:
    """8 bytes, big-endian."""
    return value.to_bytes(8, "big")


# --- headers: what the MAC and the signatures cover besides the ciphertext -----------------------


def message_header(
    suite: str,
    kex: str,
    room: str,
    sender: str,
    sender_nonce: bytes,
    key_id: str,
    index: int,
    content_type: str,
    epoch: int,
    view: bytes,
) -> bytes:
    """The header of a hybrid message (``view`` is the sender's view digest)."""
    return length_prefixed(
        DOMAIN,
        b"message",
        suite.encode(),
        kex.encode(),
        fold(room),
        fold(sender),
        sender_nonce,
        key_id.encode(),
        u64(index),
        content_type.encode(),
        u64(epoch),
        view,
    )


def bundle_header(
    suite: str,
    kex: str,
    room: str,
    sender: str,
    sender_nonce: bytes,
    key_id: str,
    index: int,
    why: str,
    epoch: int,
    view: bytes,
) -> bytes:
    """The header of a key bundle (``index``: where the chain it hands over stands)."""
    return length_prefixed(
        DOMAIN,
        b"key-bundle",
        suite.encode(),
        kex.encode(),
        fold(room),
        fold(sender),
        sender_nonce,
        key_id.encode(),
        u64(index),
        why.encode(),
        u64(epoch),
        view,
    )


def direct_header(
    suite: str,
    kex: str,
    room: str,
    sender: str,
    sender_nonce: bytes,
    key_id: str,
    counter: int,
    content_type: str,
    epoch: int,
) -> bytes:
    """The header of a direct message."""
    return length_prefixed(
        DOMAIN,
        b"direct-message",
        suite.encode(),
        kex.encode(),
        fold(room),
        fold(sender),
        sender_nonce,
        key_id.encode(),
        u64(counter),
        content_type.encode(),
        u64(epoch),
    )


def recipient_context(header: bytes, recipient: str, nonce: bytes) -> bytes:
    """The header bound to one join of one recipient: the OAEP label of what is encrypted to it."""
    return length_prefixed(header, b"to", fold(recipient), nonce)


# --- what signatures cover ------------------------------------------------------------------------


def signed(header: bytes, *parts: bytes) -> bytes:
    """The bytes a signature covers: the tag ``signed``, the header, then the parts."""
    return length_prefixed(SIGNED, header, *parts)


def signed_message(header: bytes, box: Sealed, changes: Iterable[Change]) -> bytes:
    """What a hybrid message's signature covers: header, IV, ciphertext, MAC and the changes."""
    return signed(header, box.iv, box.ciphertext, box.tag, changes_bytes(changes))


def signed_manifest(header: bytes, rows: Mapping[str, tuple[bytes, ...]], changes: Iterable[Change]) -> bytes:
    """What a key bundle's or a direct message's signature covers: header, manifest and changes."""
    return signed(header, manifest_bytes(rows), changes_bytes(changes))


def manifest_bytes(rows: Mapping[str, tuple[bytes, ...]]) -> bytes:
    """Each recipient's folded alias then its fields (nonce, digest; or FP, nonce, digest), sorted."""
    parts: list[bytes] = []
    for alias in sorted(rows):
        parts += [alias.encode("utf-8"), *rows[alias]]
    return length_prefixed(*parts)


def changes_bytes(changes: Iterable[Change]) -> bytes:
    """``LP(LP(op, fold(alias), FP, N), ...)``: the changes as signed."""
    return length_prefixed(
        *(length_prefixed(c.op.encode(), c.alias.encode("utf-8"), c.fingerprint, c.nonce) for c in changes)
    )


def view_digest(entries: Iterable[Entry]) -> bytes:
    """SHA-256 of the view's entries, sorted by folded alias, under the domain tag."""
    rows = sorted(entries)
    encoded = [length_prefixed(e.alias.encode("utf-8"), e.fingerprint, e.nonce) for e in rows]
    return hashlib.sha256(length_prefixed(DOMAIN, b"view", *encoded)).digest()

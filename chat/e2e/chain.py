"""Sender chains: a one-way hash ratchet per sender, the idea of Matrix's Megolm, written here.

A chain key CK_i gives the key of message i and the next chain key (:mod:`chat.e2e.sealed`)::

    MK_i = HMAC-SHA256(CK_i, 0x01)        CK_{i+1} = HMAC-SHA256(CK_i, 0x02)

and HKDF-Expand (RFC 5869 §2.3) turns MK_i into the cipher and MAC keys. HMAC being one-way, CK_i
yields every later key and no earlier one: a sender that forgets CK_i once it has CK_{i+1}, and
hands a newcomer the chain at its current index, gives forward secrecy inside the chain; a thief of
the current chain key reads what comes next, never what came before (post-compromise security is
out of scope: only a new chain, on a leave, ends what a thief can read).

A receiver keeps the chain key at the next index it expects. A message ahead of it advances the
chain (at most :data:`MAX_SKIP` steps, so one frame costs a bounded time), keeping the keys of the
messages it skipped (at most :data:`MAX_SKIPPED`, for reordering); every message key is deleted
once used, and an index below the chain, or already used, is refused. Advancing is computed first
and committed only once the message authenticated (:meth:`ReceivingChain.commit`), so a forged
index cannot move the chain.
"""

from __future__ import annotations

import hmac
from collections import OrderedDict
from dataclasses import dataclass, field

from chat.e2e.sealed import KEY_INFO
from ciphers.elgamal import hkdf
from ciphers.envelope import MAC_KEY_SIZE, length_prefixed

MAX_SKIP = 100_000
"""How far ahead of its chain a received index may be: 100 000 HMACs, a fraction of a second."""
MAX_SKIPPED = 32
"""Message keys kept for messages that were skipped (reordered or dropped), oldest dropped first."""
MESSAGE_KEY = b"\x01"
NEXT_CHAIN_KEY = b"\x02"


def message_key(chain_key: bytes) -> bytes:
    """MK_i = HMAC-SHA256(CK_i, 0x01)."""
    return hmac.digest(chain_key, MESSAGE_KEY, "sha256")


def next_chain_key(chain_key: bytes) -> bytes:
    """CK_{i+1} = HMAC-SHA256(CK_i, 0x02)."""
    return hmac.digest(chain_key, NEXT_CHAIN_KEY, "sha256")


def message_keys(message_key: bytes, suite: str, key_size: int) -> tuple[bytes, bytes]:
    """(cipher key, MAC key) = HKDF-Expand(MK_i, LP(KEY_INFO, suite), key_size + 32), split."""
    okm = hkdf.expand(message_key, length_prefixed(KEY_INFO, suite.encode()), key_size + MAC_KEY_SIZE)
    return okm[:key_size], okm[key_size:]


@dataclass
class SendingChain:
    """Our chain: its key id and generation, and the chain key of the next message to send."""

    key_id: str
    generation: int
    chain_key: bytes
    index: int = 0

    def advance(self) -> tuple[int, bytes]:
        """The index and key of the next message; the chain key moves on and the old one is gone."""
        index, key = self.index, message_key(self.chain_key)
        self.chain_key = next_chain_key(self.chain_key)
        self.index += 1
        return index, key


@dataclass(frozen=True)
class Step:
    """What opening message ``index`` would do to a receiving chain, once it authenticates."""

    index: int
    message_key: bytes
    chain_key: bytes | None = None  # the chain key after the message (None: a skipped key)
    skipped: tuple[tuple[int, bytes], ...] = ()  # the keys of the indices jumped over, to keep


@dataclass(frozen=True)
class NoKey:
    """Why a receiving chain holds no key for an index: ``replay`` when it was used (or is too old),
    ``earlier`` when it precedes the index the chain was handed to us at (the sender sealed it
    before we were given the chain: it was not for us)."""

    replay: bool
    detail: str
    earlier: bool = False


@dataclass
class ReceivingChain:
    """A member's chain as we hold it: the chain key at ``next``, from ``start`` (the handed-over index)."""

    key_id: str
    generation: int
    chain_key: bytes
    next: int
    start: int
    skipped: OrderedDict[int, bytes] = field(default_factory=OrderedDict)

    def step(self, index: int) -> Step | NoKey:
        """The step that opens message ``index``, or why there is none."""
        if index in self.skipped:
            return Step(index, self.skipped[index])
        if index < self.start:
            where = f"where {self.key_id} was handed to us"
            return NoKey(False, f"index {index} precedes {self.start}, {where}", earlier=True)
        if index < self.next:
            return NoKey(
                True, f"index {index} under {self.key_id} already used or too old (next {self.next})"
            )
        if index - self.next > MAX_SKIP:
            return NoKey(
                False, f"index {index} is more than {MAX_SKIP} ahead of {self.key_id} (next {self.next})"
            )
        chain_key, kept = self.chain_key, []
        for i in range(self.next, index):
            if index - i <= MAX_SKIPPED:
                kept.append((i, message_key(chain_key)))
            chain_key = next_chain_key(chain_key)
        return Step(index, message_key(chain_key), next_chain_key(chain_key), tuple(kept))

    def commit(self, step: Step) -> None:
        """Message ``step.index`` authenticated: delete its key, move the chain, keep what it skipped."""
        if step.chain_key is None:
            del self.skipped[step.index]
            return
        self.chain_key, self.next = step.chain_key, step.index + 1
        for index, key in step.skipped:
            self.skipped[index] = key
        while len(self.skipped) > MAX_SKIPPED:
            self.skipped.popitem(last=False)

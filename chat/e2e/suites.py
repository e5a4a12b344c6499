"""The cipher suites of the chat, one object each, and the one registry of suites and key exchanges.

A room has a suite and a key exchange (kex); the protocol owns their wire names
(:data:`~chat.protocol.events.SUITE_NAMES`, :data:`~chat.protocol.events.KEX_NAMES`) and this
module says what each name does (:data:`SUITES`, :data:`KEXES`). Everything else asks here:

* ``3des`` / ``des`` are hybrid (:class:`HybridSuite`): each sender keeps a chain (a hash ratchet,
  :mod:`chat.e2e.chain`) whose every message has its own cipher key and 32-byte MAC key (the
  sender skips a message key its cipher calls weak), wraps the chain key for each member with its
  kex (RSA-OAEP or the ElGamal KEM, :mod:`chat.e2e.families`), and seals messages in CBC under a
  fresh IV then HMAC-SHA256 (:mod:`ciphers.envelope`). The suite carries its block cipher and its
  mode.
* ``rsa`` / ``elgamal`` are direct (:class:`DirectSuite`): each message is encrypted to each
  recipient's identity key, RSA-OAEP or textbook ElGamal in chunks. They exist to show why real
  systems are hybrid: the cost and the size grow with the text times the members. The kex does not
  apply to them.

Signatures follow the public-key family of the room (:meth:`HybridSuite.family`): the kex for the
hybrid suites, the suite's own family for the direct ones. Every client holds both identity keys,
so any room works for anyone.

Labels: ``des`` (56-bit key, searched exhaustively since 1998) and the direct suites (textbook
ElGamal is malleable, chunks can be reordered, no forward secrecy at all) are marked insecure;
``3des`` is legacy (64-bit block, 112-bit security) but the strongest the toolkit offers.

Adding a suite is its wire name in :mod:`chat.protocol.events` and one entry in :data:`SUITES`
(a block cipher and a mode from :mod:`ciphers`); adding a kex is its wire name, one
:class:`~chat.e2e.families.Family` and one entry in :data:`KEXES`. An unknown name is a
ValueError naming the choices, never a default.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from chat.e2e.families import ELGAMAL, RSA, Family
from chat.protocol.events import KEX_NAMES, SUITE_NAMES, KexName, SuiteName
from ciphers import des
from ciphers.blockcipher import BlockCipher
from ciphers.des_fast import FastDES
from ciphers.envelope import CBC, Mode, Sealed, seal, seal_many_job, unseal
from ciphers.errors import InsecureWarning
from ciphers.jobs import Job
from ciphers.rng import RNG
from ciphers.tdes import TripleDES, split_key, tdes_key_warnings

DEFAULT_SUITE: SuiteName = "3des"
DEFAULT_KEX: KexName = "rsa"

RoundTrace = Callable[[bytes, bytes, bool], list[des.DESTrace]]


@dataclass(frozen=True)
class Cipher:
    """A block cipher as a suite uses it: key size, how to key it, its weak keys, its rounds traced."""

    name: str
    key_size: int
    new: Callable[[bytes], BlockCipher]
    key_warnings: Callable[[bytes], list[str]]
    rounds: RoundTrace  # (key, block, decrypt) -> the DES passes the block goes through


def _des_rounds(key: bytes, block: bytes, decrypt: bool) -> list[des.DESTrace]:
    return [des.trace_block(key, block, decrypt=decrypt)]


def _tdes_rounds(key: bytes, block: bytes, decrypt: bool) -> list[des.DESTrace]:
    """E_K3(D_K2(E_K1(block))), or D_K1(E_K2(D_K3(block))) to decrypt: three DES traces (SP 800-67 §3.1)."""
    k1, k2, k3 = split_key(key)
    passes = ((k3, True), (k2, False), (k1, True)) if decrypt else ((k1, False), (k2, True), (k3, False))
    traces = []
    for part, backwards in passes:
        step = des.trace_block(part, block, decrypt=backwards)
        traces.append(step)
        block = step.output
    return traces


DES = Cipher("DES", 8, FastDES, des.key_warnings, _des_rounds)
TDES = Cipher("3DES", 24, TripleDES, tdes_key_warnings, _tdes_rounds)


@dataclass(frozen=True)
class HybridSuite:
    """Session keys for a block cipher in a mode, encrypt-then-MAC, keys wrapped by the room's kex."""

    name: str
    cipher: Cipher
    mode: Mode
    note: str  # one line for the user
    insecure: bool

    hybrid: ClassVar[bool] = True

    @property
    def label(self) -> str:
        """What a badge or a header shows: cipher, mode and MAC."""
        return f"{self.cipher.name}-{self.mode.name} + HMAC-SHA256{' (insecure)' if self.insecure else ''}"

    @property
    def key_size(self) -> int:
        """Cipher key bytes of a session key (the MAC key comes on top)."""
        return self.cipher.key_size

    def family(self, kex_name: str) -> Family:
        """The public-key family that wraps keys and signs in a room with ``kex_name``: the kex itself."""
        return kex(kex_name)

    def kexes(self) -> tuple[Family, ...]:
        """The key exchanges a room of this suite can have: all of them."""
        return tuple(KEXES.values())

    def describe(self, kex_name: str) -> str:
        """A one-line description of what a room with this suite and kex does."""
        family = self.family(kex_name)
        return f"{self.label}; session keys wrapped with {family.wrapping}; {family.signature} signatures"

    def key_is_weak(self, key: bytes) -> bool:
        """Whether the cipher calls ``key`` weak (FIPS 74's weak DES keys; K1 = K2 or K2 = K3 for 3DES)."""
        return bool(self.cipher.key_warnings(key))

    def new_cipher(self, key: bytes) -> BlockCipher:
        """The block cipher keyed with ``key`` (a member's weak key is its own loss: no warning here)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureWarning)
            return self.cipher.new(key)

    def seal(self, cipher: BlockCipher, mac_key: bytes, header: bytes, data: bytes, *, rng: RNG) -> Sealed:
        """Encrypt ``data`` in this suite's mode under a fresh IV, then MAC header, IV and ciphertext."""
        return seal(cipher, mac_key, header, data, mode=self.mode, rng=rng)

    def seal_many(
        self, messages: Sequence[tuple[BlockCipher, bytes, bytes, bytes]], *, rng: RNG
    ) -> Job[list[Sealed]]:
        """:meth:`seal` of each (cipher, MAC key, header, data), as a job whose IVs are drawn now,
        in order: the mode encrypts them side by side where it can (CBC on bit slices, a key per
        message), a segment at a time (:func:`ciphers.envelope.seal_many_job`)."""
        return seal_many_job(messages, mode=self.mode, rng=rng)

    def open(self, cipher: BlockCipher, mac_key: bytes, header: bytes, box: Sealed) -> bytes:
        """Check the MAC, then decrypt; DecryptionError for every failure."""
        return unseal(cipher, mac_key, header, box, mode=self.mode)

    def shape_ok(self, iv: bytes, ciphertext: bytes) -> bool:
        """Whether ``iv`` and ``ciphertext`` have lengths this suite's mode can produce."""
        return self.mode.shape_ok(iv, ciphertext)

    def first_block(self, iv: bytes, plaintext: bytes, ciphertext: bytes, *, opening: bool) -> bytes:
        """The first block the block cipher processes for this message (for :meth:`round_trace`)."""
        return self.mode.first_block(iv, plaintext, ciphertext, opening=opening)

    def round_trace(self, cipher_key: bytes, block: bytes, *, opening: bool) -> list[des.DESTrace]:
        """The DES rounds the cipher runs on ``block`` (three passes for 3DES), in the opening direction."""
        return self.cipher.rounds(cipher_key, block, opening and self.mode.inverse_on_open)


@dataclass(frozen=True)
class DirectSuite:
    """Each message encrypted to each recipient's identity key by ``public_key``, which also signs."""

    name: str
    public_key: Family
    label: str  # what a badge or a header shows
    note: str  # one line for the user
    insecure: bool

    hybrid: ClassVar[bool] = False
    key_size: ClassVar[int] = 0  # no session keys

    def family(self, kex_name: str) -> Family:
        """The suite's own family, whatever the room's kex (which does not apply)."""
        return self.public_key

    def kexes(self) -> tuple[Family, ...]:
        """The one key exchange that says what the room does: the suite's own family."""
        return (self.public_key,)

    def describe(self, kex_name: str) -> str:
        """A one-line description of what a room with this suite does."""
        return f"{self.label}; {self.public_key.signature} signatures"


Suite = HybridSuite | DirectSuite

KEXES: dict[str, Family] = {family.name: family for family in (RSA, ELGAMAL)}

SUITES: dict[str, Suite] = {
    entry.name: entry
    for entry in (
        HybridSuite(
            "3des",
            TDES,
            CBC,
            note="Triple DES (three keys) in CBC mode with HMAC-SHA256: legacy, 112-bit security",
            insecure=False,
        ),
        HybridSuite(
            "des",
            DES,
            CBC,
            note="INSECURE: single DES has a 56-bit key, found by exhaustive search since 1998",
            insecure=True,
        ),
        DirectSuite(
            "rsa",
            RSA,
            label="RSA-OAEP to each recipient (insecure for real use)",
            note="INSECURE for real use: every message RSA-OAEP-encrypted to each member, chunked and slow",
            insecure=True,
        ),
        DirectSuite(
            "elgamal",
            ELGAMAL,
            label="textbook ElGamal to each recipient (insecure)",
            note=(
                "INSECURE: textbook ElGamal to each member, malleable and chunked; only signatures protect it"
            ),
            insecure=True,
        ),
    )
}


def suite(name: str) -> Suite:
    """The suite called ``name``; ValueError naming the choices otherwise."""
    try:
        return SUITES[name]
    except KeyError:
        raise ValueError(f"unknown cipher suite {name!r}; choose from {', '.join(SUITES)}") from None


def kex(name: str) -> Family:
    """The key exchange (public-key family) called ``name``; ValueError naming the choices otherwise."""
    try:
        return KEXES[name]
    except KeyError:
        raise ValueError(f"unknown key exchange {name!r}; choose from {', '.join(KEXES)}") from None


def rooms() -> list[tuple[Suite, Family]]:
    """Every (suite, kex) pair that makes a different room: each hybrid suite with each kex, each
    direct suite with its own family."""
    return [(entry, family) for entry in SUITES.values() for family in entry.kexes()]


__all__ = [
    "DEFAULT_KEX",
    "DEFAULT_SUITE",
    "KEXES",
    "KEX_NAMES",
    "SUITES",
    "SUITE_NAMES",
    "Cipher",
    "DirectSuite",
    "Family",
    "HybridSuite",
    "KexName",
    "Suite",
    "SuiteName",
    "kex",
    "rooms",
    "suite",
]

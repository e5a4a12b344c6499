"""The cipher suites of the chat and what each one really does, for the session and for the UI.

A room has a suite and a key exchange (kex):

* ``3des`` / ``des`` are hybrid: each sender draws a session key (cipher key + 32-byte MAC key),
  wraps it for each member with RSA-OAEP (kex ``rsa``) or the ElGamal KEM (kex ``elgamal``), and
  seals messages with CBC under a fresh IV then HMAC-SHA256 (:mod:`ciphers.envelope`).
* ``rsa`` / ``elgamal`` are direct: each message is encrypted to each recipient's identity key,
  RSA-OAEP or textbook ElGamal in chunks. They exist to show why real systems are hybrid: the cost
  and the size grow with the text times the members. The kex does not apply to them.

Signatures follow the public-key family of the room: RSA-PSS when the suite or the kex is ``rsa``,
hashed ElGamal signatures when it is ``elgamal`` (for the direct suites the suite decides, for
the hybrid ones the kex). Every client holds both identity keys, so any room works for anyone.

Labels: ``des`` (56-bit key, searched exhaustively since 1998) and the direct suites (textbook
ElGamal is malleable, chunks can be reordered, no forward secrecy at all) are marked insecure;
``3des`` is legacy (64-bit block, 112-bit security) but the strongest the toolkit offers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chat.protocol.events import KEX_NAMES, SUITE_NAMES, KexName, SuiteName

Family = Literal["rsa", "elgamal"]
DEFAULT_SUITE: SuiteName = "3des"
DEFAULT_KEX: KexName = "rsa"


@dataclass(frozen=True)
class Suite:
    """One suite: how messages are protected, its cipher key length, and how safe it is."""

    name: SuiteName
    hybrid: bool  # session keys and a block cipher (True), or direct public-key encryption (False)
    key_size: int  # cipher key bytes of the session key (0 for the direct suites)
    insecure: bool
    label: str  # what a badge or a header shows
    note: str  # one line for the user

    def family(self, kex: KexName) -> Family:
        """The public-key family used for key wrapping and signatures in a room with ``kex``."""
        if self.hybrid:
            return kex
        return "rsa" if self.name == "rsa" else "elgamal"

    def describe(self, kex: KexName) -> str:
        """A one-line description of what a room with this suite and kex does."""
        family = self.family(kex)
        signature = "RSA-PSS" if family == "rsa" else "ElGamal"
        if self.hybrid:
            wrap = "RSA-OAEP" if kex == "rsa" else "ElGamal KEM"
            return f"{self.label}; session keys wrapped with {wrap}; {signature} signatures"
        return f"{self.label}; {signature} signatures"


SUITES: dict[str, Suite] = {
    "3des": Suite(
        "3des",
        hybrid=True,
        key_size=24,
        insecure=False,
        label="3DES-CBC + HMAC-SHA256",
        note="Triple DES (three keys) in CBC mode with HMAC-SHA256: legacy, 112-bit security",
    ),
    "des": Suite(
        "des",
        hybrid=True,
        key_size=8,
        insecure=True,
        label="DES-CBC + HMAC-SHA256 (insecure)",
        note="INSECURE: single DES has a 56-bit key, found by exhaustive search since 1998",
    ),
    "rsa": Suite(
        "rsa",
        hybrid=False,
        key_size=0,
        insecure=True,
        label="RSA-OAEP to each recipient (insecure for real use)",
        note="INSECURE for real use: every message RSA-OAEP-encrypted to each member, chunked and slow",
    ),
    "elgamal": Suite(
        "elgamal",
        hybrid=False,
        key_size=0,
        insecure=True,
        label="textbook ElGamal to each recipient (insecure)",
        note="INSECURE: textbook ElGamal to each member, malleable and chunked; only signatures protect it",
    ),
}


def suite(name: str) -> Suite:
    """The suite called ``name``; ValueError naming the choices otherwise."""
    try:
        return SUITES[name]
    except KeyError:
        raise ValueError(f"unknown cipher suite {name!r}; choose from {', '.join(SUITE_NAMES)}") from None


def check_kex(name: str) -> KexName:
    """``name`` as a key exchange; ValueError naming the choices otherwise."""
    for kex in KEX_NAMES:
        if name == kex:
            return kex
    raise ValueError(f"unknown key exchange {name!r}; choose from {', '.join(KEX_NAMES)}")


__all__ = [
    "DEFAULT_KEX",
    "DEFAULT_SUITE",
    "KEX_NAMES",
    "SUITES",
    "SUITE_NAMES",
    "Family",
    "KexName",
    "Suite",
    "SuiteName",
    "check_kex",
    "suite",
]

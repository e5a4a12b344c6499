"""The public-key families of the chat (RSA, ElGamal) as strategy objects: sign, wrap keys, encrypt directly.

A room's key exchange (kex) is a family; so is the family a direct suite encrypts with. Each one
says how its members' identity keys are used, and the session never asks which family it holds:

* Signatures: RSASSA-PSS with SHA-256 (RFC 8017 §8.1), or DSA-form signatures in the prime-order
  subgroup of the identity's ElGamal group (FIPS 186-4 §4.6 with SHA-256 and RFC 6979 nonces,
  hedged; r || s, each |q| bytes; :mod:`ciphers.elgamal.dsa`), with range checks on r and s. The
  classic ElGamal equations (:mod:`ciphers.elgamal.signatures`) are not used: anyone can forge
  them with r = (p - 1)/2 (Bleichenbacher 1996). Verification failures raise
  :class:`~ciphers.errors.VerificationError`.
* Key wrapping (hybrid suites): RSAES-OAEP with SHA-256 whose label is the caller's context (room,
  sender, recipient and its join, key id), so a wrapped key cannot be replayed in another context; or the
  ElGamal KEM with encrypt-then-MAC (:mod:`ciphers.elgamal.hybrid`), where the sender's signature
  over the wrapped key binds the context instead.
* Direct encryption (the ``rsa`` and ``elgamal`` suites): OAEP per chunk of at most
  ``max_message_length`` bytes (190 for RSA-2048), or textbook ElGamal per chunk of 254 bytes.
  This is what the direct suites teach: every message costs a public-key operation per chunk and
  per recipient, and textbook ElGamal is malleable (only the signature stops tampering).
  :meth:`Family.block_sizes` tells file transfers how large such chunks make a message.

Every decryption failure raises the one :class:`~ciphers.errors.DecryptionError`. The registry of
families, by wire name, is :data:`chat.e2e.suites.KEXES`.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from typing import ClassVar

from chat.e2e.identity import Identity, PublicIdentity
from ciphers.elgamal import core as elgamal_core
from ciphers.elgamal import dsa, hybrid
from ciphers.elgamal.encoding import max_message_length
from ciphers.errors import DecryptionError, InsecureWarning, VerificationError
from ciphers.rng import RNG, SYSTEM
from ciphers.rsa import oaep, pss


class Family(ABC):
    """One public-key family: its wire name, what the user and the trace call it, and its operations."""

    name: ClassVar[str]
    signature: ClassVar[str]  # what a room's description calls its signatures
    signature_detail: ClassVar[str]  # what the trace calls one signature
    wrapping: ClassVar[str]  # what a room's description calls its key wrapping
    wrapping_detail: ClassVar[str]  # what the trace calls one wrapped key

    @abstractmethod
    def sign(self, identity: Identity, data: bytes, *, rng: RNG = SYSTEM) -> bytes:
        """The signature of ``data`` with the identity's key of this family."""

    @abstractmethod
    def verify(self, public: PublicIdentity, data: bytes, signature: bytes) -> None:
        """Return if ``signature`` is the member's signature of ``data``; VerificationError otherwise."""

    @abstractmethod
    def wrap(self, recipient: PublicIdentity, material: bytes, context: bytes, *, rng: RNG = SYSTEM) -> bytes:
        """Encrypt session-key ``material`` to ``recipient``, bound to ``context`` where the scheme can."""

    @abstractmethod
    def unwrap(self, identity: Identity, wrapped: bytes, context: bytes) -> bytes:
        """The material :meth:`wrap` wrapped for us; DecryptionError for every failure."""

    @abstractmethod
    def encrypt_direct(
        self, recipient: PublicIdentity, data: bytes, context: bytes, *, rng: RNG = SYSTEM
    ) -> bytes:
        """``data`` encrypted to ``recipient`` chunk by chunk, one public-key block per chunk."""

    @abstractmethod
    def decrypt_direct(self, identity: Identity, data: bytes, context: bytes) -> bytes:
        """The inverse of :meth:`encrypt_direct` with our private key; DecryptionError for every failure."""

    @abstractmethod
    def block_sizes(self, recipient: PublicIdentity) -> tuple[int, int]:
        """(plaintext, ciphertext) bytes per block of :meth:`encrypt_direct` to ``recipient``."""

    def __repr__(self) -> str:
        return f"<family {self.name}>"


class RSAFamily(Family):
    """RSA-PSS signatures, RSA-OAEP key wrapping, RSA-OAEP direct chunks (all SHA-256)."""

    name = "rsa"
    signature = "RSA-PSS"
    signature_detail = "RSA-PSS(SHA-256) signature"
    wrapping = "RSA-OAEP"
    wrapping_detail = "RSA-OAEP(SHA-256)"

    def sign(self, identity: Identity, data: bytes, *, rng: RNG = SYSTEM) -> bytes:
        return pss.sign(identity.rsa, data, rng=rng)

    def verify(self, public: PublicIdentity, data: bytes, signature: bytes) -> None:
        pss.verify(public.rsa, data, signature)

    def wrap(self, recipient: PublicIdentity, material: bytes, context: bytes, *, rng: RNG = SYSTEM) -> bytes:
        return oaep.encrypt(recipient.rsa, material, label=context, rng=rng)

    def unwrap(self, identity: Identity, wrapped: bytes, context: bytes) -> bytes:
        return oaep.decrypt(identity.rsa, wrapped, label=context)

    def encrypt_direct(
        self, recipient: PublicIdentity, data: bytes, context: bytes, *, rng: RNG = SYSTEM
    ) -> bytes:
        key = recipient.rsa
        size = oaep.max_message_length(key)
        chunks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
        return b"".join(oaep.encrypt(key, chunk, label=context, rng=rng) for chunk in chunks)

    def decrypt_direct(self, identity: Identity, data: bytes, context: bytes) -> bytes:
        k = identity.rsa.size_bytes
        if not data or len(data) % k:
            raise DecryptionError()
        return b"".join(
            oaep.decrypt(identity.rsa, data[i : i + k], label=context) for i in range(0, len(data), k)
        )

    def block_sizes(self, recipient: PublicIdentity) -> tuple[int, int]:
        return oaep.max_message_length(recipient.rsa), recipient.rsa.size_bytes


class ElGamalFamily(Family):
    """DSA-form signatures in the group's subgroup, the ElGamal KEM with encrypt-then-MAC, textbook
    ElGamal direct chunks."""

    name = "elgamal"
    signature = "DSA-form (ElGamal group)"
    signature_detail = "DSA-form signature (FIPS 186-4, RFC 6979 nonces) in the ElGamal group"
    wrapping = "ElGamal KEM"
    wrapping_detail = "ElGamal KEM + encrypt-then-MAC"

    def sign(self, identity: Identity, data: bytes, *, rng: RNG = SYSTEM) -> bytes:
        return dsa.sign(identity.elgamal, data, rng).to_bytes(identity.elgamal.group)

    def verify(self, public: PublicIdentity, data: bytes, signature: bytes) -> None:
        try:
            parsed = dsa.Signature.from_bytes(public.elgamal.group, signature)
        except ValueError:
            raise VerificationError() from None
        dsa.verify(public.elgamal, data, parsed)

    def wrap(self, recipient: PublicIdentity, material: bytes, context: bytes, *, rng: RNG = SYSTEM) -> bytes:
        return hybrid.encrypt(recipient.elgamal, material, rng)

    def unwrap(self, identity: Identity, wrapped: bytes, context: bytes) -> bytes:
        return hybrid.decrypt(identity.elgamal, wrapped)

    def encrypt_direct(
        self, recipient: PublicIdentity, data: bytes, context: bytes, *, rng: RNG = SYSTEM
    ) -> bytes:
        with warnings.catch_warnings():
            # The suite is labelled insecure where the user chooses it; no warning per message.
            warnings.simplefilter("ignore", InsecureWarning)
            return elgamal_core.encrypt_bytes(recipient.elgamal, data, rng)

    def decrypt_direct(self, identity: Identity, data: bytes, context: bytes) -> bytes:
        return elgamal_core.decrypt_bytes(identity.elgamal, data)

    def block_sizes(self, recipient: PublicIdentity) -> tuple[int, int]:
        group = recipient.elgamal.group
        return max_message_length(group), 2 * group.element_bytes


RSA = RSAFamily()
ELGAMAL = ElGamalFamily()

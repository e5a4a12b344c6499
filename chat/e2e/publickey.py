"""The public-key operations of the chat, per family (RSA or ElGamal): sign, wrap keys, encrypt directly.

* Signatures: RSASSA-PSS with SHA-256 (RFC 8017 §8.1), or hashed ElGamal signatures in the
  identity's group (r || s, each |p| bytes). Verification failures raise
  :class:`~ciphers.errors.VerificationError`.
* Key wrapping (hybrid suites): RSAES-OAEP with SHA-256 whose label is the caller's context (room,
  sender, recipient, key id), so a wrapped key cannot be replayed in another context; or the
  ElGamal KEM with encrypt-then-MAC (:mod:`ciphers.elgamal.hybrid`), where the sender's signature
  over the wrapped key binds the context instead.
* Direct encryption (the ``rsa`` and ``elgamal`` suites): OAEP per chunk of at most
  ``max_message_length`` bytes (190 for RSA-2048), or textbook ElGamal per chunk of 254 bytes.
  This is what the direct suites teach: every message costs a public-key operation per chunk and
  per recipient, and textbook ElGamal is malleable (only the signature stops tampering).

Every decryption failure raises the one :class:`~ciphers.errors.DecryptionError`.
"""

from __future__ import annotations

import warnings

from chat.e2e.identity import Identity, PublicIdentity
from chat.e2e.suites import Family
from ciphers.elgamal import core as elgamal_core
from ciphers.elgamal import hybrid, signatures
from ciphers.elgamal.encoding import max_message_length
from ciphers.errors import DecryptionError, InsecureWarning, VerificationError
from ciphers.rng import RNG, SYSTEM
from ciphers.rsa import oaep, pss


def sign(identity: Identity, family: Family, data: bytes, *, rng: RNG = SYSTEM) -> bytes:
    """The signature of ``data`` with the identity's key of ``family``."""
    if family == "rsa":
        return pss.sign(identity.rsa, data, rng=rng)
    return signatures.sign(identity.elgamal, data, rng).to_bytes(identity.elgamal.group)


def verify(public: PublicIdentity, family: Family, data: bytes, signature: bytes) -> None:
    """Return if ``signature`` is the member's signature of ``data``; raise VerificationError otherwise."""
    if family == "rsa":
        pss.verify(public.rsa, data, signature)
        return
    group = public.elgamal.group
    try:
        parsed = signatures.Signature.from_bytes(group, signature)
    except ValueError:
        raise VerificationError() from None
    signatures.verify(public.elgamal, data, parsed)


def wrap_key(
    kex: Family, recipient: PublicIdentity, material: bytes, context: bytes, *, rng: RNG = SYSTEM
) -> bytes:
    """Encrypt session-key ``material`` to ``recipient`` (OAEP with ``context`` as label, or KEM + EtM)."""
    if kex == "rsa":
        return oaep.encrypt(recipient.rsa, material, label=context, rng=rng)
    return hybrid.encrypt(recipient.elgamal, material, rng)


def unwrap_key(kex: Family, identity: Identity, wrapped: bytes, context: bytes) -> bytes:
    """The material :func:`wrap_key` wrapped for us; DecryptionError for every failure."""
    if kex == "rsa":
        return oaep.decrypt(identity.rsa, wrapped, label=context)
    return hybrid.decrypt(identity.elgamal, wrapped)


def encrypt_direct(
    family: Family, recipient: PublicIdentity, data: bytes, context: bytes, *, rng: RNG = SYSTEM
) -> bytes:
    """``data`` encrypted to ``recipient`` chunk by chunk: OAEP blocks of k bytes, or ElGamal pairs."""
    if family == "rsa":
        key = recipient.rsa
        size = oaep.max_message_length(key)
        chunks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
        return b"".join(oaep.encrypt(key, chunk, label=context, rng=rng) for chunk in chunks)
    with warnings.catch_warnings():
        # The suite is labelled insecure where the user chooses it; no warning per message.
        warnings.simplefilter("ignore", InsecureWarning)
        return elgamal_core.encrypt_bytes(recipient.elgamal, data, rng)


def decrypt_direct(family: Family, identity: Identity, data: bytes, context: bytes) -> bytes:
    """The inverse of :func:`encrypt_direct` with our private key; DecryptionError for every failure."""
    if family == "rsa":
        k = identity.rsa.size_bytes
        if not data or len(data) % k:
            raise DecryptionError()
        return b"".join(
            oaep.decrypt(identity.rsa, data[i : i + k], label=context) for i in range(0, len(data), k)
        )
    return elgamal_core.decrypt_bytes(identity.elgamal, data)


def chunk_count(family: Family, recipient: PublicIdentity, length: int) -> int:
    """How many public-key blocks :func:`encrypt_direct` needs for ``length`` bytes."""
    if family == "rsa":
        size = oaep.max_message_length(recipient.rsa)
    else:
        size = max_message_length(recipient.elgamal.group)
    return max(1, -(-length // size))

"""Proof of possession at a join (protocol v2): what a joiner signs, and the relay's admission check.

The relay answers every ``join`` with a ``challenge`` of 32 fresh random bytes; the joiner answers
``prove`` with an RSASSA-PSS signature (RFC 8017 §8.1: SHA-256, MGF1-SHA-256, 32-byte salt) by its
identity's RSA key over :func:`join_proof_message`::

    LP("cipherchat-v2", "join-proof", challenge, fold(alias), fold(room), join nonce, fingerprint)

LP is :func:`ciphers.envelope.length_prefixed` (a 4-byte length before each field), fold is
:func:`~chat.protocol.names.name_key` in UTF-8, the join nonce the 16 bytes of the ``join`` and the
fingerprint the 32-byte SHA-256 of the identity's canonical encoding (both keys:
:meth:`~chat.e2e.identity.PublicIdentity.encode`). The challenge makes each proof good for one
join only (a recorded proof answers no later challenge); alias, room and nonce bind it to this
join; the fingerprint to the whole identity presented. The domain tags keep it from ever being
taken for a message, bundle or certificate signature. So an identity and a certificate copied from
a ``welcome`` admit nobody: only the holder of the private key can answer.

:class:`JoinAdmission` is the relay's admission hook (:class:`chat.relay.server.Admission`), which
``python -m chat server`` always installs. Its checks go from cheap to dear, and the first failure
is the reason sent back (``unauthorized``): the identity within its bounds (RSA 2048 to 4096 bits
with e = 65537, ElGamal in a named group: :meth:`~chat.e2e.identity.PublicIdentity.from_wire`, which
refuses an oversized key by its size before parsing it), then the proof, then, under ``--ca``, the
certificate.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chat.e2e.certificates import make_authorizer
from chat.e2e.errors import IdentityError
from chat.e2e.identity import Identity, PublicIdentity
from chat.protocol.events import JoinFrame, ProveFrame
from chat.protocol.names import name_key
from ciphers.envelope import length_prefixed
from ciphers.errors import VerificationError
from ciphers.rng import RNG, SYSTEM
from ciphers.rsa import pss
from ciphers.rsa.keys import RSAPublicKey

DOMAIN = b"cipherchat-v2"
PURPOSE = b"join-proof"
HASH = "sha256"
SALT_LENGTH = 32


def join_proof_message(
    challenge: bytes, alias: str, room: str, nonce: bytes, identity: PublicIdentity
) -> bytes:
    """The bytes a joiner signs to answer ``challenge`` (the module notes give the layout)."""
    return length_prefixed(
        DOMAIN,
        PURPOSE,
        challenge,
        name_key(alias).encode("utf-8"),
        name_key(room).encode("utf-8"),
        nonce,
        identity.fingerprint.digest,
    )


def prove_join(
    identity: Identity, challenge: bytes, alias: str, room: str, nonce: bytes, *, rng: RNG = SYSTEM
) -> bytes:
    """The ``prove`` signature: RSASSA-PSS by ``identity``'s RSA key over :func:`join_proof_message`."""
    message = join_proof_message(challenge, alias, room, nonce, identity.public)
    return pss.sign(identity.rsa, message, hash_name=HASH, salt_length=SALT_LENGTH, mgf_hash=HASH, rng=rng)


def check_join_proof(
    identity: PublicIdentity, challenge: bytes, alias: str, room: str, nonce: bytes, signature: bytes
) -> None:
    """RSASSA-PSS-VERIFY of a ``prove`` signature; :class:`VerificationError` unless valid."""
    message = join_proof_message(challenge, alias, room, nonce, identity)
    pss.verify(identity.rsa, message, signature, hash_name=HASH, salt_length=SALT_LENGTH, mgf_hash=HASH)


class JoinAdmission:
    """The relay's admission hook: identity bounds, proof of possession, and the certificate if ``ca``."""

    def __init__(self, ca: RSAPublicKey | None = None, *, now: Callable[[], float] = time.time) -> None:
        self._certificate = None if ca is None else make_authorizer(ca, now=now)

    def check(self, join: JoinFrame, challenge: bytes, proof: ProveFrame) -> str | None:
        """None admits ``join``; otherwise why not, in one line."""
        try:
            identity = PublicIdentity.from_wire(join.identity)
        except IdentityError as exc:
            return str(exc)
        try:
            check_join_proof(identity, challenge, join.alias, join.room, join.nonce, proof.signature)
        except VerificationError:
            return "the proof of possession does not verify with the identity's RSA key"
        if self._certificate is not None:
            return self._certificate(join)
        return None

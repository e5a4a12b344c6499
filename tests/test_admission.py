"""The proof of possession at a join and the relay's admission: the signed bytes as documented,
differential checks with ``cryptography`` both ways, and each refusal with its reason, in order."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from chat.e2e.admission import JoinAdmission, check_join_proof, join_proof_message, prove_join
from chat.protocol.events import JoinFrame, ProveFrame
from ciphers.errors import VerificationError
from ciphers.rng import DeterministicRNG
from tests.chat_support import identity, oversized_identity, wire
from tests.test_certificates import NOW, ca_key, certify, theirs

CHALLENGE = bytes(range(32))
NONCE = bytes(range(100, 116))
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def lp(*fields: bytes) -> bytes:
    """Length-prefixed fields, written from the description: a 4-byte big-endian length, then the bytes."""
    return b"".join(len(f).to_bytes(4, "big") + f for f in fields)


def join(alias: str = "alice", who: str = "alice", certificate: str | None = None) -> JoinFrame:
    return JoinFrame(alias, "Lobby", dict(wire(who)), certificate=certificate, nonce=NONCE)


def proof(who: str = "alice", *, challenge: bytes = CHALLENGE, alias: str = "alice") -> ProveFrame:
    return ProveFrame(prove_join(identity(who), challenge, alias, "Lobby", NONCE, rng=DeterministicRNG(who)))


def test_the_signed_bytes_are_the_documented_layout() -> None:
    public = identity("alice").public
    fingerprint = hashlib.sha256(public.encode()).digest()
    expected = lp(b"cipherchat-v2", b"join-proof", CHALLENGE, b"alice", b"lobby", NONCE, fingerprint)
    assert join_proof_message(CHALLENGE, "Alice", "LOBBY", NONCE, public) == expected


def test_a_proof_verifies_with_cryptography_and_one_made_by_cryptography_with_ours() -> None:
    ours = proof().signature
    message = join_proof_message(CHALLENGE, "alice", "Lobby", NONCE, identity("alice").public)
    key = theirs(identity("alice").rsa)
    key.public_key().verify(ours, message, PSS, hashes.SHA256())
    with pytest.raises(InvalidSignature):
        key.public_key().verify(ours, message + b"x", PSS, hashes.SHA256())
    check_join_proof(
        identity("alice").public, CHALLENGE, "alice", "Lobby", NONCE, key.sign(message, PSS, hashes.SHA256())
    )


@pytest.mark.parametrize(
    ("challenge", "alias", "room", "nonce", "who"),
    [
        (bytes(32), "alice", "Lobby", NONCE, "alice"),
        (CHALLENGE, "bob", "Lobby", NONCE, "alice"),
        (CHALLENGE, "alice", "other", NONCE, "alice"),
        (CHALLENGE, "alice", "Lobby", bytes(16), "alice"),
        (CHALLENGE, "alice", "Lobby", NONCE, "bob"),
    ],
    ids=["another-challenge", "another-alias", "another-room", "another-nonce", "another-identity"],
)
def test_a_proof_answers_its_own_challenge_and_join_only(
    challenge: bytes, alias: str, room: str, nonce: bytes, who: str
) -> None:
    signature = proof().signature
    check_join_proof(identity("alice").public, CHALLENGE, "alice", "Lobby", NONCE, signature)
    with pytest.raises(VerificationError):
        check_join_proof(identity(who).public, challenge, alias, room, nonce, signature)


def test_the_admission_admits_a_proved_join_and_refuses_a_replayed_or_borrowed_proof() -> None:
    admission = JoinAdmission()
    assert admission.check(join(), CHALLENGE, proof()) is None
    refused = "the proof of possession does not verify with the identity's RSA key"
    assert admission.check(join(), bytes(32), proof()) == refused  # recorded from an earlier join
    assert admission.check(join(), CHALLENGE, proof("mallory")) == refused  # alice's identity, mallory's key
    assert admission.check(join(), CHALLENGE, ProveFrame(b"\x00" * 256)) == refused


def test_identity_bounds_come_before_the_proof() -> None:
    admission = JoinAdmission()
    big = JoinFrame("mallory", "Lobby", oversized_identity(8192, 65537), nonce=NONCE)
    reason = admission.check(big, CHALLENGE, ProveFrame(b"\x00"))
    assert reason == "identity RSA key of 1491 characters is larger than any 4096-bit key (at most 1200)"
    odd = JoinFrame("mallory", "Lobby", {**wire("mallory"), "elgamal.group": "modp768"}, nonce=NONCE)
    assert (admission.check(odd, CHALLENGE, ProveFrame(b"\x00")) or "").startswith("identity ElGamal group")
    assert admission.check(JoinFrame("x", "Lobby", {}, nonce=NONCE), CHALLENGE, ProveFrame(b"\x00")) == (
        "identity must have exactly the fields v, rsa, elgamal.group, elgamal.y"
    )


def test_with_a_ca_the_certificate_is_checked_after_the_proof() -> None:
    admission = JoinAdmission(ca_key().public_key(), now=lambda: NOW)
    assert admission.check(join(certificate=certify()), CHALLENGE, proof()) is None
    assert admission.check(join(), CHALLENGE, proof()) == "no certificate"
    stolen = join(certificate=certify())
    assert admission.check(stolen, CHALLENGE, proof("mallory")) == (
        "the proof of possession does not verify with the identity's RSA key"
    )

"""The sealed bytes checked with independent code: PyCryptodome's DES/3DES, hmac, and pyca/cryptography.

The signed and MACed encodings are rebuilt here by hand from the format documented in chat.e2e.sealed
(struct-packed lengths), never with the code under test, so a change of format fails loudly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

import pytest
from Crypto.Cipher import DES, DES3
from Crypto.Util.Padding import unpad
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from chat.e2e.identity import Identity
from tests.chat_support import Room, identity

DOMAIN = b"cipherchat-e2e-v1"


def lp(*fields: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def private_key(ident: Identity) -> rsa.RSAPrivateKey:
    key = ident.rsa
    public = rsa.RSAPublicNumbers(key.e, key.n)
    return rsa.RSAPrivateNumbers(key.p, key.q, key.d, key.dp, key.dq, key.qinv, public).private_key()


def oaep(label: bytes) -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label)


PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def room_of(suite: str, kex: str) -> Room:
    room = Room(suite, kex)
    for name in ("alice", "bob", "carol"):
        room.join(name)
    return room


@pytest.mark.parametrize("suite", ["3des", "des"])
def test_hybrid_message_against_pycryptodome_hmac_and_cryptography(suite: str) -> None:
    room = room_of(suite, "rsa")
    text = "meet me by the old oak tree at nine"
    (out,) = room.sessions["alice"].seal(text).outgoing
    body = out.body
    iv, ct, tag, sig = (unb64(body[k]) for k in ("iv", "ct", "mac", "sig"))
    cipher_key, mac_key = room.sessions["bob"].session_key("alice/1")  # type: ignore[misc]
    assert len(cipher_key) == (24 if suite == "3des" else 8) and len(mac_key) == 32
    reference = (
        DES3.new(cipher_key, DES3.MODE_CBC, iv=iv)
        if suite == "3des"
        else DES.new(cipher_key, DES.MODE_CBC, iv=iv)
    )
    assert unpad(reference.decrypt(ct), 8).decode() == text
    header = lp(
        DOMAIN, b"message", suite.encode(), b"lobby", b"alice", b"alice/1", struct.pack(">Q", 1), b"text"
    )
    assert hmac.compare_digest(hmac.new(mac_key, lp(header, iv, ct), hashlib.sha256).digest(), tag)
    public = private_key(identity("alice")).public_key()
    public.verify(sig, lp(b"signed", header, iv, ct, tag), PSS, hashes.SHA256())


def test_rsa_key_bundle_unwraps_with_cryptography() -> None:
    room = room_of("3des", "rsa")
    bundle = next(
        d for d in room.log if d.kind == "key_bundle" and d.sender == "carol" and d.recipient == "alice"
    )
    assert bundle.key_id == "carol/1" and bundle.payload is not None
    header = lp(
        DOMAIN, b"key-bundle", b"3des", b"rsa", b"lobby", b"carol", b"carol/1", struct.pack(">Q", 1), b"start"
    )
    material = private_key(identity("alice")).decrypt(
        unb64(bundle.payload["wrapped"]), oaep(lp(header, b"to", b"alice"))
    )
    assert material == b"".join(room.sessions["alice"].session_key("carol/1"))  # type: ignore[arg-type]
    wrapped = unb64(bundle.payload["wrapped"])
    digests = {"alice": hashlib.sha256(wrapped).digest()}
    assert bundle.body["to"].startswith(f"alice:{digests['alice'].hex()},bob:")
    bob_digest = bytes.fromhex(bundle.body["to"].split(",")[1].split(":")[1])
    manifest = lp(b"alice", digests["alice"], b"bob", bob_digest)
    public = private_key(identity("carol")).public_key()
    public.verify(unb64(bundle.body["sig"]), lp(b"signed", header, manifest), PSS, hashes.SHA256())


def test_elgamal_key_bundle_unwraps_independently() -> None:
    room = room_of("des", "elgamal")
    bundle = next(
        d for d in room.log if d.kind == "key_bundle" and d.sender == "alice" and d.recipient == "bob"
    )
    assert bundle.payload is not None
    data = unb64(bundle.payload["wrapped"])
    bob = identity("bob").elgamal
    p, n = bob.group.p, bob.group.element_bytes
    assert data[:4] == b"EGH1"
    c1 = int.from_bytes(data[4 : 4 + n], "big")
    shared = pow(c1, bob.x, p).to_bytes(n, "big")
    info = b"cipherchat ElGamal-KEM v1" + c1.to_bytes(n, "big") + bob.y.to_bytes(n, "big")
    key = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=info).derive(shared)
    enc_key, mac_key = key[:32], key[32:]
    body, tag = data[4 + n : -32], data[-32:]
    assert hmac.new(mac_key, data[: 4 + n] + body, hashlib.sha256).digest() == tag
    stream = hmac.new(enc_key, struct.pack(">Q", 0), hashlib.sha256).digest()
    stream += hmac.new(enc_key, struct.pack(">Q", 1), hashlib.sha256).digest()
    material = bytes(a ^ b for a, b in zip(body, stream, strict=False))
    assert material == b"".join(room.sessions["bob"].session_key("alice/1"))  # type: ignore[arg-type]


def test_elgamal_signature_verifies_by_the_equation() -> None:
    room = room_of("3des", "elgamal")
    (out,) = room.sessions["alice"].seal("signed with ElGamal").outgoing
    body = out.body
    iv, ct, tag, sig = (unb64(body[k]) for k in ("iv", "ct", "mac", "sig"))
    header = lp(DOMAIN, b"message", b"3des", b"lobby", b"alice", b"alice/1", struct.pack(">Q", 1), b"text")
    alice = identity("alice").elgamal
    p, g, n = alice.group.p, alice.group.g, alice.group.element_bytes
    r, s = int.from_bytes(sig[:n], "big"), int.from_bytes(sig[n:], "big")
    h = int.from_bytes(hashlib.sha256(lp(b"signed", header, iv, ct, tag)).digest(), "big") % (p - 1)
    assert 0 < r < p and 0 < s < p - 1
    assert pow(g, h, p) == pow(alice.y, r, p) * pow(r, s, p) % p


def test_direct_rsa_message_decrypts_with_cryptography() -> None:
    room = room_of("rsa", "rsa")
    text = "z" * 400  # three OAEP chunks of at most 190 bytes
    (out,) = room.sessions["alice"].seal(text).outgoing
    payload = (out.payloads or {})["carol"]
    raw = unb64(payload["ct"])
    assert len(raw) == 3 * 256
    header = lp(
        DOMAIN, b"direct-message", b"rsa", b"lobby", b"alice", b"alice/0", struct.pack(">Q", 1), b"text"
    )
    key = private_key(identity("carol"))
    label = lp(header, b"to", b"carol")
    plain = b"".join(key.decrypt(raw[i : i + 256], oaep(label)) for i in range(0, len(raw), 256))
    assert plain.decode() == text
    manifest = b""
    for entry in out.body["to"].split(","):
        alias, digest = entry.split(":")
        manifest += lp(alias.encode(), bytes.fromhex(digest))
    assert f"carol:{hashlib.sha256(raw).hexdigest()}" in out.body["to"]
    public = private_key(identity("alice")).public_key()
    public.verify(unb64(out.body["sig"]), lp(b"signed", header, manifest), PSS, hashes.SHA256())


def test_direct_elgamal_message_decrypts_by_the_equations() -> None:
    room = room_of("elgamal", "elgamal")
    (out,) = room.sessions["alice"].seal("textbook, but signed").outgoing
    raw = unb64((out.payloads or {})["bob"]["ct"])
    bob = identity("bob").elgamal
    p, q, n = bob.group.p, bob.group.q, bob.group.element_bytes
    assert len(raw) == 2 * n
    c1, c2 = int.from_bytes(raw[:n], "big"), int.from_bytes(raw[n:], "big")
    element = c2 * pow(pow(c1, bob.x, p), -1, p) % p
    m = element if element <= q else p - element
    encoded = m.to_bytes((m.bit_length() + 7) // 8, "big")
    assert encoded[0] == 1 and encoded[1:] == b"textbook, but signed"

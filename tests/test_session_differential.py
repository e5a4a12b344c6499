"""The v2 bytes checked with independent code: PyCryptodome's DES/3DES, hmac, and pyca/cryptography.

Everything signed, MACed, hashed, ratcheted and used as a label is rebuilt here by hand from the
format documented in chat.e2e.sealed (struct-packed lengths, hashlib, hmac, pyca's HKDF-Expand),
never with the code under test: the chain key comes out of a bundle unwrapped by pyca's OAEP, the
message keys out of the hand-written ratchet. A change of format fails loudly.
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
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from chat.e2e.identity import Identity
from tests.chat_support import Delivery, Room, identity

DOMAIN = b"cipherchat-e2e-v2"
KEY_INFO = b"cipherchat-e2e-v2 message keys"
NAMES = ("alice", "bob", "carol")


def lp(*fields: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


def u64(n: int) -> bytes:
    return struct.pack(">Q", n)


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def fingerprint(name: str) -> bytes:
    """SHA-256 of the identity encoding, as test_identity documents it."""
    ident = identity(name)
    key, group = ident.rsa, ident.elgamal.group
    return hashlib.sha256(
        lp(
            b"cipherchat-identity-v1",
            b"rsa",
            key.n.to_bytes(256, "big"),
            key.e.to_bytes(3, "big"),
            b"elgamal",
            group.p.to_bytes(256, "big"),
            group.g.to_bytes(256, "big"),
            ident.elgamal.y.to_bytes(256, "big"),
        )
    ).digest()


def view_digest(room: Room, members: list[str]) -> bytes:
    entries = [lp(m.encode(), fingerprint(m), room.nonces[m]) for m in sorted(members)]
    return hashlib.sha256(lp(DOMAIN, b"view", *entries)).digest()


def joined_changes(room: Room, members: list[str]) -> tuple[str, bytes]:
    """The ``changes`` text and signed bytes of members who joined since the sender's last message."""
    text = ",".join(f"+{m}:{fingerprint(m).hex()}:{room.nonces[m].hex()}" for m in sorted(members))
    signed = lp(*(lp(b"+", m.encode(), fingerprint(m), room.nonces[m]) for m in sorted(members)))
    return text, signed


def private_key(ident: Identity) -> rsa.RSAPrivateKey:
    key = ident.rsa
    public = rsa.RSAPublicNumbers(key.e, key.n)
    return rsa.RSAPrivateNumbers(key.p, key.q, key.d, key.dp, key.dq, key.qinv, public).private_key()


def oaep(label: bytes) -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label)


PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def room_of(suite: str, kex: str) -> Room:
    room = Room(suite, kex)
    for name in NAMES:
        room.join(name)
    return room


def bundle_to(room: Room, sender: str, recipient: str) -> Delivery:
    return next(
        d for d in room.log if d.kind == "key_bundle" and d.sender == sender and d.recipient == recipient
    )


def ratchet(chain_key: bytes, steps: int) -> bytes:
    """CK_{i+steps} from CK_i: HMAC-SHA256(CK, 0x02), ``steps`` times."""
    for _ in range(steps):
        chain_key = hmac.new(chain_key, b"\x02", hashlib.sha256).digest()
    return chain_key


def message_keys(chain_key: bytes, suite: str, key_size: int) -> tuple[bytes, bytes]:
    """MK = HMAC-SHA256(CK, 0x01), then pyca's HKDF-Expand to cipher key || MAC key."""
    mk = hmac.new(chain_key, b"\x01", hashlib.sha256).digest()
    info = lp(KEY_INFO, suite.encode())
    okm = HKDFExpand(algorithm=hashes.SHA256(), length=key_size + 32, info=info).derive(mk)
    return okm[:key_size], okm[key_size:]


@pytest.mark.parametrize("suite", ["3des", "des"])
def test_hybrid_messages_against_pycryptodome_hmac_and_cryptography(suite: str) -> None:
    room = room_of(suite, "rsa")
    # Alice started alone (epoch 0, empty view), then handed her chain at index 0 to Bob, then Carol.
    handed = bundle_to(room, "alice", "bob")
    assert handed.body["idx"] == "0" and handed.body["why"] == "join" and handed.payload is not None
    header = lp(
        DOMAIN,
        b"key-bundle",
        suite.encode(),
        b"rsa",
        b"lobby",
        b"alice",
        room.nonces["alice"],
        b"alice/1",
        u64(0),
        b"join",
        u64(1),
        view_digest(room, ["bob"]),
    )
    label = lp(header, b"to", b"bob", room.nonces["bob"])
    chain_key = private_key(identity("bob")).decrypt(unb64(handed.payload["wrapped"]), oaep(label))
    assert len(chain_key) == 32

    texts = ["meet me by the old oak tree at nine", "and bring the map"]
    outs = [room.sessions["alice"].seal(text).outgoing[0] for text in texts]
    key_size = 24 if suite == "3des" else 8
    changes_text, changes_signed = joined_changes(room, ["bob", "carol"])
    public = private_key(identity("alice")).public_key()
    for index, (out, text) in enumerate(zip(outs, texts, strict=True)):
        body = out.body
        assert body["idx"] == str(index) and body["epoch"] == "2"
        assert unb64(body["nonce"]) == room.nonces["alice"] and (body["suite"], body["kex"]) == (suite, "rsa")
        view = view_digest(room, ["bob", "carol"])
        assert unb64(body["view"]) == view
        # Only the first message carries the joins since Alice's previous message (she had none).
        assert body["changes"] == (changes_text if index == 0 else "")
        iv, ct, tag, sig = (unb64(body[k]) for k in ("iv", "ct", "mac", "sig"))
        cipher_key, mac_key = message_keys(ratchet(chain_key, index), suite, key_size)
        reference = (
            DES3.new(cipher_key, DES3.MODE_CBC, iv=iv)
            if suite == "3des"
            else DES.new(cipher_key, DES.MODE_CBC, iv=iv)
        )
        assert unpad(reference.decrypt(ct), 8).decode() == text
        header = lp(
            DOMAIN,
            b"message",
            suite.encode(),
            b"rsa",
            b"lobby",
            b"alice",
            room.nonces["alice"],
            b"alice/1",
            u64(index),
            b"text",
            u64(2),
            view,
        )
        assert hmac.compare_digest(hmac.new(mac_key, lp(header, iv, ct), hashlib.sha256).digest(), tag)
        changes = changes_signed if index == 0 else b""
        public.verify(sig, lp(b"signed", header, iv, ct, tag, changes), PSS, hashes.SHA256())


def test_rsa_key_bundle_unwraps_with_cryptography() -> None:
    room = room_of("3des", "rsa")
    bundle = bundle_to(room, "carol", "alice")
    assert bundle.key_id == "carol/1" and bundle.payload is not None
    view = view_digest(room, ["alice", "bob"])
    header = lp(
        DOMAIN,
        b"key-bundle",
        b"3des",
        b"rsa",
        b"lobby",
        b"carol",
        room.nonces["carol"],
        b"carol/1",
        u64(0),
        b"start",
        u64(0),
        view,
    )
    wrapped = unb64(bundle.payload["wrapped"])
    chain_key = private_key(identity("alice")).decrypt(
        wrapped, oaep(lp(header, b"to", b"alice", room.nonces["alice"]))
    )
    assert (chain_key, 0) == room.sessions["alice"].chain_key("carol/1")
    members = ",".join(f"{m}:{fingerprint(m).hex()}:{room.nonces[m].hex()}" for m in ("alice", "bob"))
    assert bundle.body["members"] == members and bundle.body["changes"] == ""
    digests = {"alice": hashlib.sha256(wrapped).digest()}
    assert bundle.body["to"].startswith(f"alice:{room.nonces['alice'].hex()}:{digests['alice'].hex()},bob:")
    bob_digest = bytes.fromhex(bundle.body["to"].split(",")[1].split(":")[2])
    manifest = lp(b"alice", room.nonces["alice"], digests["alice"], b"bob", room.nonces["bob"], bob_digest)
    public = private_key(identity("carol")).public_key()
    public.verify(unb64(bundle.body["sig"]), lp(b"signed", header, manifest, b""), PSS, hashes.SHA256())


def test_elgamal_key_bundle_unwraps_independently() -> None:
    room = room_of("des", "elgamal")
    bundle = bundle_to(room, "alice", "bob")
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
    material = bytes(a ^ b for a, b in zip(body, stream, strict=False))
    assert (material, 0) == room.sessions["bob"].chain_key("alice/1")


def test_elgamal_family_signatures_verify_by_the_dsa_equation() -> None:
    room = room_of("3des", "elgamal")
    (out,) = room.sessions["alice"].seal("signed in the subgroup").outgoing
    body = out.body
    iv, ct, tag, sig = (unb64(body[k]) for k in ("iv", "ct", "mac", "sig"))
    header = lp(
        DOMAIN,
        b"message",
        b"3des",
        b"elgamal",
        b"lobby",
        b"alice",
        room.nonces["alice"],
        b"alice/1",
        u64(0),
        b"text",
        u64(2),
        view_digest(room, ["bob", "carol"]),
    )
    _, changes = joined_changes(room, ["bob", "carol"])
    alice = identity("alice").elgamal
    p, g = alice.group.p, alice.group.g
    q = (p - 1) // 2
    size = (q.bit_length() + 7) // 8
    assert len(sig) == 2 * size
    r, s = int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big")
    # FIPS 186-4 §4.7 with z = SHA-256 of the signed bytes (256 bits, below |q|).
    z = int.from_bytes(hashlib.sha256(lp(b"signed", header, iv, ct, tag, changes)).digest(), "big")
    assert 0 < r < q and 0 < s < q
    w = pow(s, -1, q)
    assert pow(g, z * w % q, p) * pow(alice.y, r * w % q, p) % p % q == r


def test_direct_rsa_message_decrypts_with_cryptography() -> None:
    room = room_of("rsa", "rsa")
    text = "z" * 400  # three OAEP chunks of at most 190 bytes
    (out,) = room.sessions["alice"].seal(text).outgoing
    payload = (out.payloads or {})["carol"]
    raw = unb64(payload["ct"])
    assert len(raw) == 3 * 256
    header = lp(
        DOMAIN,
        b"direct-message",
        b"rsa",
        b"rsa",
        b"lobby",
        b"alice",
        room.nonces["alice"],
        b"alice/0",
        u64(1),
        b"text",
        u64(2),
    )
    key = private_key(identity("carol"))
    label = lp(header, b"to", b"carol", room.nonces["carol"])
    plain = b"".join(key.decrypt(raw[i : i + 256], oaep(label)) for i in range(0, len(raw), 256))
    assert plain.decode() == text
    manifest = b""
    for entry in out.body["to"].split(","):
        alias, fp, nonce, digest = entry.split(":")
        assert (bytes.fromhex(fp), bytes.fromhex(nonce)) == (fingerprint(alias), room.nonces[alias])
        manifest += lp(alias.encode(), bytes.fromhex(fp), bytes.fromhex(nonce), bytes.fromhex(digest))
    assert out.body["to"].split(",")[1] == (
        f"carol:{fingerprint('carol').hex()}:{room.nonces['carol'].hex()}:{hashlib.sha256(raw).hexdigest()}"
    )
    changes_text, changes = joined_changes(room, ["bob", "carol"])
    assert out.body["changes"] == changes_text
    public = private_key(identity("alice")).public_key()
    public.verify(unb64(out.body["sig"]), lp(b"signed", header, manifest, changes), PSS, hashes.SHA256())


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

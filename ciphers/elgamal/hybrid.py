"""Hybrid encryption of byte strings: the ElGamal KEM, then encrypt-then-MAC with its key.

Format (``encrypt`` output)::

    MAGIC "EGH1" (4 bytes) || c1 (|p| bytes) || body (len(plaintext) bytes) || tag (32 bytes)

The KEM yields 64 bytes: enc_key || mac_key. body = plaintext XOR keystream, where keystream block i
is HMAC-SHA256(enc_key, I2OSP(i, 8)) (a PRF in counter mode; each key encrypts one message, so no
nonce is needed); tag = HMAC-SHA256(mac_key, MAGIC || c1 || body), checked in constant time before
anything is decrypted. Every failure raises the same :class:`~ciphers.errors.DecryptionError`.
"""

from __future__ import annotations

import hashlib
import hmac

from ciphers.elgamal import kem
from ciphers.elgamal.core import PrivateKey, PublicKey
from ciphers.errors import DecryptionError
from ciphers.rng import RNG, SYSTEM

MAGIC = b"EGH1"
KEY_LENGTH = 32
TAG_LENGTH = 32


def keystream(key: bytes, length: int) -> bytes:
    """``length`` bytes of HMAC-SHA256(key, I2OSP(i, 8)) for i = 0, 1, ..."""
    blocks = -(-length // 32)
    return b"".join(hmac.new(key, i.to_bytes(8, "big"), hashlib.sha256).digest() for i in range(blocks))[
        :length
    ]


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


def _tag(mac_key: bytes, header: bytes, body: bytes) -> bytes:
    return hmac.new(mac_key, header + body, hashlib.sha256).digest()


def encrypt(public: PublicKey, plaintext: bytes, rng: RNG = SYSTEM) -> bytes:
    """Encrypt ``plaintext`` to ``public`` (KEM + keystream + HMAC, see the module note)."""
    c1, key = kem.encapsulate(public, length=2 * KEY_LENGTH, rng=rng)
    enc_key, mac_key = key[:KEY_LENGTH], key[KEY_LENGTH:]
    header = MAGIC + public.group.encode_element(c1)
    body = _xor(plaintext, keystream(enc_key, len(plaintext)))
    return header + body + _tag(mac_key, header, body)


def decrypt(private: PrivateKey, data: bytes) -> bytes:
    """Check and decrypt the output of :func:`encrypt`; one ``DecryptionError`` for every failure."""
    n = private.group.element_bytes
    header_length = len(MAGIC) + n
    if len(data) < header_length + TAG_LENGTH or not data.startswith(MAGIC):
        raise DecryptionError()
    header, body, tag = data[:header_length], data[header_length:-TAG_LENGTH], data[-TAG_LENGTH:]
    key = kem.decapsulate(private, int.from_bytes(header[len(MAGIC) :], "big"), 2 * KEY_LENGTH)
    enc_key, mac_key = key[:KEY_LENGTH], key[KEY_LENGTH:]
    if not hmac.compare_digest(tag, _tag(mac_key, header, body)):
        raise DecryptionError()
    return _xor(body, keystream(enc_key, len(body)))

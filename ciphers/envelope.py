"""The recipe the chat seals messages with: CBC with a fresh IV, then HMAC-SHA256 (encrypt-then-MAC).

Like Fernet (CBC + PKCS#7 + HMAC), built from this toolkit's primitives over any 64-bit block cipher
(DES, Triple DES). The tag is HMAC-SHA256 (RFC 2104, FIPS 180-4) over an unambiguous encoding of
the caller's header, the IV and the ciphertext (:func:`length_prefixed`), so neither the header nor
the IV can be changed or re-split without detection. On opening, the tag is checked with
:func:`hmac.compare_digest` *before* anything is decrypted or unpadded: a forged or altered
ciphertext never reaches the padding check, so there is no padding oracle (Vaudenay 2002), and
every failure raises the same :class:`~ciphers.errors.DecryptionError`.

Encrypt-then-MAC is the composition that is secure generically (Bellare and Namprempre, 2000;
Krawczyk, 2001). Both keys must be independent and uniformly random; the MAC key is 32 bytes.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from ciphers.blockcipher import BlockCipher
from ciphers.errors import CryptoError, DecryptionError, InvalidKeyError
from ciphers.modes import BLOCK_SIZE, cbc_decrypt, cbc_encrypt, new_iv
from ciphers.rng import RNG, SYSTEM

TAG_SIZE = hashlib.sha256().digest_size
MAC_KEY_SIZE = 32
_LENGTH_BYTES = 4


def length_prefixed(*fields: bytes) -> bytes:
    """Each field as a 4-byte big-endian length then its bytes: an encoding no two field lists share."""
    out = bytearray()
    for item in fields:
        if len(item) >= 1 << (8 * _LENGTH_BYTES):
            raise ValueError("field too long for a 4-byte length")
        out += len(item).to_bytes(_LENGTH_BYTES, "big")
        out += item
    return bytes(out)


@dataclass(frozen=True)
class Sealed:
    """What :func:`seal` produces: the IV, the CBC ciphertext and the HMAC-SHA256 tag."""

    iv: bytes
    ciphertext: bytes
    tag: bytes


def mac_input(header: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """The bytes the tag covers: header, IV and ciphertext, length-prefixed."""
    return length_prefixed(header, iv, ciphertext)


def compute_tag(mac_key: bytes, header: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """HMAC-SHA256(mac_key, header || IV || ciphertext), each length-prefixed."""
    if len(mac_key) != MAC_KEY_SIZE:
        raise InvalidKeyError(f"MAC key must be {MAC_KEY_SIZE} bytes, got {len(mac_key)}")
    return hmac.new(mac_key, mac_input(header, iv, ciphertext), hashlib.sha256).digest()


def seal(
    cipher: BlockCipher,
    mac_key: bytes,
    header: bytes,
    plaintext: bytes,
    *,
    rng: RNG = SYSTEM,
) -> Sealed:
    """CBC-encrypt ``plaintext`` under a fresh IV from ``rng``, then tag header, IV and ciphertext."""
    iv = new_iv(rng)
    ciphertext = cbc_encrypt(cipher, iv, plaintext)
    return Sealed(iv, ciphertext, compute_tag(mac_key, header, iv, ciphertext))


def authenticate(mac_key: bytes, header: bytes, sealed: Sealed) -> None:
    """Check the tag in constant time; raise :class:`DecryptionError` if it does not match."""
    expected = compute_tag(mac_key, header, sealed.iv, sealed.ciphertext)
    if not hmac.compare_digest(expected, sealed.tag):
        raise DecryptionError()


def unseal(cipher: BlockCipher, mac_key: bytes, header: bytes, sealed: Sealed) -> bytes:
    """Authenticate, and only then decrypt and unpad. One :class:`DecryptionError` for every failure."""
    authenticate(mac_key, header, sealed)
    if len(sealed.iv) != BLOCK_SIZE or not sealed.ciphertext or len(sealed.ciphertext) % BLOCK_SIZE:
        raise DecryptionError()
    try:
        return cbc_decrypt(cipher, sealed.iv, sealed.ciphertext)
    except CryptoError:
        raise DecryptionError() from None

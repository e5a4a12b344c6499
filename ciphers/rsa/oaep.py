"""RSAES-OAEP, RFC 8017 §7.1: RSA encryption with Optimal Asymmetric Encryption Padding.

The message is hidden in a data block masked by a random seed (and the seed by the block), so
encryption is randomised and the ciphertext is not malleable. This is the encryption scheme to use.
Every decryption failure raises the same :class:`DecryptionError`: telling apart a bad first byte
from a bad label hash is what Manger's attack needs (RFC 8017 §7.1.2 note).
"""

from __future__ import annotations

import hmac

from ciphers.bits import xor_bytes
from ciphers.errors import CryptoError, DecryptionError, MessageTooLongError
from ciphers.rng import RNG, SYSTEM
from ciphers.rsa.core import i2osp, os2ip, rsadp, rsaep
from ciphers.rsa.hashes import DEFAULT_HASH, hash_algorithm
from ciphers.rsa.keys import RSAPrivateKey, RSAPublicKey
from ciphers.rsa.mgf import mgf1


def max_message_length(key: RSAPublicKey | RSAPrivateKey, hash_name: str = DEFAULT_HASH) -> int:
    """The longest message OAEP fits in one block: k - 2hLen - 2 octets (RFC 8017 §7.1.1 step 1b)."""
    return max(key.size_bytes - 2 * hash_algorithm(hash_name).digest_size - 2, 0)


def oaep_encode(
    message: bytes,
    k: int,
    *,
    label: bytes = b"",
    hash_name: str = DEFAULT_HASH,
    mgf_hash: str | None = None,
    rng: RNG = SYSTEM,
) -> bytes:
    """EME-OAEP encoding, RFC 8017 §7.1.1 step 2: EM = 0x00 || maskedSeed || maskedDB, k octets.

    The seed (hLen octets) is the only randomness and is read from ``rng``.
    """
    hash_ = hash_algorithm(hash_name)
    h_len = hash_.digest_size
    if len(message) > k - 2 * h_len - 2:
        raise MessageTooLongError("message too long")
    l_hash = hash_.digest(label)
    ps = bytes(k - len(message) - 2 * h_len - 2)
    db = l_hash + ps + b"\x01" + message
    seed = rng.bytes(h_len)
    mgf_name = mgf_hash or hash_name
    masked_db = xor_bytes(db, mgf1(seed, k - h_len - 1, mgf_name))
    masked_seed = xor_bytes(seed, mgf1(masked_db, h_len, mgf_name))
    return b"\x00" + masked_seed + masked_db


def oaep_decode(
    em: bytes,
    *,
    label: bytes = b"",
    hash_name: str = DEFAULT_HASH,
    mgf_hash: str | None = None,
) -> bytes:
    """EME-OAEP decoding, RFC 8017 §7.1.2 step 3: recover M from EM, or raise :class:`DecryptionError`.

    All three checks (Y = 0, lHash' = lHash, a 0x01 after the zero padding) are computed and combined
    before the one decision, with no early exit. Python gives no constant-time guarantee, but the
    error is the same and the work does not depend on which check failed.
    """
    hash_ = hash_algorithm(hash_name)
    h_len = hash_.digest_size
    k = len(em)
    if k < 2 * h_len + 2:
        raise DecryptionError()
    mgf_name = mgf_hash or hash_name
    y, masked_seed, masked_db = em[0], em[1 : h_len + 1], em[h_len + 1 :]
    seed = xor_bytes(masked_seed, mgf1(masked_db, h_len, mgf_name))
    db = xor_bytes(masked_db, mgf1(seed, k - h_len - 1, mgf_name))

    good = int(hmac.compare_digest(db[:h_len], hash_.digest(label)))
    good &= int(y == 0)
    # Scan PS || 0x01 || M for the first 0x01, remembering whether a non-zero octet came first.
    looking, separator, stray = 1, 0, 0
    for index in range(h_len, len(db)):
        octet = db[index]
        is_one, is_zero = int(octet == 1), int(octet == 0)
        separator |= index * (looking & is_one)
        stray |= looking & (1 - is_one) & (1 - is_zero)
        looking &= 1 - is_one
    good &= (1 - looking) & (1 - stray)
    if not good:
        raise DecryptionError()
    return db[separator + 1 :]


def encrypt(
    key: RSAPublicKey,
    message: bytes,
    *,
    label: bytes = b"",
    hash_name: str = DEFAULT_HASH,
    mgf_hash: str | None = None,
    rng: RNG = SYSTEM,
) -> bytes:
    """RSAES-OAEP-ENCRYPT, RFC 8017 §7.1.1: C = I2OSP(RSAEP(OS2IP(EME-OAEP(M))), k).

    ``mgf_hash`` defaults to ``hash_name`` (MGF1 with the same hash, as almost everyone uses).
    Raises :class:`MessageTooLongError` if M is longer than ``max_message_length``.
    """
    k = key.size_bytes
    em = oaep_encode(message, k, label=label, hash_name=hash_name, mgf_hash=mgf_hash, rng=rng)
    return i2osp(rsaep(key, os2ip(em)), k)


def decrypt(
    key: RSAPrivateKey,
    ciphertext: bytes,
    *,
    label: bytes = b"",
    hash_name: str = DEFAULT_HASH,
    mgf_hash: str | None = None,
    rng: RNG = SYSTEM,
) -> bytes:
    """RSAES-OAEP-DECRYPT, RFC 8017 §7.1.2. Any failure raises :class:`DecryptionError`, one message.

    ``rng`` feeds the blinding of the private operation only; it does not change the result.
    """
    k = key.size_bytes
    if len(ciphertext) != k:
        raise DecryptionError()
    try:
        m = rsadp(key, os2ip(ciphertext), rng=rng)
    except CryptoError:  # c >= n: "ciphertext representative out of range"
        raise DecryptionError() from None
    return oaep_decode(i2osp(m, k), label=label, hash_name=hash_name, mgf_hash=mgf_hash)

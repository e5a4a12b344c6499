"""RSASSA-PSS, RFC 8017 §8.1, with the EMSA-PSS encoding of §9.1: the signature scheme to use.

The hash of the message is bound to a random salt and spread over the whole block by MGF1, which
gives PSS its security proof (Bellare-Rogaway 1996). The salt is read from ``rng``, so the
deterministic vectors reproduce when it is injected.
"""

from __future__ import annotations

import hmac

from ciphers.bits import xor_bytes
from ciphers.errors import CryptoError, MessageTooLongError, VerificationError
from ciphers.rng import RNG, SYSTEM
from ciphers.rsa.core import i2osp, os2ip, rsasp1, rsavp1
from ciphers.rsa.hashes import DEFAULT_HASH, hash_algorithm
from ciphers.rsa.keys import RSAPrivateKey, RSAPublicKey
from ciphers.rsa.mgf import mgf1

PADDING1 = bytes(8)
"""The eight zero octets that start M' (RFC 8017 §9.1.1 step 5)."""


def _top_mask(em_len: int, em_bits: int) -> int:
    """The bits of the first octet that lie within emBits (the leftmost 8emLen - emBits must be zero)."""
    return 0xFF >> (8 * em_len - em_bits)


def _salt_length(salt_length: int | None, h_len: int) -> int:
    if salt_length is None:
        return h_len
    if salt_length < 0:
        raise ValueError("salt length must not be negative")
    return salt_length


def emsa_pss_encode(
    message: bytes,
    em_bits: int,
    *,
    hash_name: str = DEFAULT_HASH,
    salt_length: int | None = None,
    mgf_hash: str | None = None,
    rng: RNG = SYSTEM,
) -> bytes:
    """EMSA-PSS-ENCODE, RFC 8017 §9.1.1: EM = maskedDB || H || 0xbc, with H = Hash(0^8 || mHash || salt).

    ``salt_length`` defaults to hLen; the salt is read from ``rng``.
    """
    hash_ = hash_algorithm(hash_name)
    h_len = hash_.digest_size
    s_len = _salt_length(salt_length, h_len)
    em_len = -(-em_bits // 8)
    if em_len < h_len + s_len + 2:
        raise MessageTooLongError("encoding error: the key is too small for this hash and salt length")
    m_hash = hash_.digest(message)
    salt = rng.bytes(s_len)
    h = hash_.digest(PADDING1 + m_hash + salt)
    db = bytes(em_len - s_len - h_len - 2) + b"\x01" + salt
    masked_db = bytearray(xor_bytes(db, mgf1(h, em_len - h_len - 1, mgf_hash or hash_name)))
    masked_db[0] &= _top_mask(em_len, em_bits)
    return bytes(masked_db) + h + b"\xbc"


def emsa_pss_verify(
    message: bytes,
    em: bytes,
    em_bits: int,
    *,
    hash_name: str = DEFAULT_HASH,
    salt_length: int | None = None,
    mgf_hash: str | None = None,
) -> bool:
    """EMSA-PSS-VERIFY, RFC 8017 §9.1.2: True ("consistent") if EM encodes ``message``."""
    hash_ = hash_algorithm(hash_name)
    h_len = hash_.digest_size
    s_len = _salt_length(salt_length, h_len)
    em_len = -(-em_bits // 8)
    if len(em) != em_len or em_len < h_len + s_len + 2:
        return False
    if em[-1] != 0xBC:
        return False
    masked_db, h = em[: em_len - h_len - 1], em[em_len - h_len - 1 : -1]
    top = _top_mask(em_len, em_bits)
    if masked_db[0] & ~top & 0xFF:
        return False
    db = bytearray(xor_bytes(masked_db, mgf1(h, em_len - h_len - 1, mgf_hash or hash_name)))
    db[0] &= top
    ps_len = em_len - h_len - s_len - 2
    if any(db[:ps_len]) or db[ps_len] != 0x01:
        return False
    salt = bytes(db[len(db) - s_len :]) if s_len else b""
    expected = hash_.digest(PADDING1 + hash_.digest(message) + salt)
    return hmac.compare_digest(h, expected)


def sign(
    key: RSAPrivateKey,
    message: bytes,
    *,
    hash_name: str = DEFAULT_HASH,
    salt_length: int | None = None,
    mgf_hash: str | None = None,
    rng: RNG = SYSTEM,
) -> bytes:
    """RSASSA-PSS-SIGN, RFC 8017 §8.1.1: S = I2OSP(RSASP1(OS2IP(EMSA-PSS-ENCODE(M, modBits - 1))), k).

    ``rng`` gives the salt first, then the blinding of the private operation.
    """
    em = emsa_pss_encode(
        message, key.bits - 1, hash_name=hash_name, salt_length=salt_length, mgf_hash=mgf_hash, rng=rng
    )
    return i2osp(rsasp1(key, os2ip(em), rng=rng), key.size_bytes)


def verify(
    key: RSAPublicKey,
    message: bytes,
    signature: bytes,
    *,
    hash_name: str = DEFAULT_HASH,
    salt_length: int | None = None,
    mgf_hash: str | None = None,
) -> None:
    """RSASSA-PSS-VERIFY, RFC 8017 §8.1.2; raises :class:`VerificationError` unless valid.

    The salt length is a parameter of the scheme, not read from the signature: it must match.
    """
    if len(signature) != key.size_bytes:
        raise VerificationError()
    em_bits = key.bits - 1
    em_len = -(-em_bits // 8)
    try:
        em = i2osp(rsavp1(key, os2ip(signature)), em_len)
    except CryptoError:  # s >= n, or m does not fit in emLen octets
        raise VerificationError() from None
    consistent = emsa_pss_verify(
        message, em, em_bits, hash_name=hash_name, salt_length=salt_length, mgf_hash=mgf_hash
    )
    if not consistent:
        raise VerificationError()


def is_valid(
    key: RSAPublicKey,
    message: bytes,
    signature: bytes,
    *,
    hash_name: str = DEFAULT_HASH,
    salt_length: int | None = None,
    mgf_hash: str | None = None,
) -> bool:
    """True if ``signature`` is a valid RSASSA-PSS signature of ``message`` (see :func:`verify`)."""
    try:
        verify(key, message, signature, hash_name=hash_name, salt_length=salt_length, mgf_hash=mgf_hash)
    except VerificationError:
        return False
    return True

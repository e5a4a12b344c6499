"""PKCS #1 v1.5 encryption (RFC 8017 §7.2, legacy) and signatures (RFC 8017 §8.2 with EMSA §9.2).

RSAES-PKCS1-v1_5 is LEGACY: any party that reveals whether a ciphertext's padding was valid (an
error message, a timing difference) is an oracle for Bleichenbacher's 1998 attack, which decrypts
without the key. It is here for interoperability and for the attack notebooks; encrypt with OAEP.
Decryption failures all raise the same :class:`DecryptionError`.

RSASSA-PKCS1-v1_5 signatures remain sound; verification re-encodes the expected EM and compares
it whole (§8.2.2 step 3), so lax ASN.1 parsing (Bleichenbacher 2006 forgeries) cannot arise.
"""

from __future__ import annotations

import hmac

from ciphers.errors import CryptoError, DecryptionError, MessageTooLongError, VerificationError
from ciphers.rng import RNG, SYSTEM
from ciphers.rsa.core import i2osp, os2ip, rsadp, rsaep, rsasp1, rsavp1
from ciphers.rsa.hashes import DEFAULT_HASH, hash_algorithm
from ciphers.rsa.keys import RSAPrivateKey, RSAPublicKey

MIN_PADDING = 8
"""PS is at least eight octets in both encodings (RFC 8017 §7.2.1 step 1, §9.2 step 5)."""


def max_message_length(key: RSAPublicKey | RSAPrivateKey) -> int:
    """The longest message RSAES-PKCS1-v1_5 fits: k - 11 octets (RFC 8017 §7.2.1 step 1)."""
    return max(key.size_bytes - MIN_PADDING - 3, 0)


def _nonzero_octets(count: int, rng: RNG) -> bytes:
    """``count`` random non-zero octets; zero octets are dropped and redrawn."""
    out = bytearray()
    while len(out) < count:
        out += bytes(octet for octet in rng.bytes(count - len(out)) if octet)
    return bytes(out)


def eme_pkcs1_v15_encode(message: bytes, k: int, *, rng: RNG = SYSTEM) -> bytes:
    """EME-PKCS1-v1_5 encoding, RFC 8017 §7.2.1 step 2: EM = 0x00 || 0x02 || PS || 0x00 || M (legacy).

    PS is k - mLen - 3 non-zero random octets read from ``rng``.
    """
    if len(message) > k - MIN_PADDING - 3:
        raise MessageTooLongError("message too long")
    ps = _nonzero_octets(k - len(message) - 3, rng)
    return b"\x00\x02" + ps + b"\x00" + message


def eme_pkcs1_v15_decode(em: bytes) -> bytes:
    """EME-PKCS1-v1_5 decoding, RFC 8017 §7.2.2 step 3: M, or :class:`DecryptionError` (legacy).

    The checks (0x00 0x02 header, a 0x00 separator, at least eight octets of PS) are combined
    without early exit; the scan reads every octet whatever it finds.
    """
    k = len(em)
    if k < MIN_PADDING + 3:
        raise DecryptionError()
    looking, separator = 1, 0
    for index in range(2, k):
        is_zero = int(em[index] == 0)
        separator |= index * (looking & is_zero)
        looking &= 1 - is_zero
    good = int(em[0] == 0) & int(em[1] == 2) & (1 - looking) & int(separator >= MIN_PADDING + 2)
    if not good:
        raise DecryptionError()
    return em[separator + 1 :]


def encrypt(key: RSAPublicKey, message: bytes, *, rng: RNG = SYSTEM) -> bytes:
    """RSAES-PKCS1-V1_5-ENCRYPT, RFC 8017 §7.2.1. LEGACY: use ``oaep.encrypt`` for new designs."""
    k = key.size_bytes
    em = eme_pkcs1_v15_encode(message, k, rng=rng)
    return i2osp(rsaep(key, os2ip(em)), k)


def decrypt(key: RSAPrivateKey, ciphertext: bytes, *, rng: RNG = SYSTEM) -> bytes:
    """RSAES-PKCS1-V1_5-DECRYPT, RFC 8017 §7.2.2. LEGACY. Every failure: one :class:`DecryptionError`.

    ``rng`` feeds the blinding of the private operation only.
    """
    k = key.size_bytes
    if len(ciphertext) != k:
        raise DecryptionError()
    try:
        m = rsadp(key, os2ip(ciphertext), rng=rng)
    except CryptoError:  # c >= n
        raise DecryptionError() from None
    return eme_pkcs1_v15_decode(i2osp(m, k))


def emsa_pkcs1_v15_encode(message: bytes, em_len: int, hash_name: str = DEFAULT_HASH) -> bytes:
    """EMSA-PKCS1-v1_5 encoding, RFC 8017 §9.2: EM = 0x00 || 0x01 || PS (0xff...) || 0x00 || T.

    T is the DER DigestInfo of H(M): the fixed prefix of §9.2 note 1 followed by the hash.
    """
    hash_ = hash_algorithm(hash_name)
    t = hash_.digest_info_prefix + hash_.digest(message)
    if em_len < len(t) + MIN_PADDING + 3:
        raise MessageTooLongError("intended encoded message length too short for this hash")
    return b"\x00\x01" + b"\xff" * (em_len - len(t) - 3) + b"\x00" + t


def sign(key: RSAPrivateKey, message: bytes, *, hash_name: str = DEFAULT_HASH, rng: RNG = SYSTEM) -> bytes:
    """RSASSA-PKCS1-V1_5-SIGN, RFC 8017 §8.2.1. Deterministic; ``rng`` only blinds the private operation."""
    k = key.size_bytes
    em = emsa_pkcs1_v15_encode(message, k, hash_name)
    return i2osp(rsasp1(key, os2ip(em), rng=rng), k)


def verify(key: RSAPublicKey, message: bytes, signature: bytes, *, hash_name: str = DEFAULT_HASH) -> None:
    """RSASSA-PKCS1-V1_5-VERIFY, RFC 8017 §8.2.2; raises :class:`VerificationError` unless valid.

    The expected EM is rebuilt from the message and compared in full, never parsed.
    """
    k = key.size_bytes
    if len(signature) != k:
        raise VerificationError()
    try:
        em = i2osp(rsavp1(key, os2ip(signature)), k)
        expected = emsa_pkcs1_v15_encode(message, k, hash_name)
    except CryptoError:  # s >= n, or a modulus too short for the hash
        raise VerificationError() from None
    if not hmac.compare_digest(em, expected):
        raise VerificationError()


def is_valid(key: RSAPublicKey, message: bytes, signature: bytes, *, hash_name: str = DEFAULT_HASH) -> bool:
    """True if ``signature`` is a valid RSASSA-PKCS1-v1_5 signature of ``message`` (see :func:`verify`)."""
    try:
        verify(key, message, signature, hash_name=hash_name)
    except VerificationError:
        return False
    return True

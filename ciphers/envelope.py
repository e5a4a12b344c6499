"""The recipe the chat seals messages with: a mode with a fresh IV, then HMAC-SHA256 (encrypt-then-MAC).

Like Fernet (CBC + PKCS#7 + HMAC), built from this toolkit's primitives over any 64-bit block cipher
(DES, Triple DES) and any SP 800-38A mode that takes an IV (:class:`Mode`; the chat's suites use
:data:`CBC`, a stream mode such as CTR plugs in the same way). The tag is HMAC-SHA256 (RFC 2104,
FIPS 180-4) over an unambiguous encoding of the caller's header, the IV and the ciphertext
(:func:`length_prefixed`), so neither the header nor the IV can be changed or re-split without
detection. On opening, the tag is checked with :func:`hmac.compare_digest` *before* anything is
decrypted or unpadded: a forged or altered ciphertext never reaches the padding check (nor, in a
stream mode, the keystream), so there is no padding oracle (Vaudenay 2002), and every failure
raises the same :class:`~ciphers.errors.DecryptionError`.

Encrypt-then-MAC is the composition that is secure generically (Bellare and Namprempre, 2000;
Krawczyk, 2001). Both keys must be independent and uniformly random; the MAC key is 32 bytes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ciphers.blockcipher import BlockCipher
from ciphers.errors import CryptoError, DecryptionError, InvalidKeyError
from ciphers.jobs import Job, one_per_segment, run
from ciphers.modes import BLOCK_SIZE, cbc_decrypt, cbc_encrypt, cbc_encrypt_each_job, new_iv
from ciphers.padding import pkcs7_pad
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
class Mode:
    """A mode of operation as the envelope uses it: ``encrypt``/``decrypt(cipher, iv, data)``.

    ``stream`` modes (CFB, OFB, CTR; SP 800-38A §6.3-6.5) make a keystream from the forward cipher:
    no padding and any length. The block mode CBC (§6.2) pads with PKCS#7 to whole blocks and opens
    with the inverse cipher.
    """

    name: str
    encrypt: Callable[[BlockCipher, bytes, bytes], bytes]
    decrypt: Callable[[BlockCipher, bytes, bytes], bytes]
    stream: bool = False
    #: Many independent (cipher, IV, plaintext) messages at once, when the mode does it faster than
    #: one after another (CBC: side by side on bit slices, :func:`ciphers.modes.cbc_encrypt_each_job`),
    #: as a :data:`~ciphers.jobs.Job`.
    encrypt_many: Callable[[Sequence[tuple[BlockCipher, bytes, bytes]]], Job[list[bytes]]] | None = None

    def encrypt_each(self, messages: Sequence[tuple[BlockCipher, bytes, bytes]]) -> Job[list[bytes]]:
        """``encrypt`` of each (cipher, IV, plaintext), in order, as a job: ``encrypt_many`` if there
        is one, else one message a segment."""
        if self.encrypt_many is not None:
            return self.encrypt_many(messages)
        return one_per_segment(lambda m: self.encrypt(*m), messages)

    def shape_ok(self, iv: bytes, ciphertext: bytes) -> bool:
        """Whether ``iv`` and ``ciphertext`` have lengths this mode can produce (one block; whole blocks)."""
        if len(iv) != BLOCK_SIZE:
            return False
        return self.stream or (bool(ciphertext) and len(ciphertext) % BLOCK_SIZE == 0)

    def first_block(self, iv: bytes, plaintext: bytes, ciphertext: bytes, *, opening: bool) -> bytes:
        """The first block the block cipher processes: the IV for a stream mode; for CBC P1 xor IV
        when sealing, C1 when opening (what a round trace of the message shows)."""
        if self.stream:
            return iv
        if opening:
            return ciphertext[:BLOCK_SIZE]
        return bytes(p ^ v for p, v in zip(pkcs7_pad(plaintext)[:BLOCK_SIZE], iv, strict=True))

    @property
    def inverse_on_open(self) -> bool:
        """Whether opening runs the block cipher backwards (CBC) rather than forwards (stream modes)."""
        return not self.stream


CBC = Mode("CBC", cbc_encrypt, cbc_decrypt, encrypt_many=cbc_encrypt_each_job)
"""SP 800-38A §6.2 with PKCS#7 padding: the chat's mode."""


@dataclass(frozen=True)
class Sealed:
    """What :func:`seal` produces: the IV, the ciphertext and the HMAC-SHA256 tag."""

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
    mode: Mode = CBC,
    rng: RNG = SYSTEM,
) -> Sealed:
    """Encrypt ``plaintext`` in ``mode`` under a fresh IV from ``rng``, then tag header, IV and ciphertext."""
    iv = new_iv(rng)
    ciphertext = mode.encrypt(cipher, iv, plaintext)
    return Sealed(iv, ciphertext, compute_tag(mac_key, header, iv, ciphertext))


def seal_many(
    messages: Sequence[tuple[BlockCipher, bytes, bytes, bytes]], *, mode: Mode = CBC, rng: RNG = SYSTEM
) -> list[Sealed]:
    """:func:`seal` of each (cipher, MAC key, header, plaintext), in order: the IVs are drawn from
    ``rng`` in that order, then every message is encrypted at once (:meth:`Mode.encrypt_each`: side
    by side, each under its own key), then tagged. The same boxes as sealing one after another with
    the same IVs."""
    return run(seal_many_job(messages, mode=mode, rng=rng))


def seal_many_job(
    messages: Sequence[tuple[BlockCipher, bytes, bytes, bytes]], *, mode: Mode = CBC, rng: RNG = SYSTEM
) -> Job[list[Sealed]]:
    """:func:`seal_many` as a :data:`~ciphers.jobs.Job`: the IVs are drawn now, the encryption runs
    in the mode's segments, and the tags come after the last."""
    ivs = [new_iv(rng) for _ in messages]
    encryption = mode.encrypt_each([(m[0], iv, m[3]) for m, iv in zip(messages, ivs, strict=True)])
    return _tagged(messages, ivs, encryption)


def _tagged(
    messages: Sequence[tuple[BlockCipher, bytes, bytes, bytes]],
    ivs: list[bytes],
    encryption: Job[list[bytes]],
) -> Job[list[Sealed]]:
    ciphertexts = yield from encryption
    return [
        Sealed(iv, ciphertext, compute_tag(mac_key, header, iv, ciphertext))
        for (_, mac_key, header, _), iv, ciphertext in zip(messages, ivs, ciphertexts, strict=True)
    ]


def authenticate(mac_key: bytes, header: bytes, sealed: Sealed) -> None:
    """Check the tag in constant time; raise :class:`DecryptionError` if it does not match."""
    expected = compute_tag(mac_key, header, sealed.iv, sealed.ciphertext)
    if not hmac.compare_digest(expected, sealed.tag):
        raise DecryptionError()


def unseal(cipher: BlockCipher, mac_key: bytes, header: bytes, sealed: Sealed, *, mode: Mode = CBC) -> bytes:
    """Authenticate, and only then decrypt (and unpad). One :class:`DecryptionError` for every failure."""
    authenticate(mac_key, header, sealed)
    if not mode.shape_ok(sealed.iv, sealed.ciphertext):
        raise DecryptionError()
    try:
        return mode.decrypt(cipher, sealed.iv, sealed.ciphertext)
    except CryptoError:
        raise DecryptionError() from None

"""The NIST SP 800-38A modes of operation, generic over any 64-bit :class:`~ciphers.blockcipher.BlockCipher`.

ECB (§6.1), CBC (§6.2), CFB with 64- and 8-bit segments (§6.3), OFB (§6.4) and CTR (§6.5), each as
an ``*_encrypt``/``*_decrypt`` pair, plus :func:`encrypt`/:func:`decrypt` that pick a mode by name.

* ECB and CBC pad with PKCS#7 (:mod:`ciphers.padding`) by default; with ``pad=False`` the data must
  be a whole number of 8-byte blocks. CFB, OFB and CTR are stream modes: any length, no padding
  (CFB-8 works byte by byte; CFB-64, OFB and CTR truncate the keystream of a final partial block).
* CTR's counter block is the 8-byte IV read as a big-endian integer, plus one per block, modulo 2^64
  (SP 800-38A §B.1, standard incrementing function with m = 64).
* Errors: an IV that is not exactly 8 bytes raises :class:`~ciphers.errors.InvalidKeyError`; data
  that must be whole blocks and is not raises :class:`~ciphers.errors.BlockLengthError`; bad
  padding raises :class:`~ciphers.errors.PaddingError`; misuse of :func:`encrypt`/:func:`decrypt`
  (unknown mode, missing IV, an IV for ECB, padding for a stream mode) raises :class:`ValueError`.

Blocks travel as 64-bit integers: the whole buffer is unpacked once with :mod:`struct`, the cipher's
``encrypt_int``/``decrypt_int`` is called once per block, and the result is packed once, so the mode
adds only an XOR per block to the cipher's own cost.

Where every block cipher input is known before the first is needed (ECB both ways, CBC and CFB-64
decryption, CTR) and the cipher offers bulk operations
(:class:`~ciphers.blockcipher.BulkBlockCipher`, e.g. the bitslice DES), inputs from the cipher's
``bulk_threshold`` on go to it in one call instead; the output is the same. CBC and CFB encryption
and OFB chain each block to the last and stay one block at a time; :func:`cbc_encrypt_many` runs
many independent CBC messages under one key side by side instead, :func:`cbc_encrypt_each` many
under a key each (:func:`cbc_encrypt_each_job`: the same in segments, to pause between).

IVs must come from :func:`new_iv` (that is, :mod:`secrets`) unless a test fixes them. DES's 64-bit
block also means a key should not encrypt more than a few million blocks (birthday bound 2^32).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from operator import xor
from typing import cast

from ciphers.blockcipher import BlockCipher, BulkBlockCipher
from ciphers.errors import BlockLengthError, InvalidKeyError
from ciphers.jobs import Job, one_per_segment, run
from ciphers.padding import pkcs7_pad, pkcs7_unpad
from ciphers.rng import RNG, SYSTEM

BLOCK_SIZE = 8
MODES = ("ecb", "cbc", "cfb", "cfb8", "ofb", "ctr")
PADDED_MODES = ("ecb", "cbc")
_MASK = (1 << 64) - 1
_MODULUS = 1 << 64


def new_iv(rng: RNG = SYSTEM) -> bytes:
    """A fresh random 8-byte IV (or initial counter block) from :mod:`ciphers.rng`."""
    return rng.bytes(BLOCK_SIZE)


# --- helpers ------------------------------------------------------------------------------------


def _check_cipher(cipher: BlockCipher) -> None:
    if cipher.block_size != BLOCK_SIZE:
        raise ValueError(f"these modes need a 64-bit block cipher, got a {cipher.block_size}-byte block")


def _iv_int(iv: bytes) -> int:
    if len(iv) != BLOCK_SIZE:
        raise InvalidKeyError(f"IV must be {BLOCK_SIZE} bytes, got {len(iv)}")
    return int.from_bytes(iv, "big")


def _whole_blocks(data: bytes, what: str) -> tuple[int, ...]:
    """``data`` as a tuple of 64-bit big-endian integers; it must be a whole number of blocks."""
    n, rest = divmod(len(data), BLOCK_SIZE)
    if rest:
        raise BlockLengthError(f"{what} length {len(data)} is not a multiple of the {BLOCK_SIZE}-byte block")
    blocks: tuple[int, ...] = struct.unpack(f">{n}Q", data)
    return blocks


def _pack(blocks: Iterable[int], n: int) -> bytes:
    return struct.pack(f">{n}Q", *blocks)


def _xor_keystream(data: bytes, keystream: Iterator[int]) -> bytes:
    """XOR ``data`` (any length) with 64-bit keystream blocks; a final partial block uses the first bytes."""
    n, rest = divmod(len(data), BLOCK_SIZE)
    blocks: tuple[int, ...] = struct.unpack(f">{n}Q", data[: n * BLOCK_SIZE])
    out = _pack(map(xor, blocks, keystream), n)
    if rest:
        pad = next(keystream).to_bytes(BLOCK_SIZE, "big")[:rest]
        tail = int.from_bytes(data[n * BLOCK_SIZE :], "big") ^ int.from_bytes(pad, "big")
        out += tail.to_bytes(rest, "big")
    return out


def _block_count(data: bytes) -> int:
    return -(-len(data) // BLOCK_SIZE)


def _bulk(cipher: BlockCipher, size: int) -> BulkBlockCipher | None:
    """The cipher's bulk operations, if it has them and ``size`` bytes are enough to pay for them."""
    threshold = getattr(cipher, "bulk_threshold", None)
    if threshold is None or size < threshold:
        return None
    return cast(BulkBlockCipher, cipher)


def _xor_bytes(data: bytes, keystream: bytes) -> bytes:
    """``data`` XOR the first ``len(data)`` bytes of ``keystream``, as two big integers."""
    n = len(data)
    return (int.from_bytes(data, "big") ^ int.from_bytes(keystream[:n], "big")).to_bytes(n, "big")


# --- ECB, SP 800-38A §6.1 -----------------------------------------------------------------------


def ecb_encrypt(cipher: BlockCipher, data: bytes, *, pad: bool = True) -> bytes:
    """SP 800-38A §6.1 ECB: C_j = E(P_j). Equal plaintext blocks give equal ciphertext blocks,
    so ECB leaks the structure of the message (the "ECB penguin"); use it to study the cipher only."""
    _check_cipher(cipher)
    if pad:
        data = pkcs7_pad(data, BLOCK_SIZE)
    bulk = _bulk(cipher, len(data))
    if bulk is not None and not len(data) % BLOCK_SIZE:
        return bulk.encrypt_blocks(data)
    blocks = _whole_blocks(data, "plaintext")
    return _pack(map(cipher.encrypt_int, blocks), len(blocks))


def ecb_decrypt(cipher: BlockCipher, data: bytes, *, pad: bool = True) -> bytes:
    """SP 800-38A §6.1 ECB: P_j = D(C_j), then strict PKCS#7 unpadding unless ``pad=False``."""
    _check_cipher(cipher)
    bulk = _bulk(cipher, len(data))
    if bulk is not None and not len(data) % BLOCK_SIZE:
        plain = bulk.decrypt_blocks(data)
    else:
        blocks = _whole_blocks(data, "ciphertext")
        plain = _pack(map(cipher.decrypt_int, blocks), len(blocks))
    return pkcs7_unpad(plain, BLOCK_SIZE) if pad else plain


# --- CBC, SP 800-38A §6.2 -----------------------------------------------------------------------


def cbc_encrypt(cipher: BlockCipher, iv: bytes, data: bytes, *, pad: bool = True) -> bytes:
    """SP 800-38A §6.2 CBC: C_1 = E(P_1 ^ IV), C_j = E(P_j ^ C_(j-1)).

    The IV must be unpredictable (App. C): a fresh :func:`new_iv` per message. CBC alone is
    malleable and, with a decryptor that reveals padding errors, decryptable (Vaudenay 2002);
    authenticate the ciphertext before decrypting it.
    """
    _check_cipher(cipher)
    prev = _iv_int(iv)
    if pad:
        data = pkcs7_pad(data, BLOCK_SIZE)
    blocks = _whole_blocks(data, "plaintext")
    enc = cipher.encrypt_int
    out = [prev := enc(block ^ prev) for block in blocks]
    return _pack(out, len(out))


def cbc_decrypt(cipher: BlockCipher, iv: bytes, data: bytes, *, pad: bool = True) -> bytes:
    """SP 800-38A §6.2 CBC: P_j = D(C_j) ^ C_(j-1) with C_0 = IV, then strict PKCS#7 unpadding."""
    _check_cipher(cipher)
    first = _iv_int(iv)
    bulk = _bulk(cipher, len(data))
    if bulk is not None and not len(data) % BLOCK_SIZE:
        plain = _xor_bytes(bulk.decrypt_blocks(data), bytes(iv) + data[:-BLOCK_SIZE])
    else:
        blocks = _whole_blocks(data, "ciphertext")
        plain = _pack(map(xor, map(cipher.decrypt_int, blocks), chain((first,), blocks)), len(blocks))
    return pkcs7_unpad(plain, BLOCK_SIZE) if pad else plain


def _cbc_input(iv: bytes, data: bytes, pad: bool) -> tuple[bytes, bytes]:
    """One stream's (IV, message), checked and padded for CBC (the errors of :func:`cbc_encrypt`)."""
    _iv_int(iv)
    message = pkcs7_pad(data, BLOCK_SIZE) if pad else bytes(data)
    _whole_blocks(message, "plaintext")
    return bytes(iv), message


def cbc_encrypt_many(
    cipher: BlockCipher, streams: Sequence[tuple[bytes, bytes]], *, pad: bool = True
) -> list[bytes]:
    """:func:`cbc_encrypt` of many independent (IV, message) streams under one key: the same
    ciphertexts, in order. Each stream's chain is sequential, but the streams are independent: a
    cipher with bulk operations advances them all together, one block of each per step, when one
    step's blocks reach its ``bulk_threshold``; otherwise they are encrypted one after another."""
    _check_cipher(cipher)
    prepared = [_cbc_input(iv, data, pad) for iv, data in streams]
    bulk = _bulk(cipher, BLOCK_SIZE * len(prepared))
    if bulk is not None:
        return bulk.cbc_encrypt_streams(prepared)
    return [cbc_encrypt(cipher, iv, message, pad=False) for iv, message in prepared]


def cbc_encrypt_each(streams: Sequence[tuple[BlockCipher, bytes, bytes]], *, pad: bool = True) -> list[bytes]:
    """:func:`cbc_encrypt` of many independent (cipher, IV, message) streams, each under its own
    key: the same ciphertexts, in order. Ciphers of one kind with bulk operations for many keys
    (``cbc_encrypt_each``, e.g. the bitslice DES, whose key bits then become slices as well) advance
    all the streams together when one step's blocks reach every cipher's ``bulk_threshold``;
    otherwise the streams are encrypted one after another."""
    return run(cbc_encrypt_each_job(streams, pad=pad))


def cbc_encrypt_each_job(
    streams: Sequence[tuple[BlockCipher, bytes, bytes]], *, pad: bool = True
) -> Job[list[bytes]]:
    """:func:`cbc_encrypt_each` as a :data:`~ciphers.jobs.Job`: the inputs are checked now (a bad
    one raises here), then a segment is a group of steps side by side on bit slices, or one stream
    one after another."""
    prepared = []
    for cipher, iv, data in streams:
        _check_cipher(cipher)
        prepared.append((cipher, *_cbc_input(iv, data, pad)))
    kind = type(prepared[0][0]) if prepared else None
    lanes = getattr(kind, "cbc_encrypt_each", None)
    step = BLOCK_SIZE * len(prepared)
    if lanes is not None and all(type(c) is kind and _bulk(c, step) is not None for c, _, _ in prepared):
        return cast(Callable[[Sequence[tuple[BlockCipher, bytes, bytes]]], Job[list[bytes]]], lanes)(prepared)
    return one_per_segment(lambda p: cbc_encrypt(*p, pad=False), prepared)


# --- CFB, SP 800-38A §6.3 -----------------------------------------------------------------------


def _cfb64_encrypt(cipher: BlockCipher, iv: bytes, data: bytes) -> bytes:
    """CFB-64 encryption: C_j = P_j ^ E(C_(j-1)), C_0 = IV; a final partial segment uses a truncated E."""
    prev = _iv_int(iv)
    n, rest = divmod(len(data), BLOCK_SIZE)
    blocks: tuple[int, ...] = struct.unpack(f">{n}Q", data[: n * BLOCK_SIZE])
    enc = cipher.encrypt_int
    out = _pack([prev := block ^ enc(prev) for block in blocks], n)
    if rest:
        out += _xor_keystream(data[n * BLOCK_SIZE :], iter((enc(prev),)))
    return out


def _cfb64_decrypt(cipher: BlockCipher, iv: bytes, data: bytes) -> bytes:
    """CFB-64 decryption: P_j = C_j ^ E(C_(j-1)); every E input is known, so no sequential chain."""
    first = _iv_int(iv)
    bulk = _bulk(cipher, len(data))
    if bulk is not None:
        inputs = (bytes(iv) + data)[: BLOCK_SIZE * _block_count(data)]
        return _xor_bytes(data, bulk.encrypt_blocks(inputs))
    n = len(data) // BLOCK_SIZE
    blocks: tuple[int, ...] = struct.unpack(f">{n}Q", data[: n * BLOCK_SIZE])
    return _xor_keystream(data, map(cipher.encrypt_int, chain((first,), blocks)))


def _cfb8_crypt(cipher: BlockCipher, iv: bytes, data: bytes, *, decrypt: bool) -> bytes:
    """CFB-8: each byte is XORed with the top byte of E(X), and X shifts in the ciphertext byte."""
    register = _iv_int(iv)
    enc = cipher.encrypt_int
    out = bytearray(len(data))
    for i, byte in enumerate(data):
        result = byte ^ (enc(register) >> 56)
        out[i] = result
        register = ((register << 8) | (byte if decrypt else result)) & _MASK
    return bytes(out)


def _check_segment(segment_bits: int) -> None:
    if segment_bits not in (8, 64):
        raise ValueError(f"CFB segment size must be 8 or 64 bits, got {segment_bits}")


def cfb_encrypt(cipher: BlockCipher, iv: bytes, data: bytes, *, segment_bits: int = 64) -> bytes:
    """SP 800-38A §6.3 CFB-s (s = 64 or 8): C_j = P_j ^ MSB_s(E(I_j)), I_j the last 64 bits of the
    ciphertext stream so far (I_1 = IV). Any length, no padding. The IV must be unpredictable."""
    _check_cipher(cipher)
    _check_segment(segment_bits)
    if segment_bits == 8:
        return _cfb8_crypt(cipher, iv, data, decrypt=False)
    return _cfb64_encrypt(cipher, iv, data)


def cfb_decrypt(cipher: BlockCipher, iv: bytes, data: bytes, *, segment_bits: int = 64) -> bytes:
    """SP 800-38A §6.3 CFB-s decryption: P_j = C_j ^ MSB_s(E(I_j)); only the forward cipher is used."""
    _check_cipher(cipher)
    _check_segment(segment_bits)
    if segment_bits == 8:
        return _cfb8_crypt(cipher, iv, data, decrypt=True)
    return _cfb64_decrypt(cipher, iv, data)


# --- OFB, SP 800-38A §6.4 -----------------------------------------------------------------------


def ofb_encrypt(cipher: BlockCipher, iv: bytes, data: bytes) -> bytes:
    """SP 800-38A §6.4 OFB: O_j = E(O_(j-1)), O_0 = IV; C_j = P_j ^ O_j. Any length, no padding.

    The keystream depends only on key and IV. Reusing an IV with the same key reuses the keystream,
    and then C1 ^ C2 = P1 ^ P2: one known plaintext reveals the other, and two unknown ones fall to
    crib-dragging. An IV must never repeat under a key (SP 800-38A App. C: a nonce).
    """
    _check_cipher(cipher)
    state = _iv_int(iv)
    enc = cipher.encrypt_int
    keystream = [state := enc(state) for _ in range(_block_count(data))]
    return _xor_keystream(data, iter(keystream))


def ofb_decrypt(cipher: BlockCipher, iv: bytes, data: bytes) -> bytes:
    """SP 800-38A §6.4 OFB decryption is the same keystream XOR as encryption."""
    return ofb_encrypt(cipher, iv, data)


# --- CTR, SP 800-38A §6.5 -----------------------------------------------------------------------


def _counter_blocks(start: int, count: int) -> Iterable[int]:
    """T_1 = start, T_j = T_(j-1) + 1 mod 2^64 (SP 800-38A §B.1 with the whole block as counter)."""
    end = start + count
    if end <= _MODULUS:
        return range(start, end)
    return chain(range(start, _MODULUS), range(end - _MODULUS))


def ctr_encrypt(cipher: BlockCipher, iv: bytes, data: bytes) -> bytes:
    """SP 800-38A §6.5 CTR: C_j = P_j ^ E(T_j), T_1 = IV as a 64-bit big-endian integer, +1 mod 2^64.

    Any length, no padding. As with OFB the keystream depends only on key and counter: if two
    messages ever use the same counter block under one key, C1 ^ C2 = P1 ^ P2 and their secrecy is
    gone. With a 64-bit block a random initial counter is only safe for few messages (birthday
    bound); counter blocks must never repeat across all messages under a key (SP 800-38A App. B).
    """
    _check_cipher(cipher)
    start = _iv_int(iv)
    bulk = _bulk(cipher, len(data))
    if bulk is not None:
        return _xor_bytes(data, bulk.encrypt_counter_blocks(start, _block_count(data)))
    keystream = map(cipher.encrypt_int, _counter_blocks(start, _block_count(data)))
    return _xor_keystream(data, keystream)


def ctr_decrypt(cipher: BlockCipher, iv: bytes, data: bytes) -> bytes:
    """SP 800-38A §6.5 CTR decryption is the same keystream XOR as encryption."""
    return ctr_encrypt(cipher, iv, data)


# --- choose a mode by name ------------------------------------------------------------------------


def _resolve(mode: str, iv: bytes | None, pad: bool | None) -> tuple[str, bytes, bool]:
    name = mode.lower()
    if name not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    if name == "ecb":
        if iv is not None:
            raise ValueError("ECB takes no IV")
        return name, b"", pad is not False
    if iv is None:
        raise ValueError(f"mode {name} needs an 8-byte IV (see new_iv)")
    if name not in PADDED_MODES and pad:
        raise ValueError(f"mode {name} is a stream mode and does not pad")
    return name, iv, pad is not False


Crypt = Callable[[BlockCipher, bytes, bytes], bytes]


def encrypt(
    cipher: BlockCipher, mode: str, data: bytes, *, iv: bytes | None = None, pad: bool | None = None
) -> bytes:
    """Encrypt with the named mode (one of :data:`MODES`). ``pad`` defaults to True for ECB/CBC."""
    name, iv_bytes, padded = _resolve(mode, iv, pad)
    if name == "ecb":
        return ecb_encrypt(cipher, data, pad=padded)
    if name == "cbc":
        return cbc_encrypt(cipher, iv_bytes, data, pad=padded)
    if name in ("cfb", "cfb8"):
        return cfb_encrypt(cipher, iv_bytes, data, segment_bits=8 if name == "cfb8" else 64)
    stream: Crypt = ofb_encrypt if name == "ofb" else ctr_encrypt
    return stream(cipher, iv_bytes, data)


def decrypt(
    cipher: BlockCipher, mode: str, data: bytes, *, iv: bytes | None = None, pad: bool | None = None
) -> bytes:
    """Decrypt with the named mode (one of :data:`MODES`). ``pad`` defaults to True for ECB/CBC."""
    name, iv_bytes, padded = _resolve(mode, iv, pad)
    if name == "ecb":
        return ecb_decrypt(cipher, data, pad=padded)
    if name == "cbc":
        return cbc_decrypt(cipher, iv_bytes, data, pad=padded)
    if name in ("cfb", "cfb8"):
        return cfb_decrypt(cipher, iv_bytes, data, segment_bits=8 if name == "cfb8" else 64)
    stream: Crypt = ofb_decrypt if name == "ofb" else ctr_decrypt
    return stream(cipher, iv_bytes, data)

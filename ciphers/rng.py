"""The one place that draws randomness.

Everything that needs random bytes or integers takes an ``rng`` argument defaulting to
:data:`SYSTEM`, which is backed by :mod:`secrets`. Tests inject :class:`DeterministicRNG` so that
known-answer vectors (fixed seeds, salts, nonces) reproduce exactly.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Protocol


class RNG(Protocol):
    """A source of random bytes."""

    def bytes(self, n: int) -> bytes:
        """Return ``n`` random bytes."""
        ...


class SystemRNG:
    """Randomness from the operating system, through :mod:`secrets`."""

    def bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)


class FixedRNG:
    """Replays a given byte string (for vectors whose seed or salt is fixed).

    When it runs out it draws from ``then`` if given (e.g. the salt of a PSS vector first, then
    blinding bytes that do not change the output), and fails otherwise.
    """

    def __init__(self, data: bytes, then: RNG | None = None) -> None:
        self._data = data
        self._pos = 0
        self._then = then

    def bytes(self, n: int) -> bytes:
        if self._pos + n > len(self._data):
            if self._then is not None and self._pos == len(self._data):
                return self._then.bytes(n)
            raise RuntimeError("FixedRNG exhausted")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out


class DeterministicRNG:
    """A reproducible stream (SHA-256 in counter mode over a seed). For tests only, never for keys."""

    def __init__(self, seed: bytes | int | str = 0) -> None:
        self._seed = repr(seed).encode() if not isinstance(seed, bytes) else seed
        self._counter = 0
        self._buffer = b""

    def bytes(self, n: int) -> bytes:
        if len(self._buffer) < n:  # the digests needed, joined once (linear time for long outputs)
            count = -(-(n - len(self._buffer)) // 32)
            first, self._counter = self._counter, self._counter + count
            blocks = (c.to_bytes(8, "big") + self._seed for c in range(first, first + count))
            self._buffer += b"".join(hashlib.sha256(block).digest() for block in blocks)
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out


SYSTEM: RNG = SystemRNG()


def randbits(bits: int, rng: RNG = SYSTEM) -> int:
    """A uniform integer in [0, 2**bits)."""
    if bits <= 0:
        return 0
    nbytes = (bits + 7) // 8
    value = int.from_bytes(rng.bytes(nbytes), "big")
    return value >> (nbytes * 8 - bits)


def randbelow(upper: int, rng: RNG = SYSTEM) -> int:
    """A uniform integer in [0, upper), by rejection sampling (no modulo bias)."""
    if upper <= 0:
        raise ValueError("upper bound must be positive")
    bits = (upper - 1).bit_length()
    while True:
        value = randbits(bits, rng)
        if value < upper:
            return value


def randrange(low: int, high: int, rng: RNG = SYSTEM) -> int:
    """A uniform integer in [low, high)."""
    if high <= low:
        raise ValueError("empty range")
    return low + randbelow(high - low, rng)

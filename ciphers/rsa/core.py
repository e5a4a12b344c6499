"""RSA primitives on integers (RFC 8017 §4 data conversion, §5 cryptographic primitives).

These are *textbook* RSA: deterministic and multiplicatively homomorphic, hence insecure on
their own. Padding schemes (OAEP, PSS) build on them.

The private operation :func:`rsadp` is hardened the way OpenSSL hardens it:

* CRT (RFC 8017 §5.1.2 second form), about three times faster than c^d mod n;
* blinding (Kocher 1996): the exponentiation sees c * r^e instead of c, so its timing does not
  depend on c. Each key keeps a blinding pair (r^e, r^-1) that is squared after each use, which
  costs two multiplications instead of a fresh exponentiation and inversion, and is redrawn from
  the random source every :data:`BLINDING_REFRESH` uses (OpenSSL's BN_BLINDING does the same);
* a fault check: the result is re-encrypted and compared before it is released, because one
  faulty CRT half would reveal a factor of n through gcd(s^e - m, n) (Boneh, DeMillo and
  Lipton 1997, the "Bellcore attack").
"""

from __future__ import annotations

import threading
import weakref

from ciphers import bigint
from ciphers.errors import CryptoError
from ciphers.rng import RNG, SYSTEM, randrange
from ciphers.rsa.keys import RSAPrivateKey, RSAPublicKey

BLINDING_REFRESH = 32
"""Uses of one blinding pair (squared each time) before a fresh r is drawn."""


def i2osp(x: int, length: int) -> bytes:
    """RFC 8017 §4.1 I2OSP: a non-negative integer to an octet string of ``length`` bytes."""
    if x < 0 or x >= 256**length:
        raise CryptoError("integer too large")
    return x.to_bytes(length, "big")


def os2ip(octets: bytes) -> int:
    """RFC 8017 §4.2 OS2IP: an octet string to a non-negative integer."""
    return int.from_bytes(octets, "big")


def rsaep(key: RSAPublicKey | RSAPrivateKey, m: int) -> int:
    """RFC 8017 §5.1.1 RSAEP: c = m^e mod n. Textbook RSA: insecure without padding."""
    if not 0 <= m < key.n:
        raise CryptoError("message representative out of range")
    return int(bigint.powmod(m, key.e, key.n))


def rsadp_plain(key: RSAPrivateKey, c: int) -> int:
    """RFC 8017 §5.1.2 RSADP, first form: m = c^d mod n (no CRT; slower, for teaching)."""
    if not 0 <= c < key.n:
        raise CryptoError("ciphertext representative out of range")
    return int(bigint.powmod(c, key.d, key.n))


def rsadp_crt(key: RSAPrivateKey, c: int) -> int:
    """RFC 8017 §5.1.2 RSADP, second form (CRT): m1 = c^dP mod p, m2 = c^dQ mod q, recombine.

    Garner's recombination: h = (m1 - m2) * qInv mod p, m = m2 + q * h.
    """
    if not 0 <= c < key.n:
        raise CryptoError("ciphertext representative out of range")
    return int(_context(key).crt(bigint.mpz(c)))


def rsadp(key: RSAPrivateKey, c: int, *, blinding: bool = True, rng: RNG = SYSTEM) -> int:
    """The private operation every scheme uses: CRT, blinded by default, fault-checked.

    ``rng`` only refreshes the blinding pair; the result never depends on it.
    """
    if not 0 <= c < key.n:
        raise CryptoError("ciphertext representative out of range")
    ctx = _context(key)
    big_c = bigint.mpz(c)
    if blinding:
        blind, unblind = ctx.next_blinding(rng)
        m = ctx.crt(big_c * blind % ctx.n) * unblind % ctx.n
    else:
        m = ctx.crt(big_c)
    # m^e ≡ c (mod n) checked modulo p and q: the same by the CRT, and cheaper on half-size numbers.
    if bigint.powmod(m, ctx.e, ctx.p) != big_c % ctx.p or bigint.powmod(m, ctx.e, ctx.q) != big_c % ctx.q:
        raise CryptoError("RSA private operation failed its consistency check (fault or bad key)")
    return int(m)


class _PrivateContext:
    """Per-key state for the private operation: the numbers as backend integers and the blinding pair."""

    def __init__(self, key: RSAPrivateKey) -> None:
        self.n = bigint.mpz(key.n)
        self.e = bigint.mpz(key.e)
        self.p = bigint.mpz(key.p)
        self.q = bigint.mpz(key.q)
        self.dp = bigint.mpz(key.dp)
        self.dq = bigint.mpz(key.dq)
        self.qinv = bigint.mpz(key.qinv)
        self._lock = threading.Lock()
        self._blind = bigint.mpz(1)
        self._unblind = bigint.mpz(1)
        self._uses_left = 0

    def crt(self, c: bigint.mpz) -> bigint.mpz:
        """RSADP second form with Garner's recombination."""
        m1 = bigint.powmod(c, self.dp, self.p)
        m2 = bigint.powmod(c, self.dq, self.q)
        h = (m1 - m2) * self.qinv % self.p
        return m2 + self.q * h

    def next_blinding(self, rng: RNG) -> tuple[bigint.mpz, bigint.mpz]:
        """(r^e, r^-1) for this use; the stored pair is squared, or redrawn when used up."""
        with self._lock:
            if self._uses_left == 0:
                self._blind, self._unblind = self._fresh_pair(rng)
                self._uses_left = BLINDING_REFRESH
            pair = self._blind, self._unblind
            self._blind = self._blind * self._blind % self.n
            self._unblind = self._unblind * self._unblind % self.n
            self._uses_left -= 1
            return pair

    def _fresh_pair(self, rng: RNG) -> tuple[bigint.mpz, bigint.mpz]:
        n = int(self.n)
        while True:
            r = randrange(2, n - 1, rng)
            try:
                unblind = bigint.invert(r, self.n)
            except ZeroDivisionError:  # r shares a factor with n: astronomically unlikely
                continue
            return bigint.powmod(r, self.e, self.n), unblind


_CONTEXTS: weakref.WeakKeyDictionary[RSAPrivateKey, _PrivateContext] = weakref.WeakKeyDictionary()
_CONTEXTS_LOCK = threading.Lock()


def _context(key: RSAPrivateKey) -> _PrivateContext:
    """The key's private-operation state, created on first use and dropped with the key."""
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        with _CONTEXTS_LOCK:
            ctx = _CONTEXTS.get(key)
            if ctx is None:
                ctx = _PrivateContext(key)
                _CONTEXTS[key] = ctx
    return ctx


# RFC 8017 §5.2: the signature primitives are the same maps.
rsasp1 = rsadp
rsavp1 = rsaep

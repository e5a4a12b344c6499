"""RSA keys (RFC 8017 §3), their generation (FIPS 186-5 §A.1) and consistency checks.

Generation: two distinct random primes of exactly half the modulus size with their top two bits
set, e = 65537, d = e^-1 mod lambda(n), and the CRT parameters. Sizes below 2048 bits are allowed
for teaching, down to 256, with an :class:`~ciphers.errors.InsecureWarning`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from ciphers import bigint
from ciphers.errors import InsecureWarning, InvalidKeyError
from ciphers.primes import Progress, is_probable_prime, random_prime
from ciphers.rng import RNG, SYSTEM

DEFAULT_BITS = 2048
DEFAULT_E = 65537
MIN_BITS = 256
MAX_BITS = 16384
"""The largest modulus any key may have (OpenSSL's OPENSSL_RSA_MAX_MODULUS_BITS). Checked before any
prime or consistency test, so that loading a key costs at most the check of two 8192-bit primes."""
CHECK_ROUNDS = 8
"""Miller-Rabin rounds for each prime when a loaded private key is checked (error <= 4**-8 each)."""
FACTORING_TRIES = 100
"""Bases tried when p and q are recovered from (n, e, d): each succeeds with probability at least 1/2
for a genuine two-prime key (NIST SP 800-56B Rev. 2 Appendix C.2), so 100 failures mean a bad key."""
IDENTITY_BITS = (2048, 4096)
IDENTITY_EXPONENTS = frozenset({DEFAULT_E})
"""The modulus sizes and public exponents an identity key may have: :func:`check_identity_public_key`."""


@dataclass(frozen=True)
class RSAPublicKey:
    """(n, e), RFC 8017 §3.1."""

    n: int
    e: int

    @property
    def bits(self) -> int:
        """The modulus length in bits."""
        return self.n.bit_length()

    @property
    def size_bytes(self) -> int:
        """k, the modulus length in octets."""
        return (self.n.bit_length() + 7) // 8


@dataclass(frozen=True)
class RSAPrivateKey:
    """The private key with its CRT parameters, RFC 8017 §3.2 (second representation).

    The private numbers stay out of ``repr`` so that a key printed in a log does not leak.
    """

    n: int
    e: int
    d: int = field(repr=False)
    p: int = field(repr=False)
    q: int = field(repr=False)
    dp: int = field(repr=False)
    dq: int = field(repr=False)
    qinv: int = field(repr=False)

    @property
    def bits(self) -> int:
        """The modulus length in bits."""
        return self.n.bit_length()

    @property
    def size_bytes(self) -> int:
        """k, the modulus length in octets."""
        return (self.n.bit_length() + 7) // 8

    def public_key(self) -> RSAPublicKey:
        """(n, e)."""
        return RSAPublicKey(self.n, self.e)

    @classmethod
    def from_primes(cls, p: int, q: int, e: int = DEFAULT_E, d: int | None = None) -> RSAPrivateKey:
        """Build the key from p, q and e (d = e^-1 mod lambda(n) unless given), RFC 8017 §3.2."""
        if p == q:
            raise InvalidKeyError("p and q must be distinct")
        n = p * q
        if d is None:
            lam = int(bigint.lcm(p - 1, q - 1))
            try:
                d = int(bigint.invert(e, lam))
            except ZeroDivisionError:
                raise InvalidKeyError("e is not invertible modulo lambda(n)") from None
        try:
            qinv = int(bigint.invert(q, p))
        except ZeroDivisionError:
            raise InvalidKeyError("q is not invertible modulo p") from None
        return cls(n=n, e=e, d=d, p=p, q=q, dp=d % (p - 1), dq=d % (q - 1), qinv=qinv)

    @classmethod
    def from_components(cls, n: int, e: int, d: int) -> RSAPrivateKey:
        """Recover p and q from (n, e, d) (RFC 8017 does not say how; NIST SP 800-56B Rev. 2 App. C.2)
        and return the key only if it passes :func:`check_private_key`.

        The size bound comes first; then at most :data:`FACTORING_TRIES` bases. A modulus with three
        or more primes splits too, but its cofactor is not prime, so it is refused.
        """
        check_public_key(RSAPublicKey(n, e))
        if not 0 < d < n:
            raise InvalidKeyError("RSA private exponent d is out of range")
        k = d * e - 1
        if k % 2:
            raise InvalidKeyError("(n, e, d) is not a consistent RSA key")
        t = 0
        while k % (2 << t) == 0:
            t += 1
        for g in range(2, 2 + FACTORING_TRIES):
            y = int(bigint.powmod(g, k >> t, n))
            for _ in range(t):
                if y in (1, n - 1):
                    break
                x = y * y % n
                if x == 1:
                    p = int(bigint.gcd(y - 1, n))
                    q = n // p
                    key = cls.from_primes(max(p, q), min(p, q), e, d)
                    check_private_key(key)
                    return key
                y = x
        raise InvalidKeyError("could not factor n from (n, e, d)")


def check_public_key(key: RSAPublicKey | RSAPrivateKey) -> None:
    """Raise :class:`InvalidKeyError` unless n is odd and composite-sized and 3 <= e < n is odd.

    The partial public-key validation of NIST SP 800-89 §5.3.3 without the primality and
    factor checks (a public key gives nothing to check them with), after the size bound
    n < 2^:data:`MAX_BITS`, which comes first so that no later check works on a huge number.
    """
    if key.n.bit_length() > MAX_BITS:
        raise InvalidKeyError(f"RSA modulus has {key.n.bit_length()} bits, above the maximum {MAX_BITS}")
    if key.n < 15 or key.n % 2 == 0:
        raise InvalidKeyError("RSA modulus n must be an odd integer of at least 4 bits")
    if not 3 <= key.e < key.n or key.e % 2 == 0:
        raise InvalidKeyError("RSA public exponent e must be odd with 3 <= e < n")


def check_identity_public_key(key: RSAPublicKey | RSAPrivateKey) -> None:
    """Raise :class:`InvalidKeyError` unless the key may serve as an identity: a modulus of
    :data:`IDENTITY_BITS` (2048 to 4096) bits and e in :data:`IDENTITY_EXPONENTS` (65537).

    Cost: two comparisons and a parity test, whatever the key's size, so it can run on every key
    received from the network before the key is used; it bounds each later public operation to one
    4096-bit exponentiation by 65537 (17 multiplications).
    """
    low, high = IDENTITY_BITS
    if not low <= key.n.bit_length() <= high:
        raise InvalidKeyError(
            f"an identity RSA modulus must have {low} to {high} bits, not {key.n.bit_length()}"
        )
    if key.e not in IDENTITY_EXPONENTS:
        allowed = ", ".join(str(e) for e in sorted(IDENTITY_EXPONENTS))
        raise InvalidKeyError(f"an identity RSA public exponent must be {allowed}")
    if key.n % 2 == 0:
        raise InvalidKeyError("RSA modulus n must be odd")


def check_private_key(key: RSAPrivateKey, rounds: int = CHECK_ROUNDS) -> None:
    """Raise :class:`InvalidKeyError` unless the numbers are consistent (as ``openssl rsa -check``).

    n = p * q with p != q both (probably) prime; e * d ≡ 1 modulo lambda(n) (which also accepts
    a d computed modulo phi(n), since lambda divides phi); dP = d mod (p - 1), dQ = d mod (q - 1)
    and q * qInv ≡ 1 (mod p) with 0 < qInv < p (RFC 8017 §3.2).
    """
    check_public_key(key)
    p, q = key.p, key.q
    if p < 3 or q < 3 or p == q:
        raise InvalidKeyError("RSA primes p and q must be distinct odd primes")
    if p * q != key.n:
        raise InvalidKeyError("RSA modulus n is not p * q")
    if not is_probable_prime(p, rounds) or not is_probable_prime(q, rounds):
        raise InvalidKeyError("RSA factor p or q is not prime")
    if not 0 < key.d < key.n:
        raise InvalidKeyError("RSA private exponent d is out of range")
    lam = int(bigint.lcm(p - 1, q - 1))
    if key.e * key.d % lam != 1:
        raise InvalidKeyError("RSA exponents do not match: e * d is not 1 modulo lambda(n)")
    if key.dp != key.d % (p - 1) or key.dq != key.d % (q - 1):
        raise InvalidKeyError("RSA CRT exponents dP, dQ do not match d")
    if not 0 < key.qinv < p or key.q * key.qinv % p != 1:
        raise InvalidKeyError("RSA CRT coefficient qInv is not q^-1 mod p")


def generate(
    bits: int = DEFAULT_BITS,
    e: int = DEFAULT_E,
    rng: RNG = SYSTEM,
    progress: Progress | None = None,
) -> RSAPrivateKey:
    """A fresh RSA key with an exactly ``bits``-bit modulus (FIPS 186-5 §A.1.3). Below 2048 bits it warns.

    Each prime p has gcd(p - 1, e) = 1; the primes differ by more than 2**(bits/2 - 100) and
    d > 2**(bits/2) (FIPS 186-5 §A.1.1 and §A.1.3 step 5.4); ``progress`` is called with the number
    of candidates tested so far.
    """
    if bits < MIN_BITS:
        raise InvalidKeyError(f"RSA keys must have at least {MIN_BITS} bits")
    if bits > MAX_BITS:
        raise InvalidKeyError(f"RSA keys may have at most {MAX_BITS} bits")
    if bits % 2:
        raise InvalidKeyError("RSA key size must be even")
    if e < 3 or e % 2 == 0:
        raise InvalidKeyError("RSA public exponent e must be odd and at least 3")
    if bits < DEFAULT_BITS:
        warnings.warn(
            f"{bits}-bit RSA is too small to be secure; allowed for teaching only",
            InsecureWarning,
            stacklevel=2,
        )
    half = bits // 2
    tally = _Tally(progress)

    def prime_coprime_to_e() -> int:
        while True:
            prime = random_prime(half, rng, tally if progress is not None else None)
            tally.next_search()
            if bigint.gcd(prime - 1, e) == 1:
                return prime

    while True:
        p = prime_coprime_to_e()
        q = prime_coprime_to_e()
        if abs(p - q) <= 1 << (half - 100):
            continue
        key = RSAPrivateKey.from_primes(max(p, q), min(p, q), e)
        if key.d > 1 << half:
            return key


class _Tally:
    """Adds up the counts of successive prime searches for one progress callback."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._done = 0
        self._current = 0

    def __call__(self, count: int) -> None:
        self._current = count
        if self._progress is not None:
            self._progress(self._done + count)

    def next_search(self) -> None:
        self._done += self._current
        self._current = 0

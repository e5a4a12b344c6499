"""RSA primitives on integers (RFC 8017 §4 data conversion, §5 cryptographic primitives).

These are *textbook* RSA: deterministic and multiplicatively homomorphic, hence insecure on
their own. Padding schemes (OAEP, PSS) build on them.
"""

from __future__ import annotations

import gmpy2

from ciphers.errors import CryptoError
from ciphers.rng import RNG, SYSTEM, randrange
from ciphers.rsa.keys import RSAPrivateKey, RSAPublicKey


def i2osp(x: int, length: int) -> bytes:
    """RFC 8017 §4.1 I2OSP: a non-negative integer to an octet string of ``length`` bytes."""
    if x < 0 or x >= 256**length:
        raise CryptoError("integer too large")
    return x.to_bytes(length, "big")


def os2ip(octets: bytes) -> int:
    """RFC 8017 §4.2 OS2IP: an octet string to a non-negative integer."""
    return int.from_bytes(octets, "big")


def rsaep(key: RSAPublicKey, m: int) -> int:
    """RFC 8017 §5.1.1 RSAEP: c = m^e mod n. Textbook RSA: insecure without padding."""
    if not 0 <= m < key.n:
        raise CryptoError("message representative out of range")
    return int(gmpy2.powmod(m, key.e, key.n))


def rsadp_plain(key: RSAPrivateKey, c: int) -> int:
    """RFC 8017 §5.1.2 RSADP, first form: m = c^d mod n (no CRT; slower, for teaching)."""
    if not 0 <= c < key.n:
        raise CryptoError("ciphertext representative out of range")
    return int(gmpy2.powmod(c, key.d, key.n))


def rsadp_crt(key: RSAPrivateKey, c: int) -> int:
    """RFC 8017 §5.1.2 RSADP, second form (CRT): m1 = c^dP mod p, m2 = c^dQ mod q, recombine."""
    if not 0 <= c < key.n:
        raise CryptoError("ciphertext representative out of range")
    m1 = gmpy2.powmod(c, key.dp, key.p)
    m2 = gmpy2.powmod(c, key.dq, key.q)
    h = (m1 - m2) * key.qinv % key.p
    return int(m2 + key.q * h)


def rsadp(key: RSAPrivateKey, c: int, *, blinding: bool = True, rng: RNG = SYSTEM) -> int:
    """The private operation as used by every scheme: CRT, with blinding by default.

    Blinding (Kocher 1996): decrypt c * r^e instead of c and divide by r, so the time taken does
    not depend on c.
    """
    if not blinding:
        return rsadp_crt(key, c)
    if not 0 <= c < key.n:
        raise CryptoError("ciphertext representative out of range")
    while True:
        r = randrange(2, key.n - 1, rng)
        try:
            r_inv = gmpy2.invert(r, key.n)
        except ZeroDivisionError:
            continue
        break
    blinded = c * gmpy2.powmod(r, key.e, key.n) % key.n
    return int(rsadp_crt(key, int(blinded)) * r_inv % key.n)


# RFC 8017 §5.2: the signature primitives are the same maps.
rsasp1 = rsadp
rsavp1 = rsaep

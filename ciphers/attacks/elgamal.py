"""Attacks on textbook ElGamal encryption and signatures, on plain integers (p, g, y, ...).

Each one is why a default of ``ciphers.elgamal`` exists:

* encryption is malleable (c2 times a factor decrypts to the message times that factor) and a
  reused nonce gives away one plaintext from another: hence the KEM with encrypt-then-MAC, and a
  fresh k for every message;
* when g generates all of Z_p*, (c1, c2) reveals the Legendre symbol of m, enough to tell two
  candidate messages apart: hence the subgroup of quadratic residues of a safe-prime group;
* a signature nonce used twice gives away the private key; unhashed (textbook) signatures can be
  forged from the public key alone; a generator that is smooth and divides p - 1 lets anyone sign
  any hash, and so does r = (p - 1)/2 in every safe-prime group, even with g of prime order
  (Bleichenbacher 1996): hence the DSA-form default (:mod:`ciphers.elgamal.dsa`), whose exponents
  live modulo the prime q, whose r and s must lie in [1, q - 1], and whose nonces are
  deterministic (RFC 6979) so that none is ever used for two messages.

Classic signatures follow ElGamal 1985 §III as ``ciphers.elgamal.signatures`` does: r = g^k mod p,
s = (h - x r) k^-1 mod (p - 1), valid when 0 < r < p, 0 < s < p - 1 and g^h ≡ y^r r^s (mod p).
DSA-form ones follow FIPS 186-4 §4.6: r = (g^k mod p) mod q, s = k^-1 (z + x r) mod q.
HAC is Menezes, van Oorschot and Vanstone, Handbook of Applied Cryptography, 1996.
"""

from __future__ import annotations

from dataclasses import dataclass

from ciphers.attacks.dlog import pohlig_hellman, trial_factor
from ciphers.numtheory import gcd, invert, legendre, powmod
from ciphers.primes import is_probable_prime, random_prime
from ciphers.rng import RNG, SYSTEM

Signature = tuple[int, int]
"""(r, s)."""

# --- encryption ---------------------------------------------------------------------------------


def scale_ciphertext(p: int, ciphertext: tuple[int, int], factor: int) -> tuple[int, int]:
    """A ciphertext of ``factor * m mod p`` made from one of m without any key: (c1, c2 factor).

    c2 = m y^k, so c2 factor = (m factor) y^k (ElGamal is multiplicatively homomorphic; ElGamal 1985
    §II; HAC §8.4.1). In the subgroup, ``factor`` must be in the subgroup too.
    """
    c1, c2 = ciphertext
    return c1, c2 * factor % p


def nonce_reuse_decrypt(p: int, known: tuple[int, tuple[int, int]], target: tuple[int, int]) -> int:
    """The plaintext of ``target`` from a known (plaintext, ciphertext) pair made with the same k.

    Both share c1 = g^k and the mask y^k: m2 = c2' * c2^-1 * m1 (HAC §8.4.1, on the need for a
    fresh k). ``ValueError`` if the two c1 differ (the nonce was not reused).
    """
    m1, (c1, c2) = known
    t1, t2 = target
    if t1 != c1:
        raise ValueError("different c1: the two ciphertexts do not share a nonce")
    return t2 * invert(c2, p) * m1 % p


def legendre_of_message(p: int, y: int, ciphertext: tuple[int, int]) -> int:
    """The Legendre symbol (m/p) of the plaintext, read off the public key and the ciphertext.

    (c1/p) = (-1)^k and (y/p) = (-1)^x tell whether k and x are odd, hence (y^k/p); then
    (m/p) = (c2/p) (y^k/p). This leaks one bit of m whenever g generates Z_p*, so textbook ElGamal
    there is not semantically secure (Boneh, "The Decision Diffie-Hellman problem", ANTS-III, 1998).
    In the subgroup of quadratic residues every symbol is 1 and nothing leaks.
    """
    c1, c2 = ciphertext
    mask_symbol = -1 if legendre(c1, p) == -1 and legendre(y, p) == -1 else 1
    return legendre(c2, p) * mask_symbol


def distinguish(p: int, y: int, ciphertext: tuple[int, int], m0: int, m1: int) -> int | None:
    """Which of two candidate messages (0 or 1) ``ciphertext`` encrypts, or ``None`` if their
    Legendre symbols agree: the IND-CPA game lost by textbook ElGamal in Z_p*."""
    symbol = legendre_of_message(p, y, ciphertext)
    s0, s1 = legendre(m0, p), legendre(m1, p)
    if s0 == s1:
        return None
    return 0 if symbol == s0 else 1


def full_group_generator(p: int) -> int:
    """A generator of all of Z_p* for a safe prime p = 2q + 1: the smallest non-residue other than -1.

    Its order divides 2q and is neither 1, 2 nor q (a residue's order divides q), so it is 2q.
    This is the generator *not* to use.
    """
    return next(g for g in range(2, p - 1) if legendre(g, p) == -1)


# --- signatures: reused nonces ------------------------------------------------------------------


def solve_linear_congruence(a: int, b: int, m: int) -> list[int]:
    """Every z in [0, m) with a z ≡ b (mod m): gcd(a, m) of them if it divides b, else none."""
    d = gcd(a, m)
    if b % d:
        return []
    step = m // d
    z0 = (b // d) * invert(a // d % step, step) % step if step > 1 else 0
    return [z0 + t * step for t in range(d)]


@dataclass(frozen=True)
class NonceReuseResult:
    """The nonce and private key recovered, and how many candidates for each were tested."""

    k: int
    x: int
    candidates: int


def nonce_reuse_private_key(
    p: int,
    g: int,
    y: int,
    first: tuple[int, Signature],
    second: tuple[int, Signature],
    *,
    limit: int = 1 << 16,
) -> NonceReuseResult:
    """The private key from two signatures (h1, (r, s1)) and (h2, (r, s2)) sharing the nonce k.

    Subtracting the two signing equations: k (s1 - s2) ≡ h1 - h2 (mod p - 1), then
    x r ≡ h1 - k s1 (mod p - 1). Each congruence has gcd(coefficient, p - 1) solutions when it
    has any; each candidate is checked against r = g^k and y = g^x (HAC §11.5.2, security of
    ElGamal signatures). ``ValueError`` if the r differ or more than ``limit`` candidates would be needed.
    """
    (h1, (r, s1)), (h2, (r2, s2)) = first, second
    if r != r2:
        raise ValueError("different r: the signatures do not share a nonce")
    n = p - 1
    tried = 0
    ks = solve_linear_congruence(s1 - s2, h1 - h2, n)
    if len(ks) > limit:
        raise ValueError(f"{len(ks)} candidate nonces: more than the limit of {limit}")
    for k in ks:
        tried += 1
        if powmod(g, k, p) != r:
            continue
        xs = solve_linear_congruence(r, h1 - k * s1, n)
        if len(xs) > limit:
            raise ValueError(f"{len(xs)} candidate keys: more than the limit of {limit}")
        for x in xs:
            tried += 1
            if powmod(g, x, p) == y:
                return NonceReuseResult(k, x, tried)
    raise ValueError("no candidate fits: the signatures are not valid for this key")


# --- signatures: textbook existential forgeries ------------------------------------------------


def one_parameter_forgery(p: int, g: int, y: int, e: int) -> tuple[int, Signature]:
    """A valid (h, (r, s)) for textbook (unhashed) ElGamal from the public key and any e.

    r = g^e y, s = -r mod (p - 1), h = e s: then y^r r^s = y^r g^(-e r) y^(-r) = g^(e s) = g^h
    (HAC §11.5.2, existential forgery). The forger picks e, not h: hashing h = H(m) defeats it.
    """
    r = powmod(g, e, p) * y % p
    s = -r % (p - 1)
    return e * s % (p - 1), (r, s)


def two_parameter_forgery(p: int, g: int, y: int, u: int, v: int) -> tuple[int, Signature]:
    """A valid (h, (r, s)) for textbook ElGamal from u and v with gcd(v, p - 1) = 1.

    r = g^u y^v, s = -r v^-1, h = s u (mod p - 1): y^r r^s = y^(r + v s) g^(u s) = g^h because
    r + v s ≡ 0 (ElGamal 1985 §III; HAC §11.5.2). ``ValueError`` if v is not invertible.
    """
    r = powmod(g, u, p) * powmod(y, v, p) % p
    s = -r * invert(v, p - 1) % (p - 1)
    return s * u % (p - 1), (r, s)


# --- signatures: Bleichenbacher 1996, a smooth generator dividing p - 1 --------------------------


def bleichenbacher_1996_forgery(p: int, g: int, y: int, h: int) -> Signature:
    """A valid signature on any h, without the key, when g is smooth, divides p - 1 and is a
    quadratic non-residue (as every generator of Z_p* is), and p ≡ 1 (mod 4) (Bleichenbacher,
    "Generating ElGamal signatures without knowing the secret key", EUROCRYPT 1996; HAC §11.5.2).

    With w = (p - 1)/g: g w ≡ -1 gives w^t ≡ g for t = (p - 3)/2 (g a non-residue, t odd). Solve
    (g^w)^z = y^w in the subgroup of order g (easy: g is smooth), i.e. z ≡ x (mod g); then
    r = w and s = t (h - w z) satisfy y^r r^s = g^(w z) g^(h - w z) = g^h. Hashing does not help,
    since any h can be signed; a generator of large prime order does. ``ValueError`` when the
    conditions do not hold.
    """
    w, rest = divmod(p - 1, g)
    if rest or p % 4 != 1 or legendre(g, p) != -1:
        raise ValueError("the attack needs g | p - 1, p ≡ 1 (mod 4) and g a non-residue")
    z = pohlig_hellman(powmod(g, w, p), powmod(y, w, p), p, trial_factor(g, g)).x
    t = (p - 3) // 2
    return w, t * (h - w * z) % (p - 1)


def weak_generator_group(bits: int, rng: RNG = SYSTEM) -> tuple[int, int]:
    """(p, 2) with p = 4q + 1, q prime: 2 generates Z_p* and divides p - 1, as the 1996 attack needs.

    p ≡ 5 (mod 8) makes 2 a non-residue, so its order divides 4q but not 2q; 2^4 ≠ 1, so it is 4q.
    """
    while True:
        q = random_prime(bits - 2, rng)
        if is_probable_prime(4 * q + 1, rng=rng):
            return 4 * q + 1, 2


def bleichenbacher_1996_half_order_forgery(p: int, g: int, h: int) -> Signature:
    """A classic signature on any h under *any* key of a safe-prime group p = 2q + 1, with no secret.

    r = q: every key y lies in the order-q subgroup, so y^r = 1; and 2q ≡ -1 gives q ≡ -2^-1, so
    for an even s = 2t, r^s = 4^-t. With 4 = g^c (c = 2 for the RFC groups' g = 2, c = 1 for the
    g = 4 of custom groups), t ≡ -h c^-1 (mod q) makes y^r r^s = g^h (Bleichenbacher, "Generating
    ElGamal signatures without knowing the secret key", EUROCRYPT 1996, the case g | p - 1 with
    w = (p - 1)/2). The range checks 0 < r < p, 0 < s < p - 1 hold, and hashing h does not help.
    DSA-form verification refuses r = q outright (0 < r < q). ``ValueError`` if 4 is not a small
    power of g or h ≡ 0 (mod q).
    """
    q = (p - 1) // 2
    c = next((c for c in range(1, 65) if powmod(g, c, p) == 4), None)
    if c is None or gcd(c, q) != 1:
        raise ValueError("the attack as written needs 4 = g^c for a small c (g = 2 or g = 4)")
    t = -h * invert(c, q) % q
    if t == 0:
        raise ValueError("h ≡ 0 (mod q): no even s in range")
    return q, 2 * t


# --- DSA-form signatures: the same lessons, and where they stop ---------------------------------


def dsa_existential_forgery(p: int, q: int, g: int, y: int, a: int, b: int) -> tuple[int, Signature]:
    """A valid (z, (r, s)) for the DSA equations on a *bare* z, from the public key and any a, b.

    r = (g^a y^b mod p) mod q, s = r b^-1, z = a s (mod q): then u1 = z s^-1 = a and u2 = r s^-1 = b,
    so the verifier recomputes r (the DSA analogue of the two-parameter forgery, HAC §11.5.2). The
    forger picks z; a real signature is on z = H(m), and finding an m with that hash is a preimage
    search: the hash is what stops it. ``ValueError`` if r = 0 or b is not invertible mod q.
    """
    r = powmod(g, a, p) * powmod(y, b, p) % p % q
    if r == 0:
        raise ValueError("r = 0: choose another a or b")
    s = r * invert(b, q) % q
    return a * s % q, (r, s)


def dsa_nonce_reuse_private_key(q: int, first: tuple[int, Signature], second: tuple[int, Signature]) -> int:
    """The private key x from two DSA signatures (z1, (r, s1)) and (z2, (r, s2)) sharing a nonce k.

    s1 - s2 ≡ k^-1 (z1 - z2) gives k, then x = (s1 k - z1) r^-1 (mod q); q is prime, so exactly
    one candidate each (the PlayStation 3 key, 2010, was recovered so from ECDSA). RFC 6979's
    deterministic k differs for every message, and one message always gets the same signature, so
    no two equations share a k. ``ValueError`` if the r differ or s1 = s2.
    """
    (z1, (r, s1)), (z2, (r2, s2)) = first, second
    if r != r2:
        raise ValueError("different r: the signatures do not share a nonce")
    if (s1 - s2) % q == 0:
        raise ValueError("s1 = s2: the same signature twice gives one equation, not two")
    k = (z1 - z2) * invert(s1 - s2, q) % q
    return (s1 * k - z1) * invert(r, q) % q

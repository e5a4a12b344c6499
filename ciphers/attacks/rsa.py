"""Attacks on textbook RSA and on badly generated RSA keys.

Each one is why a default exists:

* malleability, small e with a short message, Håstad's broadcast and the parity oracle all work
  because textbook RSA is deterministic and multiplicative; OAEP (RFC 8017 §7.1) randomises and
  structures the message so that none of them applies;
* the common-modulus attack is why every key has its own n;
* shared primes (weak randomness at key generation), primes too close together (Fermat) and a
  small private exponent (Wiener) are why key generation follows FIPS 186-5 §A.1: fresh random
  primes that differ by more than 2^(nlen/2 - 100), and d > 2^(nlen/2).

The survey these follow is D. Boneh, "Twenty years of attacks on the RSA cryptosystem", Notices
of the AMS 46(2), 1999 (below "Boneh 1999"); HAC is Menezes, van Oorschot and Vanstone, Handbook
of Applied Cryptography, 1996. Everything is on plain integers (n, e, c), so each attack reads as
the algebra it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ciphers.numtheory import crt, egcd, gcd, invert, iroot, isqrt, powmod
from ciphers.primes import is_probable_prime, random_prime
from ciphers.rng import RNG, SYSTEM, randbits, randrange
from ciphers.rsa.core import rsadp
from ciphers.rsa.keys import RSAPrivateKey

Oracle = Callable[[int], bool]
"""A victim that answers one yes/no question about the decryption of a ciphertext integer."""


@dataclass(frozen=True)
class OracleResult:
    """What an oracle attack recovered, and how many times it asked the oracle."""

    plaintext: int
    queries: int


# --- malleability -------------------------------------------------------------------------------


def scale_ciphertext(n: int, e: int, c: int, factor: int) -> int:
    """A ciphertext of ``factor * m mod n`` made from one of m without the key: c * factor^e mod n.

    RSA is multiplicative, E(a) E(b) = E(ab) (Rivest, Shamir, Adleman 1978 §IV; HAC §8.2.2 (v)).
    """
    return c * powmod(factor, e, n) % n


def chosen_ciphertext_decrypt(
    n: int, e: int, c: int, decrypt: Callable[[int], int], *, rng: RNG = SYSTEM
) -> int:
    """Decrypt ``c`` through a decryption service that refuses to decrypt ``c`` itself.

    Blind c with a random r (c' = c r^e looks unrelated to c), have ``decrypt`` return
    m' = m r, and divide r out (Davida 1982; Boneh 1999, "Blinding"; HAC §8.2.2 (v)).
    """
    while True:
        r = randrange(2, n - 1, rng)
        if gcd(r, n) == 1:
            break
    return decrypt(scale_ciphertext(n, e, c, r)) * invert(r, n) % n


# --- small exponent: roots over the integers --------------------------------------------------


def small_e_root(c: int, e: int, n: int, *, max_wraps: int = 0) -> int:
    """Recover m from c = m^e mod n when m^e < (max_wraps + 1) n, with an integer e-th root.

    With no padding, a short message and a small e, m^e never wraps around n, so c = m^e over the
    integers (Boneh 1999, "Low public exponent"; HAC §8.2.2 (ii)). If it wraps a few times, try
    c + j n for each j. ``ValueError`` if no exact root is found.
    """
    for j in range(max_wraps + 1):
        root, exact = iroot(c + j * n, e)
        if exact:
            return root
    raise ValueError(f"no exact {e}-th root of c + j n for 0 <= j <= {max_wraps}")


def hastad_broadcast(ciphertexts: Sequence[int], moduli: Sequence[int], e: int) -> int:
    """Recover m sent unpadded to e (or more) recipients who all use the exponent e.

    By the CRT the c_i give m^e modulo N = n_1 ... n_e; since m < n_i, m^e < N, so an integer
    e-th root ends it (Håstad, "Solving simultaneous modular equations of low degree", SIAM J.
    Computing 17(2), 1988; Boneh 1999, "Hastad's broadcast attack"). Moduli that are not coprime
    raise ``ValueError`` (and then :func:`shared_prime` factors them).
    """
    if len(ciphertexts) < e:
        raise ValueError(f"Håstad's attack needs at least e = {e} ciphertexts, got {len(ciphertexts)}")
    m_e = crt(ciphertexts, moduli)
    root, exact = iroot(m_e, e)
    if not exact:
        raise ValueError("the combined value is not an e-th power: the messages were not the same")
    return root


# --- one modulus, two exponents -----------------------------------------------------------------


def common_modulus(n: int, e1: int, c1: int, e2: int, c2: int) -> int:
    """Recover m encrypted under (n, e1) and (n, e2) with gcd(e1, e2) = 1, without any key.

    Bézout gives a e1 + b e2 = 1, so c1^a c2^b = m^(a e1 + b e2) = m (Simmons, "A 'weak' privacy
    protocol using the RSA crypto algorithm", Cryptologia 7(2), 1983; HAC §8.2.2 (vi)). A negative
    exponent uses the inverse of c (a c with no inverse is 0, or shares a prime with n and gives
    away the key). If gcd(e1, e2) = g > 1 this yields m^g, and its integer g-th root is tried.
    """
    for c in (c1, c2):
        if (p := gcd(c, n)) != 1:
            return 0 if p == n else powmod(c1, invert(e1, (p - 1) * (n // p - 1)), n)
    g, a, b = egcd(e1, e2)
    m_g = powmod(c1, a, n) * powmod(c2, b, n) % n
    return m_g if g == 1 else small_e_root(m_g, g, n)


# --- shared primes ------------------------------------------------------------------------------


def shared_prime(n1: int, n2: int) -> int | None:
    """The prime two moduli share, or ``None``: Euclid's gcd factors both at once.

    Keys generated with too little entropy repeat primes (Lenstra et al., "Ron was wrong, Whit is
    right", CRYPTO 2012; Heninger et al., "Mining your Ps and Qs", USENIX Security 2012).
    """
    g = gcd(n1, n2)
    return g if 1 < g < max(n1, n2) else None


def product_tree(values: Sequence[int]) -> list[list[int]]:
    """Levels of products, leaves first: each level multiplies neighbouring pairs of the one below."""
    tree = [list(values)]
    while len(tree[-1]) > 1:
        level = tree[-1]
        tree.append(
            [level[i] * level[i + 1] if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
        )
    return tree


def batch_gcd(moduli: Sequence[int]) -> list[int]:
    """For each n_i, gcd(n_i, product of all the others), for all i in quasi-linear time.

    Bernstein's product tree and remainder tree ("How to find smooth parts of integers", 2004), as
    Heninger et al. 2012 §3.3 ran it on millions of keys: reduce P = prod n_j modulo each n_i^2,
    then gcd(n_i, (P mod n_i^2) / n_i). 1 means n_i shares no prime; n_i itself means both of its
    primes occur elsewhere (then pairwise gcds separate them).
    """
    if not moduli:
        return []
    tree = product_tree(moduli)
    remainders = tree[-1]
    for level in reversed(tree[:-1]):
        remainders = [remainders[i // 2] % (value * value) for i, value in enumerate(level)]
    return [gcd(n, r // n) for n, r in zip(moduli, remainders, strict=True)]


def factor_shared_primes(moduli: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Factor every modulus of the list that shares a prime with another: {index: (p, q)}.

    :func:`batch_gcd` finds them; a modulus whose gcd is itself is split by pairwise gcds.
    """
    found: dict[int, tuple[int, int]] = {}
    for i, (n, g) in enumerate(zip(moduli, batch_gcd(moduli), strict=True)):
        if g == n:
            g = next((h for j, other in enumerate(moduli) if j != i and 1 < (h := gcd(n, other)) < n), 1)
        if 1 < g < n:
            found[i] = (max(g, n // g), min(g, n // g))
    return found


# --- close primes: Fermat -----------------------------------------------------------------------


@dataclass(frozen=True)
class FermatResult:
    """The factors found, and how many values of a were tried."""

    p: int
    q: int
    steps: int


def fermat_factor(n: int, *, max_steps: int = 1_000_000) -> FermatResult:
    """Factor n = p q by writing it as a^2 - b^2 = (a + b)(a - b), from a = ceil(sqrt(n)) upwards.

    a = (p + q) / 2 is reached after about (p - q)^2 / (8 sqrt(n)) steps, so primes closer than
    about n^(1/4) fall at once (Fermat, 1643; Knuth, TAOCP vol. 2, §4.5.4 Algorithm C). FIPS 186-5
    §A.1.3 therefore requires |p - q| > 2^(nlen/2 - 100). ``ValueError`` after ``max_steps``.
    """
    a = isqrt(n)
    if a * a < n:
        a += 1
    for step in range(1, max_steps + 1):
        b2 = a * a - n
        b = isqrt(b2)
        if b * b == b2:
            return FermatResult(a + b, a - b, step)
        a += 1
    raise ValueError(f"Fermat's method found no factor in {max_steps} steps")


def fermat_vulnerable_key(
    bits: int, distance_bits: int, *, e: int = 65537, rng: RNG = SYSTEM
) -> RSAPrivateKey:
    """An RSA key (for the demonstration) whose primes differ by less than 2^distance_bits.

    p is a random prime of bits/2 bits; q is the next prime after p + r, r < 2^distance_bits.
    """
    while True:
        p = random_prime(bits // 2, rng)
        q = p + randbits(distance_bits, rng) | 1
        while not is_probable_prime(q, rng=rng):
            q += 2
        if q != p and (p * q).bit_length() == bits and gcd(e, (p - 1) * (q - 1)) == 1:
            return RSAPrivateKey.from_primes(max(p, q), min(p, q), e)


# --- small private exponent: Wiener -------------------------------------------------------------


def continued_fraction(a: int, b: int) -> list[int]:
    """The partial quotients of a/b, by Euclid's algorithm."""
    quotients = []
    while b:
        q, r = divmod(a, b)
        quotients.append(q)
        a, b = b, r
    return quotients


def convergents(quotients: Sequence[int]) -> Iterator[tuple[int, int]]:
    """The convergents h/k of a continued fraction, as (h, k) (Hardy and Wright, *An Introduction to
    the Theory of Numbers*, §10.2: h_i = a_i h_(i-1) + h_(i-2), and the same for k)."""
    h_prev, h = 1, 0
    k_prev, k = 0, 1
    for a in quotients:
        h_prev, h = a * h_prev + h, h_prev
        k_prev, k = a * k_prev + k, k_prev
        yield h_prev, k_prev


@dataclass(frozen=True)
class WienerResult:
    """The private exponent and the factors, and how many convergents of e/n were examined."""

    d: int
    p: int
    q: int
    convergents: int


def wiener(n: int, e: int) -> WienerResult | None:
    """Recover d when d < n^(1/4) / 3 (and q < p < 2q) from the continued fraction of e/n.

    e d - k phi(n) = 1 and phi(n) ≈ n make k/d a very good approximation of e/n, so by Legendre's
    theorem it is one of its convergents. Each candidate k/d gives phi = (e d - 1)/k, and p, q are
    the roots of x^2 - (n - phi + 1) x + n (Wiener, "Cryptanalysis of short RSA secret exponents",
    IEEE Trans. Inf. Theory 36(3), 1990; Boneh 1999, "Low private exponent"). ``None`` if no convergent works.
    """
    for count, (k, d) in enumerate(convergents(continued_fraction(e, n)), start=1):
        if k == 0 or (e * d - 1) % k:
            continue
        phi = (e * d - 1) // k
        s = n - phi + 1  # p + q
        disc = s * s - 4 * n  # (p - q)^2
        if disc < 0:
            continue
        t = isqrt(disc)
        if t * t == disc and (s + t) % 2 == 0:
            p, q = (s + t) // 2, (s - t) // 2
            if p * q == n:
                return WienerResult(d, p, q, count)
    return None


def wiener_vulnerable_key(bits: int, *, rng: RNG = SYSTEM) -> RSAPrivateKey:
    """An RSA key (for the demonstration) with d < n^(1/4) / 3, the bound of Wiener's theorem.

    Both primes have bits/2 bits with their top two bits set, so q < p < 2q; d is drawn first,
    odd and coprime to phi(n), between half the bound and the bound, and e = d^-1 mod phi(n).
    """
    while True:
        p, q = random_prime(bits // 2, rng), random_prime(bits // 2, rng)
        if p == q:
            continue
        p, q = max(p, q), min(p, q)
        n, phi = p * q, (p - 1) * (q - 1)
        bound = iroot(n, 4)[0] // 3
        for _ in range(100):
            d = randrange(bound // 2, bound, rng) | 1
            if d < bound and gcd(d, phi) == 1:
                return RSAPrivateKey.from_primes(p, q, invert(d, phi), d)


# --- the parity (least significant bit) oracle ------------------------------------------------


def parity_oracle(key: RSAPrivateKey) -> Oracle:
    """The victim: a service that reveals only the last bit of each decryption."""

    def oracle(c: int) -> bool:
        return bool(rsadp(key, c, blinding=False) & 1)

    return oracle


def parity_oracle_attack(n: int, e: int, c: int, oracle: Oracle) -> OracleResult:
    """Decrypt c with n.bit_length() queries to an oracle that reveals the parity of a decryption.

    Query i asks for the parity of 2^i m mod n (the ciphertext c 2^(ie)). With k_i = floor(2^i m / n),
    2^i m mod n = 2^i m - k_i n is odd exactly when k_i is (n is odd), and k_i = 2 k_(i-1) + that
    bit: the answers are the binary digits of m / n. After L = bits(n) of them,
    m = ceil(k_L n / 2^L), exactly. The least significant bit is as hard as all of m (Alexi, Chor,
    Goldreich and Schnorr, "RSA and Rabin functions: certain parts are as hard as the whole",
    SIAM J. Computing 17(2), 1988; Goldwasser, Micali and Tong 1982).
    """
    doubler = powmod(2, e, n)
    length = n.bit_length()
    k = 0
    for _ in range(length):
        c = c * doubler % n
        k = 2 * k + oracle(c)
    return OracleResult(plaintext=-(-k * n // (1 << length)), queries=length)

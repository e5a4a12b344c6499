"""The ElGamal attacks recover what the tests planted, and fail where the toolkit's defaults hold.

Keys, nonces and messages are drawn here; the victims are the toolkit's own textbook functions
(``ciphers.elgamal.core``, ``ciphers.elgamal.signatures``), and each signature attack is also
run against the DSA-form default (``ciphers.elgamal.dsa``), where it must fail. sympy supplies
independent Legendre symbols and primitive-root checks.
"""

from __future__ import annotations

import hashlib
import warnings

import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ciphers.attacks import elgamal as attacks
from ciphers.attacks.dlog import primitive_root, smooth_prime
from ciphers.elgamal import dsa
from ciphers.elgamal.core import (
    Ciphertext,
    decrypt_element,
    decrypt_int,
    encrypt_element,
    encrypt_int,
    generate_private_key,
)
from ciphers.elgamal.groups import Group, generate_group, named_group
from ciphers.elgamal.signatures import (
    Signature,
    hash_message,
    sign,
    sign_int,
    verify,
    verify_int,
    verify_textbook,
)
from ciphers.errors import InsecureWarning, VerificationError
from ciphers.numtheory import gcd, powmod
from ciphers.rng import DeterministicRNG, randrange

pytestmark = pytest.mark.filterwarnings("ignore::ciphers.errors.InsecureWarning")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", InsecureWarning)
    GROUP = generate_group(256, DeterministicRNG("test_attacks_elgamal"))
KEY = generate_private_key(GROUP, DeterministicRNG("victim"))
P, Q, G, X, Y = GROUP.p, GROUP.q, GROUP.g, KEY.x, KEY.y

seeds = st.integers(0, 2**32)


def subgroup_element(rng: DeterministicRNG) -> int:
    return GROUP.power(GROUP.random_exponent(rng))


# --- encryption ---------------------------------------------------------------------------------


@settings(max_examples=20)
@given(seeds)
def test_scaling_c2_scales_the_plaintext(seed: int) -> None:
    rng = DeterministicRNG(seed)
    m, factor = subgroup_element(rng), subgroup_element(rng)
    c = encrypt_element(KEY.public_key, m, rng)
    c1, c2 = attacks.scale_ciphertext(P, (c.c1, c.c2), factor)
    assert decrypt_element(KEY, Ciphertext(c1, c2)) == m * factor % P


def test_a_reused_encryption_nonce_gives_away_the_second_message() -> None:
    rng = DeterministicRNG("nonce reuse")
    k = GROUP.random_exponent(rng)
    m1, m2 = subgroup_element(rng), subgroup_element(rng)
    ct1, ct2 = encrypt_int(P, G, Y, m1, k), encrypt_int(P, G, Y, m2, k)
    assert attacks.nonce_reuse_decrypt(P, (m1, ct1), ct2) == m2
    fresh = encrypt_int(P, G, Y, m2, k + 1)
    with pytest.raises(ValueError, match="do not share a nonce"):
        attacks.nonce_reuse_decrypt(P, (m1, ct1), fresh)


# --- the quadratic-residue leak -----------------------------------------------------------------

G_FULL = attacks.full_group_generator(P)


def test_the_full_group_generator_generates_everything() -> None:
    assert sympy.is_primitive_root(G_FULL, P)
    assert G_FULL == sympy.primitive_root(P)


@settings(max_examples=30)
@given(seeds)
def test_in_z_p_star_the_ciphertext_reveals_the_legendre_symbol_of_the_message(seed: int) -> None:
    rng = DeterministicRNG(seed)
    x, k, m = randrange(1, P - 1, rng), randrange(1, P - 1, rng), randrange(1, P, rng)
    y = powmod(G_FULL, x, P)
    ciphertext = encrypt_int(P, G_FULL, y, m, k)
    assert decrypt_int(P, x, *ciphertext) == m
    assert attacks.legendre_of_message(P, y, ciphertext) == sympy.legendre_symbol(m, P)


@settings(max_examples=30)
@given(seeds, st.booleans())
def test_the_leak_wins_the_indistinguishability_game(seed: int, pick: bool) -> None:
    rng = DeterministicRNG(seed)
    x, k = randrange(1, P - 1, rng), randrange(1, P - 1, rng)
    y = powmod(G_FULL, x, P)
    residue, non_residue = (
        powmod(G_FULL, 2 * randrange(1, Q, rng), P),
        powmod(G_FULL, 2 * randrange(1, Q, rng) + 1, P),
    )
    candidates = (residue, non_residue)
    ciphertext = encrypt_int(P, G_FULL, y, candidates[pick], k)
    assert attacks.distinguish(P, y, ciphertext, *candidates) == int(pick)


def test_in_the_quadratic_residue_subgroup_nothing_leaks() -> None:
    rng = DeterministicRNG("subgroup")
    for _ in range(20):
        m = subgroup_element(rng)
        c = encrypt_element(KEY.public_key, m, rng)
        assert attacks.legendre_of_message(P, Y, (c.c1, c.c2)) == 1  # the same for every message
        assert attacks.distinguish(P, Y, (c.c1, c.c2), m, subgroup_element(rng)) is None


# --- signatures: a reused nonce -----------------------------------------------------------------


@settings(max_examples=50)
@given(st.integers(-500, 500), st.integers(-500, 500), st.integers(1, 200))
def test_linear_congruence_solutions_match_brute_force(a: int, b: int, m: int) -> None:
    assert attacks.solve_linear_congruence(a, b, m) == [z for z in range(m) if (a * z - b) % m == 0]


def _two_signatures_same_k(
    p: int, g: int, x: int, rng: DeterministicRNG
) -> tuple[tuple[int, Signature], ...]:
    while True:
        k = randrange(2, p - 1, rng)
        if gcd(k, p - 1) == 1:
            break
    h1, h2 = randrange(0, p - 1, rng), randrange(0, p - 1, rng)
    return (h1, sign_int(p, g, x, h1, k)), (h2, sign_int(p, g, x, h2, k))


@settings(max_examples=20)
@given(seeds)
def test_two_signatures_with_one_nonce_give_away_the_private_key(seed: int) -> None:
    rng = DeterministicRNG(seed)
    first, second = _two_signatures_same_k(P, G, X, rng)
    result = attacks.nonce_reuse_private_key(P, G, Y, first, second)
    assert result.x % Q == X  # g has order q: x and x + q are the same key
    assert powmod(G, result.k, P) == first[1][0]


def test_nonce_reuse_enumerates_solutions_when_the_gcds_are_not_one() -> None:
    """With smooth p - 1, choose h1 - h2 and k so that gcd(s1 - s2, p - 1) and gcd(r, p - 1) exceed 2."""
    p, factors = smooth_prime(64, 8, DeterministicRNG("smooth"))
    g = primitive_root(p, factors)
    f = min(q for q in factors if q > 2)
    rng = DeterministicRNG("gcds")
    x = randrange(1, p - 1, rng)
    h1 = randrange(0, p - 1, rng)
    h2 = (h1 + 2 * f * randrange(1, p, rng)) % (p - 1)  # s1 - s2 = k^-1 (h1 - h2): gcd >= 2f
    k = next(k for k in range(2, p) if gcd(k, p - 1) == 1 and gcd(powmod(g, k, p), p - 1) > 2)
    first, second = (h1, sign_int(p, g, x, h1, k)), (h2, sign_int(p, g, x, h2, k))
    (_, (r, s1)), (_, (_, s2)) = first, second
    assert gcd(s1 - s2, p - 1) >= 2 * f and gcd(r, p - 1) > 2
    assert len(attacks.solve_linear_congruence(s1 - s2, h1 - h2, p - 1)) == gcd(s1 - s2, p - 1)
    result = attacks.nonce_reuse_private_key(p, g, powmod(g, x, p), first, second)
    assert (result.x, result.k) == (x, k)
    assert result.candidates <= gcd(s1 - s2, p - 1) + gcd(r, p - 1)


def test_nonce_reuse_needs_the_same_r() -> None:
    rng = DeterministicRNG("different r")
    first, _ = _two_signatures_same_k(P, G, X, rng)
    _, other = _two_signatures_same_k(P, G, X, rng)
    with pytest.raises(ValueError, match="do not share a nonce"):
        attacks.nonce_reuse_private_key(P, G, Y, first, other)


# --- signatures: textbook existential forgeries -------------------------------------------------


@settings(max_examples=25)
@given(st.integers(1, P - 2))
def test_one_parameter_forgery_verifies_without_the_key(e: int) -> None:
    h, (r, s) = attacks.one_parameter_forgery(P, G, Y, e)
    assert verify_int(P, G, Y, h, r, s)
    verify_textbook(KEY.public_key, h, Signature(r, s))  # raises if invalid


@settings(max_examples=25)
@given(st.integers(1, P - 2), st.integers(1, P - 2))
def test_two_parameter_forgery_verifies_without_the_key(u: int, v: int) -> None:
    v |= 1  # p - 1 = 2q: an odd v is invertible unless q divides it
    if gcd(v, P - 1) != 1:
        with pytest.raises(ValueError):
            attacks.two_parameter_forgery(P, G, Y, u, v)
        return
    h, (r, s) = attacks.two_parameter_forgery(P, G, Y, u, v)
    assert verify_int(P, G, Y, h, r, s)


def test_hashing_defeats_the_existential_forgery() -> None:
    h, (r, s) = attacks.two_parameter_forgery(P, G, Y, 12345, 6789)
    message = h.to_bytes(32, "big")  # the best a forger can do: h is not a hash of anything chosen
    with pytest.raises(VerificationError):
        verify(KEY.public_key, message, Signature(r, s))


# --- Bleichenbacher 1996 ------------------------------------------------------------------------

WEAK_P, WEAK_G = attacks.weak_generator_group(256, DeterministicRNG("weak generator"))


def test_the_weak_group_has_the_shape_the_attack_needs() -> None:
    assert sympy.isprime(WEAK_P) and sympy.isprime((WEAK_P - 1) // 4)
    assert WEAK_P % 8 == 5 and WEAK_G == 2
    assert sympy.is_primitive_root(WEAK_G, WEAK_P)


@settings(max_examples=20)
@given(seeds, st.binary(max_size=64))
def test_bleichenbacher_1996_signs_any_hash_with_a_smooth_generator(seed: int, message: bytes) -> None:
    x = randrange(1, WEAK_P - 1, DeterministicRNG(seed))
    y = powmod(WEAK_G, x, WEAK_P)
    h = int.from_bytes(hashlib.sha256(message).digest(), "big") % (WEAK_P - 1)
    r, s = attacks.bleichenbacher_1996_forgery(WEAK_P, WEAK_G, y, h)
    assert verify_int(WEAK_P, WEAK_G, y, h, r, s)
    assert r == (WEAK_P - 1) // 2  # the tell-tale r = (p - 1)/g


def test_bleichenbacher_1996_with_a_composite_smooth_generator() -> None:
    """g = 210 = 2 * 3 * 5 * 7 dividing p - 1: the dlog modulo g goes through Pohlig-Hellman."""
    g, rng = 210, DeterministicRNG("g = 210")
    while True:
        p = g * 2 * randrange(2**200, 2**201, rng) + 1  # 4 | p - 1
        if sympy.isprime(p) and sympy.legendre_symbol(g, p) == -1:
            break
    x = randrange(1, p - 1, rng)
    y = powmod(g, x, p)
    h = int.from_bytes(hashlib.sha256(b"I owe Mallory everything").digest(), "big") % (p - 1)
    r, s = attacks.bleichenbacher_1996_forgery(p, g, y, h)
    assert verify_int(p, g, y, h, r, s)
    assert r == (p - 1) // g


def test_bleichenbacher_1996_fails_in_the_toolkit_groups() -> None:
    with pytest.raises(ValueError, match="the attack needs"):
        attacks.bleichenbacher_1996_forgery(P, G, Y, 1)  # p ≡ 3 (mod 4), g a residue of order q
    signature = sign(KEY, b"genuine", DeterministicRNG(1))
    verify(KEY.public_key, b"genuine", signature)  # and honest signatures still verify


# --- Bleichenbacher 1996 in the toolkit's own groups: r = q = (p - 1)/2 ---------------------------

with warnings.catch_warnings():
    warnings.simplefilter("ignore", InsecureWarning)
    G4_GROUP = generate_group(256, DeterministicRNG("g4-0"))  # p ≡ 3 (mod 8): g = 4
FFDHE2048 = named_group("ffdhe2048")
FORGED = b"I owe Mallory everything"


def test_the_groups_have_g_2_and_g_4() -> None:
    assert FFDHE2048.g == 2 and G4_GROUP.g == 4 and G4_GROUP.p % 8 == 3


@pytest.mark.parametrize(
    "group", [FFDHE2048, G4_GROUP, GROUP], ids=["ffdhe2048 (g=2)", "custom (g=4)", "custom"]
)
def test_half_order_forgery_signs_any_message_under_any_key_of_the_classic_scheme(group: Group) -> None:
    key = generate_private_key(group, DeterministicRNG(f"any key {group.p}"))
    h = hash_message(group, FORGED)
    r, s = attacks.bleichenbacher_1996_half_order_forgery(group.p, group.g, h)
    assert r == group.q and s % 2 == 0 and 0 < s < group.p - 1
    assert verify_int(group.p, group.g, key.y, h, r, s)  # the classic equation, by the bare function
    verify(key.public_key, FORGED, Signature(r, s))  # and the hashed classic verifier: accepted
    with pytest.raises(VerificationError):  # the DSA-form default: 0 < r < q refuses r = q
        dsa.verify(key.public_key, FORGED, dsa.Signature(r, s))


@settings(max_examples=20)
@given(st.integers(1, Q - 1))
def test_half_order_forgery_works_for_every_hash(h: int) -> None:
    r, s = attacks.bleichenbacher_1996_half_order_forgery(P, G, h)
    assert pow(Y, r, P) * pow(r, s, P) % P == pow(G, h, P)  # g^h ≡ y^r r^s, computed here


def test_half_order_forgery_needs_a_power_of_2_generator() -> None:
    g9 = pow(3, 2, P)  # a residue of order q, but 4 is no small power of it
    with pytest.raises(ValueError, match="g = 2 or g = 4"):
        attacks.bleichenbacher_1996_half_order_forgery(P, g9, 5)


# --- the existential forgeries fail against the DSA-form default -------------------------------


@settings(max_examples=25)
@given(st.integers(1, P - 2))
def test_one_parameter_forgery_fails_against_dsa(e: int) -> None:
    h, (r, s) = attacks.one_parameter_forgery(P, G, Y, e)
    verify_textbook(KEY.public_key, h, Signature(r, s))  # accepted by textbook ElGamal
    for message in (h.to_bytes(32, "big"), b"anything"):
        with pytest.raises(VerificationError):
            dsa.verify(KEY.public_key, message, dsa.Signature(r, s))


@settings(max_examples=25)
@given(st.integers(1, P - 2), st.integers(1, P - 2))
def test_two_parameter_forgery_fails_against_dsa(u: int, v: int) -> None:
    v |= 1
    assume(gcd(v, P - 1) == 1)
    h, (r, s) = attacks.two_parameter_forgery(P, G, Y, u, v)
    assert verify_int(P, G, Y, h, r, s)
    with pytest.raises(VerificationError):
        dsa.verify(KEY.public_key, h.to_bytes(32, "big"), dsa.Signature(r, s))


@settings(max_examples=25)
@given(st.integers(1, Q - 1), st.integers(1, Q - 1), st.binary(max_size=32))
def test_dsa_equations_on_a_bare_z_are_forgeable_but_the_hash_stops_it(
    a: int, b: int, message: bytes
) -> None:
    try:
        z, (r, s) = attacks.dsa_existential_forgery(P, Q, G, Y, a, b)
    except ValueError:
        return  # r = 0: no forgery from these a, b
    assert dsa.verify_int(P, Q, G, Y, z, r, s)  # a valid (z, r, s) without x
    with pytest.raises(VerificationError):  # but z is no SHA-256 of a message anyone knows
        dsa.verify(KEY.public_key, message, dsa.Signature(r, s))


# --- nonce reuse: classic ElGamal and DSA give away the key; RFC 6979 never reuses -----------------


@settings(max_examples=20)
@given(seeds)
def test_two_dsa_signatures_with_one_nonce_give_away_the_private_key(seed: int) -> None:
    rng = DeterministicRNG(seed)
    k, z1, z2 = (randrange(1, Q, rng) for _ in range(3))
    assume(z1 != z2)
    (r, s1), (_, s2) = dsa.sign_int(P, Q, G, X, z1, k), dsa.sign_int(P, Q, G, X, z2, k)
    assert attacks.dsa_nonce_reuse_private_key(Q, (z1, (r, s1)), (z2, (r, s2))) == X


def test_deterministic_nonces_never_repeat_so_the_attack_has_nothing_to_work_on() -> None:
    first, second = dsa.sign(KEY, b"pay Alice 10", None), dsa.sign(KEY, b"pay Alice 1000", None)
    assert first.r != second.r  # a new message, a new k
    z1, z2 = (dsa.hash_to_z(hashlib.sha256(m).digest(), Q) for m in (b"pay Alice 10", b"pay Alice 1000"))
    with pytest.raises(ValueError, match="do not share a nonce"):
        attacks.dsa_nonce_reuse_private_key(Q, (z1, (first.r, first.s)), (z2, (second.r, second.s)))
    again = dsa.sign(KEY, b"pay Alice 10", None)
    assert again == first  # the same message twice: the same signature, one equation
    with pytest.raises(ValueError, match="one equation"):
        attacks.dsa_nonce_reuse_private_key(Q, (z1, (first.r, first.s)), (z1, (again.r, again.s)))

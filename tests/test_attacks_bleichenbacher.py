"""Bleichenbacher 1998 decrypts through our own PKCS#1 v1.5 decryption used as an oracle, and
Bleichenbacher 2006 forges e = 3 signatures that a lax verifier accepts and ours rejects.

Keys, messages and the oracle's answers all come from this test; the attack sees only n, e, the
ciphertext and yes/no answers. The 1998 runs are seeded: the cost of step 2a varies a lot from one
key and message to the next (see the module docstring); these seeds were picked to keep the suite
fast, and the query counts are asserted against the bounds the analysis gives.
"""

from __future__ import annotations

import warnings

import pytest

from ciphers.attacks import bleichenbacher as bb
from ciphers.errors import InsecureWarning, VerificationError
from ciphers.rng import DeterministicRNG, randbelow
from ciphers.rsa import keys, pkcs1_v15
from ciphers.rsa.core import i2osp, os2ip, rsadp, rsaep
from ciphers.rsa.hashes import hash_algorithm
from ciphers.rsa.keys import RSAPrivateKey


def small_key(seed: int, bits: int) -> RSAPrivateKey:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return keys.generate(bits, rng=DeterministicRNG(seed))


class Counted:
    """Wraps an oracle and counts the questions actually asked."""

    def __init__(self, oracle: bb.Oracle) -> None:
        self.oracle = oracle
        self.calls = 0

    def __call__(self, c: int) -> bool:
        self.calls += 1
        return self.oracle(c)


# --- 1998 ---------------------------------------------------------------------------------------


def test_the_oracles_agree_with_decryption() -> None:
    key = small_key(0, 512)
    good = os2ip(pkcs1_v15.encrypt(key.public_key(), b"x", rng=DeterministicRNG(1)))
    rng = DeterministicRNG("junk")
    junk = [randbelow(key.n, rng) for _ in range(50)]
    strict, lax = bb.pkcs1_v15_oracle(key), bb.prefix_oracle(key)
    assert strict(good) and lax(good)
    for c in junk:
        em = i2osp(rsadp(key, c), key.size_bytes)
        assert lax(c) == (em[:2] == b"\x00\x02")
        assert not strict(c)  # a random EM is conforming with probability below 2^-15


@pytest.mark.parametrize(
    ("bits", "seed", "strict"),
    [(512, 0, True), (512, 0, False), (512, 1, False), (256, 4, False)],
    ids=[
        "512-bit strict oracle",
        "512-bit prefix oracle",
        "512-bit prefix oracle #2",
        "256-bit prefix oracle",
    ],
)
def test_padding_oracle_decrypts_a_pkcs1_v15_ciphertext(bits: int, seed: int, strict: bool) -> None:
    key = small_key(seed, bits)
    message = b"attack at dawn"
    ciphertext = pkcs1_v15.encrypt(key.public_key(), message, rng=DeterministicRNG(seed + 100))
    oracle = Counted(bb.pkcs1_v15_oracle(key) if strict else bb.prefix_oracle(key))
    result = bb.bleichenbacher_1998(key.n, key.e, os2ip(ciphertext), oracle, rng=DeterministicRNG(seed))
    assert result.message(key.size_bytes) == message
    assert result.plaintext == rsadp(key, os2ip(ciphertext))
    assert result.queries == oracle.calls
    # step 2c halves an interval of width B = 2^(8k - 16) about once per round
    assert 8 * key.size_bytes - 48 <= result.iterations <= 8 * key.size_bytes
    assert result.iterations < result.queries < 200_000


def test_a_nonconforming_ciphertext_is_blinded_first() -> None:
    key = small_key(4, 256)
    m = randbelow(key.n, DeterministicRNG("not padded"))
    oracle = bb.prefix_oracle(key)
    assert not oracle(rsaep(key, m))
    result = bb.bleichenbacher_1998(key.n, key.e, rsaep(key, m), oracle, rng=DeterministicRNG(7))
    assert result.plaintext == m


def test_the_attack_stops_at_max_queries() -> None:
    key = small_key(0, 256)
    c = os2ip(pkcs1_v15.encrypt(key.public_key(), b"x", rng=DeterministicRNG(3)))
    with pytest.raises(RuntimeError, match="gave up after 100 oracle queries"):
        bb.bleichenbacher_1998(key.n, key.e, c, bb.prefix_oracle(key), max_queries=100)


# --- 2006 ---------------------------------------------------------------------------------------

E3_KEY = keys.generate(2048, 3, rng=DeterministicRNG("e=3 forgery"))


@pytest.mark.parametrize("bits", [2048, 3072])
def test_forged_e3_signature_fools_the_lenient_verifier_and_not_ours(bits: int) -> None:
    key = E3_KEY if bits == 2048 else keys.generate(bits, 3, rng=DeterministicRNG("e=3 forgery 3072"))
    public = key.public_key()
    message = b"pay Mallory 1000 euros"
    forged = bb.bleichenbacher_2006_forgery(key.n, message)
    assert bb.lenient_verify(key.n, key.e, message, forged)
    with pytest.raises(VerificationError):
        pkcs1_v15.verify(public, message, forged)
    # the forgery is a plain cube root: no reduction modulo n, and garbage after the hash
    s = os2ip(forged)
    em = i2osp(s**3, key.size_bytes)
    assert s**3 < key.n
    sha256 = hash_algorithm("sha256")
    prefix = b"\x00\x01" + b"\xff" * 8 + b"\x00" + sha256.digest_info_prefix + sha256.digest(message)
    assert em.startswith(prefix)
    assert em != pkcs1_v15.emsa_pkcs1_v15_encode(message, key.size_bytes)


def test_lenient_verifier_accepts_genuine_signatures_and_rejects_the_wrong_message() -> None:
    message = b"pay Mallory 1000 euros"
    genuine = pkcs1_v15.sign(E3_KEY, message)
    assert bb.lenient_verify(E3_KEY.n, E3_KEY.e, message, genuine)
    forged = bb.bleichenbacher_2006_forgery(E3_KEY.n, message)
    assert not bb.lenient_verify(E3_KEY.n, E3_KEY.e, b"pay Mallory 1 euro", forged)
    assert not bb.lenient_verify(E3_KEY.n, E3_KEY.e, message, forged[:-1])


def test_the_forgery_needs_a_small_exponent_and_room_for_garbage() -> None:
    key = keys.generate(2048, rng=DeterministicRNG("e=65537"))
    forged = bb.bleichenbacher_2006_forgery(key.n, b"m")  # a cube root means nothing when e = 65537
    assert not bb.lenient_verify(key.n, key.e, b"m", forged)
    with pytest.raises(ValueError, match="too short"):
        bb.bleichenbacher_2006_forgery(E3_KEY.n, b"m", ff_count=60)

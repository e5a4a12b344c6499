"""RSA integer primitives (RFC 8017 §4-5): the RSA Labs worked example, CRT, blinding, faults."""

from __future__ import annotations

import dataclasses
import math
import threading
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ciphers.errors import CryptoError, InsecureWarning
from ciphers.rng import DeterministicRNG, FixedRNG
from ciphers.rsa import core
from ciphers.rsa.keys import RSAPrivateKey, generate
from ciphers.vectors import vector_file
from ciphers.vectors.loader import load_hex_blocks

# RSA Labs oaep-int.txt: a 1024-bit key and every intermediate value of one CRT decryption.
INT = {}
for _block in load_hex_blocks(vector_file("oaep-int.txt")):
    INT.setdefault(_block.label, _block.value)


def _n(label: str) -> int:
    return int.from_bytes(INT[label], "big")


LABS_KEY = RSAPrivateKey(
    n=_n("Modulus"),
    e=_n("Public exponent"),
    d=_n("Private exponent"),
    p=_n("Prime 1"),
    q=_n("Prime 2"),
    dp=_n("Prime exponent 1"),
    dq=_n("Prime exponent 2"),
    qinv=_n("Coefficient"),
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", InsecureWarning)
    KEY = generate(512, rng=DeterministicRNG("test_rsa_core"))


def test_rsaep_reproduces_the_worked_example() -> None:
    assert core.rsaep(LABS_KEY.public_key(), _n("EM = maskedSeed || maskedDB")) == _n(
        "Ciphertext, the RSA encryption of EM"
    )


def test_crt_decryption_reproduces_every_intermediate_value() -> None:
    c = _n("c, the ciphertext")
    assert c % LABS_KEY.p == _n("c mod p")
    assert c % LABS_KEY.q == _n("c mod q")
    m = _n("m = m2 + q*h (= EM)")
    assert m == _n("EM = maskedSeed || maskedDB")
    assert core.rsadp_crt(LABS_KEY, c) == m
    assert core.rsadp_plain(LABS_KEY, c) == m
    assert core.rsadp(LABS_KEY, c) == m
    assert core.rsadp(LABS_KEY, c, blinding=False) == m


def test_i2osp_os2ip_on_the_rfc_example() -> None:
    # oaep-int.txt: "9202000 = 8c 69 50".
    assert core.i2osp(9202000, 3) == bytes.fromhex("8c6950")
    assert core.os2ip(bytes.fromhex("8c6950")) == 9202000
    assert core.i2osp(9202000, 5) == bytes.fromhex("00008c6950")


@given(st.binary(max_size=300))
def test_os2ip_then_i2osp_round_trips(octets: bytes) -> None:
    assert core.i2osp(core.os2ip(octets), len(octets)) == octets


@pytest.mark.parametrize(
    ("x", "length"), [(256, 1), (-1, 4), (1, 0)], ids=["overflow", "negative", "zero-length"]
)
def test_i2osp_rejects_integers_that_do_not_fit(x: int, length: int) -> None:
    with pytest.raises(CryptoError, match="integer too large"):
        core.i2osp(x, length)


@pytest.mark.parametrize("value", [-1, "n"], ids=["negative", "n"])
def test_primitives_reject_representatives_out_of_range(value: int | str) -> None:
    x = KEY.n if value == "n" else int(value)
    with pytest.raises(CryptoError, match="message representative out of range"):
        core.rsaep(KEY.public_key(), x)
    for private_op in (core.rsadp, core.rsadp_crt, core.rsadp_plain):
        with pytest.raises(CryptoError, match="ciphertext representative out of range"):
            private_op(KEY, x)


@given(st.integers(min_value=0))
def test_crt_plain_and_blinded_agree(seed: int) -> None:
    c = seed % KEY.n
    m = core.rsadp_plain(KEY, c)
    assert core.rsadp_crt(KEY, c) == m
    assert core.rsadp(KEY, c) == m
    assert core.rsadp(KEY, c, blinding=False) == m
    assert core.rsaep(KEY, m) == c


@given(st.integers(min_value=0), st.integers(min_value=0))
def test_textbook_rsa_is_multiplicatively_homomorphic(a: int, b: int) -> None:
    """E(a) * E(b) = E(a * b mod n): why textbook RSA is malleable and insecure."""
    a, b = a % KEY.n, b % KEY.n
    public = KEY.public_key()
    product = core.rsaep(public, a) * core.rsaep(public, b) % KEY.n
    assert product == core.rsaep(public, a * b % KEY.n)
    assert core.rsadp(KEY, product) == a * b % KEY.n


class CountingRNG:
    """Counts the calls for random bytes (and serves them deterministically)."""

    def __init__(self) -> None:
        self.calls = 0
        self._inner = DeterministicRNG("counting")

    def bytes(self, n: int) -> bytes:
        self.calls += 1
        return self._inner.bytes(n)


def test_blinding_pair_is_redrawn_every_refresh_period() -> None:
    key = _fresh_key("refresh")
    rng = CountingRNG()
    drew_at = []
    for i in range(2 * core.BLINDING_REFRESH + 5):
        before = rng.calls
        c = (i * 7919 + 2) % key.n
        assert core.rsadp(key, c, rng=rng) == core.rsadp_plain(key, c)
        if rng.calls > before:
            drew_at.append(i)
    assert drew_at == [0, core.BLINDING_REFRESH, 2 * core.BLINDING_REFRESH]


def test_result_does_not_depend_on_the_blinding_source() -> None:
    key = _fresh_key("source")
    c = 123456789
    expected = core.rsadp_plain(key, c)
    assert core.rsadp(key, c, rng=FixedRNG(b"\x00\x01" * key.size_bytes)) == expected
    assert core.rsadp(key, c, rng=DeterministicRNG("another")) == expected


def test_unblinded_operation_draws_no_randomness() -> None:
    key = _fresh_key("unblinded")
    core.rsadp(key, 42, blinding=False, rng=FixedRNG(b""))


def test_a_crt_fault_is_caught_before_it_leaks_a_factor() -> None:
    """Boneh-DeMillo-Lipton: one wrong CRT half gives s with gcd(s^e - m, n) = a prime factor."""
    faulty = dataclasses.replace(KEY, dp=KEY.dp ^ 1)
    m = 0xC0FFEE
    bad_signature = core.rsadp_crt(faulty, m)
    leaked = math.gcd(pow(bad_signature, KEY.e, KEY.n) - m, KEY.n)
    assert leaked in (KEY.p, KEY.q)
    with pytest.raises(CryptoError, match="consistency check"):
        core.rsadp(faulty, m)
    with pytest.raises(CryptoError, match="consistency check"):
        core.rsadp(faulty, m, blinding=False)


def test_concurrent_private_operations_stay_correct() -> None:
    key = _fresh_key("threads")
    inputs = [(i * 104729 + 3) % key.n for i in range(200)]
    expected = [core.rsadp_plain(key, c) for c in inputs]
    results: dict[int, list[int]] = {}

    def work(worker: int) -> None:
        results[worker] = [core.rsadp(key, c) for c in inputs]

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(results[w] == expected for w in range(4))


def test_signature_primitives_are_the_same_maps() -> None:
    assert core.rsasp1 is core.rsadp
    assert core.rsavp1 is core.rsaep


def _fresh_key(label: str) -> RSAPrivateKey:
    """A new small key, hence its own blinding state (the state is kept per key)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return generate(256, rng=DeterministicRNG(label))

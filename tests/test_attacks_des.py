"""The DES and CBC attacks recover keys and plaintexts the tests planted, at the documented cost.

Ciphertexts are made with PyCryptodome's DES (an independent implementation), from keys and
messages drawn here; the attacks see only the public values and the oracles' yes/no answers.
"""

from __future__ import annotations

import hmac

import pytest
from Crypto.Cipher import DES as PyCryptodomeDES
from Crypto.Util.Padding import pad
from hypothesis import given, settings
from hypothesis import strategies as st

from ciphers.attacks import des as attacks
from ciphers.des import SEMI_WEAK_PAIRS, WEAK_KEYS, key_schedule, set_odd_parity
from ciphers.rng import DeterministicRNG, randbits


def ecb(key: bytes) -> PyCryptodomeDES.DesCipher:
    return PyCryptodomeDES.new(key, PyCryptodomeDES.MODE_ECB)


def random_key(rng: DeterministicRNG) -> bytes:
    return set_odd_parity(rng.bytes(8))


# --- the reduced key space ----------------------------------------------------------------------


def test_key_space_numbers_its_keys_and_their_subkeys_consistently() -> None:
    rng = DeterministicRNG("space")
    space = attacks.KeySpace(random_key(rng), (1, 2, 9, 20, 33, 41, 50, 55, 58, 63))
    keys = [space.key(v) for v in range(space.size)]
    assert len(set(keys)) == space.size == 1024
    assert [space.value(k) for k in keys] == list(range(space.size))
    for (value, subkeys), (value_d, subkeys_d) in zip(
        space.schedules(), space.schedules(decrypt=True), strict=True
    ):
        expected = key_schedule(keys[value])
        assert list(subkeys) == expected  # the linear shortcut equals the real key schedule
        assert value_d == value and list(subkeys_d) == expected[::-1]


def test_key_space_rejects_parity_positions() -> None:
    with pytest.raises(ValueError, match="not parity"):
        attacks.KeySpace(bytes(8), (8,))
    assert attacks.last_key_bits(3) == (61, 62, 63)
    assert len(attacks.KEY_BITS) == 56


# --- exhaustive search --------------------------------------------------------------------------


@pytest.mark.parametrize("unknown_bits", [16, 18])
def test_exhaustive_search_finds_the_key_after_value_plus_one_trials(unknown_bits: int) -> None:
    rng = DeterministicRNG(f"search {unknown_bits}")
    space = attacks.KeySpace(random_key(rng), attacks.last_key_bits(unknown_bits))
    value = randbits(unknown_bits, rng)
    secret = space.key(value)
    plaintext = b"known pt"
    result = attacks.exhaustive_search(space, plaintext, ecb(secret).encrypt(plaintext))
    assert result.key == secret
    assert result.trials == value + 1 <= space.size


def test_exhaustive_search_of_the_wrong_space_tries_every_key_and_finds_nothing() -> None:
    rng = DeterministicRNG("wrong space")
    space = attacks.KeySpace(random_key(rng), attacks.last_key_bits(10))
    secret = random_key(rng)
    result = attacks.exhaustive_search(space, b"known pt", ecb(secret).encrypt(b"known pt"))
    assert result == attacks.SearchResult(None, 1024)


# --- the complementation property ---------------------------------------------------------------


def _complement_pairs(secret: bytes) -> tuple[bytes, bytes, bytes]:
    plaintext = b"chosenPT"
    return plaintext, ecb(secret).encrypt(plaintext), ecb(secret).encrypt(attacks.complement(plaintext))


@pytest.mark.parametrize("in_complement", [False, True], ids=["key in the space", "key in its complement"])
def test_complementation_finds_the_key_in_the_space_or_its_complement(in_complement: bool) -> None:
    rng = DeterministicRNG(f"complement {in_complement}")
    space = attacks.KeySpace(random_key(rng), attacks.last_key_bits(16))
    value = randbits(16, rng)
    secret = attacks.complement(space.key(value)) if in_complement else space.key(value)
    result = attacks.complementation_search(space, *_complement_pairs(secret))
    assert result.key == secret
    assert result.trials == value + 1
    # plain search over the same 2^17 keys: the whole space first, then the complements
    plain = attacks.exhaustive_search(space, *_complement_pairs(secret)[:2])
    if in_complement:
        assert plain.key is None
        rest = attacks.exhaustive_search(space.complement(), *_complement_pairs(secret)[:2])
        assert rest.key == secret
        assert plain.trials + rest.trials == space.size + space.complement().value(secret) + 1
    else:
        assert plain == result


def test_complementation_covers_twice_the_keys_with_half_the_trials() -> None:
    rng = DeterministicRNG("half")
    space = attacks.KeySpace(random_key(rng), attacks.last_key_bits(12))
    outside = random_key(rng)  # in neither half: both searches go to the end
    plaintext, c1, c2 = _complement_pairs(outside)
    with_property = attacks.complementation_search(space, plaintext, c1, c2)
    brute = [attacks.exhaustive_search(s, plaintext, c1) for s in (space, space.complement())]
    assert with_property.key is None and all(r.key is None for r in brute)
    assert 2 * with_property.trials == sum(r.trials for r in brute) == 2 * 4096


# --- weak keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", WEAK_KEYS, ids=[k.hex() for k in WEAK_KEYS])
def test_weak_key_fixed_points_are_fixed_and_halved_after_round_8(key: bytes) -> None:
    rng = DeterministicRNG(key)
    start = randbits(32, rng) - 8
    points = attacks.weak_key_fixed_points(key, 8, start % 2**32)
    assert len(set(points)) == 8
    for offset, point in enumerate(points):
        assert ecb(key).encrypt(point) == point
        half = (start + offset) % 2**32
        assert attacks.round_state_after(key, point, 8) == (half, half)
    block = rng.bytes(8)  # and every block comes back after two encryptions
    assert ecb(key).encrypt(ecb(key).encrypt(block)) == block


def test_fixed_points_need_a_weak_key() -> None:
    with pytest.raises(ValueError, match="not a weak key"):
        attacks.weak_key_fixed_point(SEMI_WEAK_PAIRS[0][0], 0)
    with pytest.raises(ValueError, match="not a weak key"):
        attacks.weak_key_fixed_point(bytes.fromhex("133457799bbcdff1"), 0)


# --- double DES ---------------------------------------------------------------------------------


def _double_des_case(
    label: str, bits: int
) -> tuple[attacks.KeySpace, attacks.KeySpace, int, int, list[tuple[bytes, bytes]]]:
    rng = DeterministicRNG(label)
    space1 = attacks.KeySpace(random_key(rng), attacks.last_key_bits(bits))
    space2 = attacks.KeySpace(random_key(rng), attacks.last_key_bits(bits))
    v1, v2 = randbits(bits, rng), randbits(bits, rng)
    k1, k2 = space1.key(v1), space2.key(v2)
    pairs = [(p, ecb(k2).encrypt(ecb(k1).encrypt(p))) for p in (b"block #1", b"block #2")]
    return space1, space2, v1, v2, pairs


def test_meet_in_the_middle_costs_the_sum_of_the_spaces_not_the_product() -> None:
    space1, space2, v1, v2, pairs = _double_des_case("mitm 16", 16)
    result = attacks.meet_in_the_middle(space1, space2, pairs)
    assert (result.key1, result.key2) == (space1.key(v1), space2.key(v2))
    assert result.encryptions == result.table_size == 2**16
    assert result.decryptions == v2 + 1
    assert result.checks == 1  # a 64-bit middle value: false matches are rare at 2^32 key pairs
    assert result.operations <= 2 * 2**16 + 2
    assert attacks.double_encrypt(result.key1, result.key2, pairs[1][0]) == pairs[1][1]


def test_meet_in_the_middle_agrees_with_brute_force_on_a_tiny_space() -> None:
    space1, space2, v1, v2, pairs = _double_des_case("mitm 7", 7)
    mitm = attacks.meet_in_the_middle(space1, space2, pairs)
    brute = attacks.double_des_exhaustive_search(space1, space2, pairs)
    assert brute is not None
    assert brute[:2] == (mitm.key1, mitm.key2) == (space1.key(v1), space2.key(v2))
    assert brute[2] == v1 * 2**7 + v2 + 1  # key pairs tried
    assert mitm.operations <= 2 * 2**7 + 2 * mitm.checks


def test_meet_in_the_middle_needs_two_pairs() -> None:
    space1, space2, _, _, pairs = _double_des_case("one pair", 4)
    with pytest.raises(ValueError, match="two known pairs"):
        attacks.meet_in_the_middle(space1, space2, pairs[:1])


# --- the CBC padding oracle ---------------------------------------------------------------------


def _cbc(key: bytes, iv: bytes, message: bytes) -> bytes:
    return PyCryptodomeDES.new(key, PyCryptodomeDES.MODE_CBC, iv=iv).encrypt(pad(message, 8))


@settings(max_examples=15)
@given(st.binary(max_size=40), st.integers(0, 2**32))
def test_padding_oracle_decrypts_any_message(message: bytes, seed: int) -> None:
    rng = DeterministicRNG(seed)
    key, iv = random_key(rng), rng.bytes(8)
    ciphertext = _cbc(key, iv, message)
    result = attacks.padding_oracle_attack(iv, ciphertext, attacks.cbc_padding_oracle(key))
    assert result.plaintext == message
    blocks = len(ciphertext) // 8
    assert result.queries <= 256 * len(ciphertext) + 256 * blocks


def test_padding_oracle_costs_about_128_queries_a_byte() -> None:
    rng = DeterministicRNG("vaudenay")
    key, iv = random_key(rng), rng.bytes(8)
    message = b"Transfer 100 EUR to account 12-3456-789, ref. INV-2002"
    ciphertext = _cbc(key, iv, message)
    result = attacks.padding_oracle_attack(iv, ciphertext, attacks.cbc_padding_oracle(key))
    assert result.plaintext == message
    assert 64 * len(ciphertext) < result.queries < 192 * len(ciphertext)


def test_encrypt_then_mac_leaves_no_oracle() -> None:
    rng = DeterministicRNG("etm")
    key, mac_key, iv = random_key(rng), rng.bytes(32), rng.bytes(8)
    ciphertext = _cbc(key, iv, b"attack at dawn")
    tag = hmac.new(mac_key, iv + ciphertext, "sha256").digest()
    receiver = attacks.encrypt_then_mac_oracle(key, mac_key, tag)
    assert receiver(iv, ciphertext)  # the genuine message is accepted
    with pytest.raises(RuntimeError, match="not a padding oracle"):
        attacks.padding_oracle_attack(iv, ciphertext, receiver)


# --- the bitslice search against one key at a time ---------------------------------------------


@pytest.mark.parametrize("positions", [(1, 2, 9, 20, 33, 41, 50, 55, 58, 63), attacks.last_key_bits(12)])
def test_bitslice_search_agrees_with_one_key_at_a_time(positions: tuple[int, ...]) -> None:
    """Arbitrary unknown positions, a key early and late in the space, and no key at all."""
    rng = DeterministicRNG(f"agree {positions}")
    space = attacks.KeySpace(random_key(rng), positions)
    for value in (0, 1, space.size - 1, randbits(len(positions), rng)):
        secret = space.key(value)
        plaintext = rng.bytes(8)
        ciphertext = ecb(secret).encrypt(plaintext)
        assert attacks.exhaustive_search(space, plaintext, ciphertext) == attacks.sequential_search(
            space, plaintext, ciphertext
        )
    assert attacks.exhaustive_search(space, b"known pt", rng.bytes(8)).key is None


def test_key_space_passes_hold_the_candidates_as_lanes() -> None:
    from ciphers.bitslice.transpose import slices_to_blocks

    rng = DeterministicRNG("passes of keys")
    space = attacks.KeySpace(random_key(rng), (3, 12, 19, 30, 47, 60))
    seen = []
    for first, count, words, _ones in space.passes(width=16):
        keys = slices_to_blocks(words, count)
        seen += [set_odd_parity(keys[8 * t : 8 * t + 8]) for t in range(count)]
        assert first == len(seen) - count
    assert seen == [space.key(v) for v in range(space.size)]


def test_tiny_key_spaces() -> None:
    """Spaces of 1, 2 and 4 keys still fill whole 8-lane words."""
    rng = DeterministicRNG("tiny")
    for bits in (0, 1, 2):
        space = attacks.KeySpace(random_key(rng), attacks.last_key_bits(bits))
        secret = space.key(space.size - 1)
        result = attacks.exhaustive_search(space, b"known pt", ecb(secret).encrypt(b"known pt"))
        assert result == attacks.SearchResult(secret, space.size)

"""Bytes <-> subgroup elements: a bijection, checked exhaustively on a toy group and by hypothesis
on a 256-bit group and modp768; every output lies in the subgroup (by Euler's criterion)."""

from __future__ import annotations

import warnings

import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from ciphers.elgamal import encoding, groups
from ciphers.elgamal.groups import Group, generate_group, named_group
from ciphers.errors import InsecureWarning, MessageTooLongError
from ciphers.rng import DeterministicRNG

with warnings.catch_warnings():
    warnings.simplefilter("ignore", InsecureWarning)
    SMALL = generate_group(256, DeterministicRNG("test_elgamal_encoding"))
    MODP768 = named_group("modp768")


def _toy_group() -> Group:
    """A 33-bit safe-prime group: far too small to use, but its whole range is quick to sample."""
    q = sympy.nextprime(2**31 + 2**30)
    while not sympy.isprime(2 * q + 1):
        q = sympy.nextprime(q)
    p = 2 * q + 1
    return Group(p, q, groups.subgroup_generator(p))


TOY = _toy_group()


def test_max_message_length() -> None:
    # m = 0x01 || data needs 8 * len + 1 bits and must stay <= q, which has bits(p) - 1 bits.
    assert encoding.max_message_length(named_group("ffdhe2048")) == (2047 - 2) // 8 == 255
    assert encoding.max_message_length(MODP768) == (767 - 2) // 8 == 95
    assert encoding.max_message_length(SMALL) == (255 - 2) // 8 == 31


@pytest.mark.parametrize("group", [SMALL, MODP768], ids=["generated-256", "modp768"])
def test_longest_message_fits_and_one_more_byte_does_not(group: Group) -> None:
    limit = encoding.max_message_length(group)
    data = b"\xff" * limit
    assert encoding.element_to_bytes(group, encoding.bytes_to_element(group, data)) == data
    with pytest.raises(MessageTooLongError, match="too long"):
        encoding.bytes_to_element(group, data + b"\x00")


def test_int_mapping_is_a_bijection_onto_the_residues_of_a_small_prime() -> None:
    # p = 23 is a safe prime (q = 11); the residues are the squares mod 23.
    p, q = 23, 11
    squares = {x * x % p for x in range(1, p)}
    group = object.__new__(Group)  # bypass the size check: the map itself is what is tested here
    object.__setattr__(group, "p", p)
    object.__setattr__(group, "q", q)
    object.__setattr__(group, "g", 4)
    images = [encoding.int_to_element(group, m) for m in range(1, q + 1)]
    assert set(images) == squares
    assert len(set(images)) == q
    assert [encoding.element_to_int(group, e) for e in images] == list(range(1, q + 1))


@given(st.data())
def test_int_mapping_round_trips_in_a_tiny_group(data: st.DataObject) -> None:
    group = TOY
    m = data.draw(st.integers(min_value=1, max_value=group.q))
    element = encoding.int_to_element(group, m)
    assert pow(element, group.q, group.p) == 1
    assert encoding.element_to_int(group, element) == m


@pytest.mark.parametrize("group", [SMALL, MODP768], ids=["generated-256", "modp768"])
@given(data=st.data())
def test_bytes_round_trip_and_land_in_the_subgroup(group: Group, data: st.DataObject) -> None:
    message = data.draw(st.binary(max_size=encoding.max_message_length(group)))
    element = encoding.bytes_to_element(group, message)
    assert 0 < element < group.p and pow(element, group.q, group.p) == 1
    assert encoding.element_to_bytes(group, element) == message


@given(st.binary(max_size=31), st.binary(max_size=31))
def test_distinct_messages_give_distinct_elements(a: bytes, b: bytes) -> None:
    if a != b:
        assert encoding.bytes_to_element(SMALL, a) != encoding.bytes_to_element(SMALL, b)


def test_leading_zero_bytes_and_the_empty_message_survive() -> None:
    for message in (b"", b"\x00", b"\x00\x00\x01", b"\x00" * 31):
        assert encoding.element_to_bytes(SMALL, encoding.bytes_to_element(SMALL, message)) == message


def test_int_to_element_range() -> None:
    for m in (0, SMALL.q + 1, -1):
        with pytest.raises(ValueError, match=r"\[1, q\]"):
            encoding.int_to_element(SMALL, m)


def test_decoding_refuses_non_elements() -> None:
    non_residue = next(a for a in range(2, 100) if pow(a, SMALL.q, SMALL.p) == SMALL.p - 1)
    for bad in (0, SMALL.p, SMALL.p + 1, non_residue, SMALL.p - 1):
        with pytest.raises(ValueError, match="not an element"):
            encoding.element_to_int(SMALL, bad)


def test_decoding_refuses_elements_that_are_not_byte_strings() -> None:
    # m = 2 (binary 10) has no 0x01 marker byte on a byte boundary.
    with pytest.raises(ValueError, match="does not encode"):
        encoding.element_to_bytes(SMALL, encoding.int_to_element(SMALL, 2))
    # m = 0x02 || 0x00 has a marker 0x02 instead of 0x01.
    with pytest.raises(ValueError, match="does not encode"):
        encoding.element_to_bytes(SMALL, encoding.int_to_element(SMALL, 0x0200))

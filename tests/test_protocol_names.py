"""Alias and room names: 1-32 characters of A-Z a-z 0-9 _ - ., a letter or digit first; case ignored."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.protocol.names import is_valid_name, name_key, name_problem

VALID = ["a", "Z", "7", "alice", "Bob_2", "x.y-z", "0day", "A" * 32, "a" + "_" * 31]
INVALID = [
    ("", "empty"),
    ("A" * 33, "33 characters"),
    ("-bob", "leading dash"),
    (".hidden", "leading dot"),
    ("_x", "leading underscore"),
    ("al ice", "space"),
    ("alice!", "punctuation"),
    ("a/b", "slash"),
    ("..", "dots only"),
    ("\u0430lice", "cyrillic a"),
    ("caf\u00e9", "accented"),
    ("a\n", "newline"),
    ("a\x00", "nul"),
    ("a\u200b", "zero-width space"),
]


@pytest.mark.parametrize("name", VALID)
def test_valid_names(name: str) -> None:
    assert is_valid_name(name)
    assert name_problem(name) is None


@pytest.mark.parametrize(("name", "why"), INVALID, ids=[why for _, why in INVALID])
def test_invalid_names(name: str, why: str) -> None:
    assert not is_valid_name(name)
    problem = name_problem(name, "alias")
    assert problem is not None and problem.startswith("alias ")
    assert "\n" not in problem and "\x00" not in problem


def test_names_compare_ignoring_case() -> None:
    assert name_key("Alice") == name_key("ALICE") == name_key("alice")
    assert name_key("alice") != name_key("alice.")


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@given(st.sampled_from(ALPHABET), st.text(alphabet=ALPHABET + "_-.", max_size=31))
def test_every_name_from_the_alphabet_is_valid(first: str, rest: str) -> None:
    assert is_valid_name(first + rest)


@given(st.text(max_size=20), st.characters(exclude_characters=ALPHABET + "_-."), st.text(max_size=10))
def test_any_character_outside_the_alphabet_makes_a_name_invalid(before: str, bad: str, after: str) -> None:
    assert not is_valid_name(before + bad + after)

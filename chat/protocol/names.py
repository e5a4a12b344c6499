"""Alias and room names: 1 to 32 characters from a small ASCII set, unique per room ignoring case.

The set is ``A-Z a-z 0-9 _ - .`` and the first character is a letter or a digit. Non-ASCII letters
are refused on purpose: look-alike letters from other scripts (Cyrillic U+0430 for Latin ``a``) would
let one member pass for another, and names appear in commands (``/verify ALIAS``) and file names.
Names compare by :meth:`str.casefold`, so ``Alice`` and ``alice`` cannot share a room.
"""

from __future__ import annotations

import string

MAX_NAME_LENGTH = 32
NAME_ALPHABET = frozenset(string.ascii_letters + string.digits + "_-.")
FIRST_ALPHABET = frozenset(string.ascii_letters + string.digits)


def name_problem(name: str, what: str = "name", max_length: int = MAX_NAME_LENGTH) -> str | None:
    """Why ``name`` breaks the rules, in one line, or None when it is valid."""
    if not name:
        return f"{what} must not be empty"
    if len(name) > max_length:
        return f"{what} must be at most {max_length} characters, got {len(name)}"
    if name[0] not in FIRST_ALPHABET:
        return f"{what} must start with a letter or a digit: {name[:max_length]!r}"
    bad = sorted(set(name) - NAME_ALPHABET)
    if bad:
        shown = "".join(bad[:8])
        return f"{what} may hold only letters, digits and _ - . (not {shown!r}): {name!r}"
    return None


def is_valid_name(name: str, max_length: int = MAX_NAME_LENGTH) -> bool:
    """Whether ``name`` is a valid alias or room name."""
    return name_problem(name, max_length=max_length) is None


def name_key(name: str) -> str:
    """The form two names are compared in: ``name_key(a) == name_key(b)`` means the same name."""
    return name.casefold()

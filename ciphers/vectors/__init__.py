"""Known-answer vectors that ship with the package: the files the notebooks read (provenance in
``README.md`` beside them), and :mod:`ciphers.vectors.loader`, the one loader of every vector format.

The rest of the vector set stays under ``tests/vectors/`` in a checkout; the same loader reads it.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def vector_file(name: str) -> Traversable:
    """A vector file shipped here, e.g. ``vector_file("oaep-int.txt")``, wherever the package is installed."""
    path = files(__name__).joinpath(name)
    if not path.is_file():
        raise FileNotFoundError(f"no vector file {name!r} in {__name__}")
    return path

"""Known-answer tests from lists of vector files, in the manner of pyca's ``generate_*_test``.

A test module names its files and how one file becomes test parameters; adding an upstream file is
one more name in a list. The files live under ``tests/vectors/`` (provenance in its README), except
the few the notebooks read, which ship in :mod:`ciphers.vectors`; :mod:`ciphers.vectors.loader`
parses both. No count is written down: :func:`every_file_yields_vectors` makes each file prove it
gave at least one vector, and ``tests/test_kat_loader.py`` checks every file is read completely.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

VECTORS = Path(__file__).parent / "vectors"

#: The NIST CAVP Triple DES KATs whose key is ``KEYs`` (K1 = K2 = K3), i.e. single DES: read by
#: both the DES and the Triple DES tests.
CAVP_TECB_KEYS = ["TECBvartext.rsp", "TECBinvperm.rsp", "TECBvarkey.rsp", "TECBpermop.rsp", "TECBsubtab.rsp"]

#: How a test module turns one vector file into test parameters (each a ``pytest.param(..., id=...)``).
Read = Callable[[Path], Iterable[Any]]


def vector_path(*parts: str) -> Path:
    """The path of a vector file under ``tests/vectors/``, e.g. ``vector_path("des", "botan_des.vec")``."""
    path = VECTORS.joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"no vector file {path}")
    return path


@dataclass(frozen=True)
class Vectors(Collection[Any]):
    """Test parameters read from a list of vector files, file by file (``directory/name`` as the key).

    It is the ``argvalues`` of ``pytest.mark.parametrize``, alone or spread into a list with others.
    """

    by_source: dict[str, list[Any]]

    def __iter__(self) -> Iterator[Any]:
        return (param for params in self.by_source.values() for param in params)

    def __len__(self) -> int:
        return sum(len(params) for params in self.by_source.values())

    def __contains__(self, param: object) -> bool:
        return any(param in params for params in self.by_source.values())


def from_files(read: Read, directory: str, files: Iterable[str]) -> Vectors:
    """The parameters ``read`` makes of each of ``files`` in ``tests/vectors/<directory>``."""
    return Vectors({f"{directory}/{name}": list(read(vector_path(directory, name))) for name in files})


def each(load: Callable[[Path], Iterable[Any]]) -> Read:
    """A :data:`Read` giving one parameter per item that ``load`` returns, its ``label`` as the test id.

    For loaders whose items are the vectors themselves (``Record``, ``LabsExample``).
    """

    def read(path: Path) -> Iterator[Any]:
        return (pytest.param(item, id=item.label) for item in load(path))

    return read


def every_file_yields_vectors(*sets: Vectors) -> Callable[[str, int], None]:
    """A test, one case per file of ``sets``, that each gave at least one vector.

    Assign it to a ``test_`` name in the module: a file that is empty, misnamed in its section or
    filtered away entirely then fails rather than testing nothing.
    """
    counts = [(source, len(params)) for vectors in sets for source, params in vectors.by_source.items()]

    @pytest.mark.parametrize(("source", "count"), counts, ids=[source for source, _ in counts])
    def test(source: str, count: int) -> None:
        assert count > 0, f"{source} gave no vectors"

    return test

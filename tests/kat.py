"""The one loader for known-answer vectors under ``tests/vectors/`` (provenance in its README).

Upstream files are kept untouched; this module parses their formats:

* JSON (our collected sets, Wycheproof): :func:`load_json`
* NIST CAVP ``.rsp``/``.txt`` and Botan ``.vec`` (bracketed sections, blank-line separated
  ``Name = value`` records): :func:`load_records`
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).parent / "vectors"


def vector_path(*parts: str) -> Path:
    """The path of a vector file, e.g. ``vector_path("des", "botan_des.vec")``."""
    path = VECTORS.joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"no vector file {path}")
    return path


def load_json(*parts: str) -> Any:
    """Parse a JSON vector file."""
    return json.loads(vector_path(*parts).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Record:
    """One record of a sectioned key-value file, labelled with where it came from."""

    source: str
    section: str
    line: int
    fields: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.fields[name]

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.fields.get(name, default)

    def hex(self, name: str) -> bytes:
        """A hex field as bytes."""
        return bytes.fromhex(self.fields[name])

    @property
    def label(self) -> str:
        """A test id such as ``TECBvarkey.rsp:ENCRYPT:L42``."""
        return f"{self.source}:{self.section}:L{self.line}"


def load_records(*parts: str) -> list[Record]:
    """Parse a NIST ``.rsp`` or Botan ``.vec`` file into records (comments and headers dropped).

    A line ``[NAME]`` opens a section; ``Name = value`` lines accumulate into a record that ends
    at a blank line or a new section.
    """
    path = vector_path(*parts)
    records: list[Record] = []
    section = ""
    fields: dict[str, str] = {}
    start = 0

    def flush() -> None:
        nonlocal fields
        if fields:
            records.append(Record(path.name, section, start, fields))
        fields = {}

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("#"):
            continue
        elif line.startswith("[") and line.endswith("]"):
            flush()
            section = line[1:-1].strip()
        elif "=" in line:
            name, _, value = line.partition("=")
            if not fields:
                start = number
            fields[name.strip()] = value.strip()
        else:
            raise ValueError(f"{path.name}:{number}: cannot parse {line!r}")
    flush()
    return records

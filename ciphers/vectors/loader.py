"""The one loader of known-answer vector files: the few shipped in :mod:`ciphers.vectors` and those
under ``tests/vectors/`` in a checkout (provenance in the README beside each).

Upstream files are kept untouched; this module parses their formats, each function taking the
file's path (a :class:`~pathlib.Path` or a package resource):

* JSON (our collected sets, Wycheproof): :func:`load_json`
* NIST CAVP ``.rsp``/``.txt`` and Botan ``.vec`` (bracketed sections, blank-line separated
  ``Name = value`` records): :func:`load_records`, and :func:`load_records_sticky` when parameters
  such as ``n/e/d`` hold for the records after them (NIST SigGen)
* RSA Laboratories PKCS #1 text files (``# Label:`` lines over space-separated hex):
  :func:`load_hex_blocks`, grouped into keys and examples by :func:`load_rsa_labs`
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any


def load_json(path: Traversable) -> Any:
    """Parse a JSON vector file."""
    return json.loads(path.read_text(encoding="utf-8"))


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


def load_records(path: Traversable) -> list[Record]:
    """Parse a NIST ``.rsp`` or Botan ``.vec`` file into records (comments and headers dropped).

    A line ``[NAME]`` opens a section; ``Name = value`` lines accumulate into a record that ends
    at a blank line or a new section.
    """
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


def load_lines(path: Traversable) -> list[Record]:
    """One record per ``Name = value`` line, in ``[NAME]`` sections.

    For Botan files that list one value per line with no blank line between entries (such as
    ``bn/isprime.vec``), which :func:`load_records` would merge into one record.
    """
    records: list[Record] = []
    section = ""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif "=" in line:
            name, _, value = line.partition("=")
            records.append(Record(path.name, section, number, {name.strip(): value.strip()}))
        else:
            raise ValueError(f"{path.name}:{number}: cannot parse {line!r}")
    return records


def load_records_sticky(path: Traversable, sticky: tuple[str, ...] = ("n", "e", "d")) -> list[Record]:
    """Like :func:`load_records`, for files whose parameters hold for the records that follow them.

    NIST SigGen files give ``n`` once and ``e``/``d`` once per ``[mod = ...]`` section, then many
    ``SHAAlg/Msg/S`` records. Records holding only ``sticky`` fields are folded into every later
    record (until replaced) instead of being returned.
    """
    current: dict[str, str] = {}
    out: list[Record] = []
    for record in load_records(path):
        if set(record.fields) <= set(sticky):
            current.update(record.fields)
            continue
        out.append(Record(record.source, record.section, record.line, {**current, **record.fields}))
    return out


@dataclass(frozen=True)
class HexBlock:
    """One ``# Label:`` line of an RSA Laboratories text file and the hex octets below it."""

    source: str
    line: int
    label: str
    value: bytes


_HEX_LINE = re.compile(r"^(?:[0-9a-fA-F]{2}\s*)+$")


def load_hex_blocks(path: Traversable) -> list[HexBlock]:
    """Parse the RSA Laboratories PKCS #1 test-vector format into labelled blocks, in file order.

    A line starting with ``#`` opens a block (its label without the ``#`` and the trailing colon);
    the lines of space-separated hex pairs below it are its value. Any other line (prose, rules,
    abbreviated BER) closes the block. Headers such as ``# Public key`` give empty blocks.
    """
    blocks: list[HexBlock] = []
    label: str | None = None
    start = 0
    octets: list[str] = []

    def flush() -> None:
        nonlocal label, octets
        if label is not None:
            blocks.append(HexBlock(path.name, start, label, bytes.fromhex("".join(octets))))
        label, octets = None, []

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#"):
            flush()
            label, start = line.lstrip("#").strip().rstrip(":").strip(), number
        elif line and _HEX_LINE.match(line):
            if label is not None:
                octets.append(line)
        elif line:
            flush()
    flush()
    return blocks


@dataclass(frozen=True)
class LabsExample:
    """One example of an RSA Laboratories vector file (e.g. ``OAEP Example 1.2``) with its fields."""

    source: str
    name: str
    line: int
    fields: dict[str, bytes]

    def __getitem__(self, name: str) -> bytes:
        return self.fields[name]

    @property
    def label(self) -> str:
        """A test id such as ``oaep-vect.txt:OAEP Example 1.2``."""
        return f"{self.source}:{self.name}"


@dataclass(frozen=True)
class LabsKey:
    """One key pair of an RSA Laboratories vector file, as integers, with the examples made with it.

    ``fields`` holds ``n, e, d, p, q, dP, dQ, qInv`` (RFC 8017 §3.2 names).
    """

    source: str
    name: str
    line: int
    fields: dict[str, int]
    examples: list[LabsExample]


# (section header, label) -> RFC 8017 name. "Exponent" means e under "Public key", d under "Private key".
_LABS_KEY_FIELDS = {
    ("Public key", "Modulus"): "n",
    ("Public key", "Exponent"): "e",
    ("Private key", "Modulus"): "n",
    ("Private key", "Public exponent"): "e",
    ("Private key", "Exponent"): "d",
    ("Private key", "Prime 1"): "p",
    ("Private key", "Prime 2"): "q",
    ("Private key", "Prime exponent 1"): "dP",
    ("Private key", "Prime exponent 2"): "dQ",
    ("Private key", "Coefficient"): "qInv",
}
_LABS_KEY = re.compile(r"^Example \d+:")
_LABS_EXAMPLE = re.compile(r"Example \d+\.\d+$")


def load_rsa_labs(path: Traversable) -> list[LabsKey]:
    """Group the blocks of ``oaep-vect.txt``, ``pss-vect.txt`` or the v1.5 files into keys and examples.

    ``# Example N: ...`` starts a key; ``# ... Example N.M`` starts an example of that key, whose
    fields are its labelled blocks (``Message``, ``Seed``, ``Encryption``, ``Salt``, ``Signature``...).
    """
    keys: list[LabsKey] = []
    section = ""
    example: LabsExample | None = None
    for block in load_hex_blocks(path):
        if _LABS_KEY.match(block.label):
            keys.append(LabsKey(block.source, block.label, block.line, {}, []))
            section, example = "", None
        elif _LABS_EXAMPLE.search(block.label):
            if not keys:
                raise ValueError(f"{block.source}:{block.line}: example before any key")
            example = LabsExample(block.source, block.label, block.line, {})
            keys[-1].examples.append(example)
        elif not block.value:
            if block.label in ("Public key", "Private key"):
                section = block.label
        elif example is None and keys and (section, block.label) in _LABS_KEY_FIELDS:
            name = _LABS_KEY_FIELDS[section, block.label]
            value = int.from_bytes(block.value, "big")
            if keys[-1].fields.setdefault(name, value) != value:
                raise ValueError(f"{block.source}:{block.line}: {name} differs from its earlier value")
        elif keys:
            if example is None or block.label in example.fields:
                # An example whose header line is missing upstream (pkcs1v15crypt-vectors.txt 1.1).
                key = keys[-1]
                number = key.name.split()[1].rstrip(":")
                name = f"Example {number}.{len(key.examples) + 1} (no header upstream)"
                example = LabsExample(block.source, name, block.line, {})
                key.examples.append(example)
            example.fields[block.label] = block.value
        else:
            raise ValueError(f"{block.source}:{block.line}: {block.label!r} before any key")
    return keys

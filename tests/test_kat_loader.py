"""The vector loader reads every file of each format completely, checked against the files themselves.

No count is written down: what the loader returns is compared with what the file says (a plain
count of its ``Name = value`` lines, the CAVP ``COUNT`` numbering, the RSA Laboratories example
numbers and key sizes), for every file of the format under ``tests/vectors/``, so a new file is
checked without a line here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ciphers.vectors.loader import Record, load_json, load_lines, load_records, load_rsa_labs
from tests import kat

#: Botan files that give one value per line with no blank line between entries (read by load_lines).
ONE_VALUE_PER_LINE = {"botan_isprime.vec"}

CAVP_FILES = sorted(kat.VECTORS.glob("tdes_cavp/*.rsp"))  # the DSA SigVer file is read as sticky records
BOTAN_FILES = sorted(kat.VECTORS.glob("**/*.vec"))
SIGGEN_FILES = sorted(kat.VECTORS.glob("rsa/nist_cavp/*.txt"))
RSA_LABS_FILES = sorted(kat.VECTORS.glob("rsa/pkcs1_rsa_labs/*-vect*.txt"))

_NAME_VALUE = re.compile(r"^\s*[^#\[\s][^=]*=")


def _ids(paths: list[Path]) -> list[str]:
    return [str(path.relative_to(kat.VECTORS)) for path in paths]


def _records(path: Path) -> list[Record]:
    return load_lines(path) if path.name in ONE_VALUE_PER_LINE else load_records(path)


def _by_section(records: list[Record]) -> dict[str, list[Record]]:
    sections: dict[str, list[Record]] = {}
    for record in records:
        sections.setdefault(record.section, []).append(record)
    return sections


def test_every_format_has_files() -> None:
    assert CAVP_FILES and BOTAN_FILES and SIGGEN_FILES and RSA_LABS_FILES


@pytest.mark.parametrize(
    "path", CAVP_FILES + BOTAN_FILES + SIGGEN_FILES, ids=_ids(CAVP_FILES + BOTAN_FILES + SIGGEN_FILES)
)
def test_every_name_value_line_is_read_once(path: Path) -> None:
    """No line lost or merged away: the records hold as many fields as the file has ``Name = value`` lines."""
    lines = sum(bool(_NAME_VALUE.match(line)) for line in path.read_text(encoding="utf-8").splitlines())
    records = _records(path)
    assert records
    assert sum(len(record.fields) for record in records) == lines


@pytest.mark.parametrize("path", CAVP_FILES + BOTAN_FILES, ids=_ids(CAVP_FILES + BOTAN_FILES))
def test_records_of_a_section_have_the_same_fields(path: Path) -> None:
    for section, records in _by_section(_records(path)).items():
        assert len({frozenset(record.fields) for record in records}) == 1, section


def test_botan_des_vec_sections() -> None:
    sections = _by_section(load_records(kat.vector_path("des", "botan_des.vec")))
    assert set(sections) == {"DES", "TripleDES"}
    assert set(sections["DES"][0].fields) == {"Key", "In", "Out"}


@pytest.mark.parametrize("path", CAVP_FILES, ids=_ids(CAVP_FILES))
def test_cavp_rsp_has_encrypt_and_decrypt_numbered_from_zero(path: Path) -> None:
    """Each section's COUNT runs 0, 1, ... without a gap, and both directions have every case."""
    sections = _by_section(load_records(path))
    assert set(sections) == {"ENCRYPT", "DECRYPT"}
    for section, records in sections.items():
        assert [r["COUNT"] for r in records] == [str(i) for i in range(len(records))], section
    assert len(sections["ENCRYPT"]) == len(sections["DECRYPT"])


def test_sp800_17_groups_are_the_cavp_encrypt_sections_they_cite() -> None:
    """Each SP 800-17 table taken from a CAVP file (``derived_from``) is that file's [ENCRYPT] section."""
    cited = 0
    for group in load_json(kat.vector_path("des", "des_sp800_17_kat.json"))["groups"]:
        match = re.fullmatch(r"NIST CAVP (\w+\.rsp) \[ENCRYPT\].*", group["derived_from"])
        if match is None:
            continue
        cited += 1
        cavp = [r for r in load_records(kat.vector_path("tdes_cavp", match[1])) if r.section == "ENCRYPT"]
        expected = [
            {"key": r["KEYs"], "plaintext": r["PLAINTEXT"], "ciphertext": r["CIPHERTEXT"]} for r in cavp
        ]
        assert group["vectors"] == expected, group["name"]
    assert cited


@pytest.mark.parametrize("path", RSA_LABS_FILES, ids=_ids(RSA_LABS_FILES))
def test_rsa_labs_keys_and_examples_are_numbered_without_gaps(path: Path) -> None:
    """Keys ``Example 1..K``, examples ``N.1..N.k``, each key the size its header says, all alike."""
    keys = load_rsa_labs(path)
    assert [key.name.split()[1] for key in keys] == [f"{n}:" for n in range(1, len(keys) + 1)]
    labels = set()
    for number, key in enumerate(keys, start=1):
        bits = re.search(r"A (\d+)-bit RSA key pair", key.name)
        assert bits is not None and key.fields["n"].bit_length() == int(bits[1]), key.name
        numbers = [re.search(r"Example (\d+\.\d+)", example.name) for example in key.examples]
        assert [m[1] if m else None for m in numbers] == [f"{number}.{i}" for i in range(1, len(numbers) + 1)]
        labels |= {frozenset(example.fields) for example in key.examples}
    assert len(labels) == 1

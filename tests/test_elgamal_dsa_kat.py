"""DSA-form signatures against independent known answers (provenance in tests/vectors/README.md):

* RFC 6979 Appendix A.1 (the nonce conversions and the retry of §3.2 step h) and A.2.1/A.2.2
  (1024- and 2048-bit DSA, SHA-1 ... SHA-512, "sample" and "test": exact k, r and s);
* NIST CAVP FIPS 186-3 SigGen (k given: the §4.6 equations) and SigVer (pass/fail, including
  changed messages, keys, r and s), every L/N size and hash;
* Project Wycheproof's IEEE P1363 DSA verification files: every valid case accepted, every
  invalid one (r or s out of range, overflowed, zero, special values) refused.

A new vector file is one line in :data:`SIGGEN_FILES`, :data:`SIGVER_FILES` or :data:`WYCHEPROOF_FILES`.
"""

from __future__ import annotations

from typing import Any

import pytest

from ciphers.elgamal import dsa, rfc6979
from ciphers.rsa.hashes import hash_algorithm
from ciphers.vectors.loader import Record, load_json, load_records_sticky
from tests.kat import vector_path

RFC6979 = load_json(vector_path("dsa", "rfc6979_dsa.json"))
SIGGEN_FILES = [("dsa", "nist_cavp", "SigGen.txt")]
SIGVER_FILES = [("dsa", "nist_cavp", "SigVer.rsp")]
WYCHEPROOF_FILES = [
    "dsa_2048_224_sha224_p1363_test.json",
    "dsa_2048_224_sha256_p1363_test.json",
    "dsa_2048_256_sha256_p1363_test.json",
    "dsa_3072_256_sha256_p1363_test.json",
]


def _hex(value: str) -> int:
    return int(value, 16)


# --- RFC 6979 -----------------------------------------------------------------------------------


def test_rfc6979_a1_conversions_and_nonce() -> None:
    """A.1.2: int2octets(x) and bits2octets(h1); A.1.3: the k found after one out-of-range candidate."""
    a1 = RFC6979["a1"]
    q, x = _hex(a1["q"]), _hex(a1["x"])
    h1 = hash_algorithm(a1["hash"]).digest(a1["message"].encode())
    assert rfc6979.int2octets(x, q.bit_length()) == bytes.fromhex(a1["int2octets_x"])
    assert rfc6979.bits2octets(h1, q) == bytes.fromhex(a1["bits2octets_h1"])
    assert rfc6979.generate_k(q, x, h1, a1["hash"]) == _hex(a1["k"])
    assert rfc6979.bits2int(h1, q.bit_length()) >= q  # why bits2octets reduces: h1's leading bits exceed q


def _rfc6979_cases() -> list[Any]:
    return [
        pytest.param(key, sig, id=f"RFC6979 {key['section']} {sig['hash']} {sig['message']!r}")
        for key in RFC6979["keys"]
        for sig in key["signatures"]
    ]


@pytest.mark.parametrize(("key", "sig"), _rfc6979_cases())
def test_rfc6979_a2_dsa(key: dict[str, Any], sig: dict[str, str]) -> None:
    p, q, g, x, y = (_hex(key[name]) for name in "pqgxy")
    dsa.check_parameters(p, q, g)
    assert pow(g, x, p) == y
    digest = hash_algorithm(sig["hash"]).digest(sig["message"].encode())
    assert rfc6979.generate_k(q, x, digest, sig["hash"]) == _hex(sig["k"])
    r, s = dsa.sign_digest(p, q, g, x, digest, sig["hash"])
    assert (r, s) == (_hex(sig["r"]), _hex(sig["s"]))
    assert dsa.verify_digest(p, q, g, y, digest, r, s)
    assert not dsa.verify_digest(p, q, g, y, digest, s, r)


def test_rfc6979_covers_both_keys_every_hash_and_both_messages() -> None:
    seen = {(k["section"], s["hash"], s["message"]) for k in RFC6979["keys"] for s in k["signatures"]}
    hashes = {"SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512"}
    assert seen == {(sec, h, m) for sec in ("A.2.1", "A.2.2") for h in hashes for m in ("sample", "test")}


# --- NIST CAVP FIPS 186-3 -----------------------------------------------------------------------


def _records(files: list[tuple[str, ...]]) -> list[Record]:
    return [
        record
        for parts in files
        for record in load_records_sticky(vector_path(*parts), sticky=("P", "Q", "G"))
    ]


def _digest(record: Record) -> tuple[int, int, int, bytes]:
    """(p, q, g, H(Msg)) for a record of a ``[mod = L=..., N=..., SHA-...]`` section."""
    p, q, g = (_hex(record[name]) for name in "PQG")
    hash_name = record.section.rsplit(", ", 1)[-1]
    return p, q, g, hash_algorithm(hash_name).digest(record.hex("Msg"))


@pytest.mark.parametrize("record", _records(SIGGEN_FILES), ids=lambda r: r.label)
def test_nist_siggen(record: Record) -> None:
    p, q, g, digest = _digest(record)
    z = dsa.hash_to_z(digest, q)
    r, s = dsa.sign_int(p, q, g, _hex(record["X"]), z, _hex(record["K"]))
    assert (r, s) == (_hex(record["R"]), _hex(record["S"]))
    assert pow(g, _hex(record["X"]), p) == _hex(record["Y"])
    assert dsa.verify_int(p, q, g, _hex(record["Y"]), z, r, s)


@pytest.mark.parametrize("record", _records(SIGVER_FILES), ids=lambda r: r.label)
def test_nist_sigver(record: Record) -> None:
    p, q, g, digest = _digest(record)
    y = _hex(record["Y"])
    accepted = dsa.public_value_problem(p, q, y) is None and dsa.verify_digest(
        p, q, g, y, digest, _hex(record["R"]), _hex(record["S"])
    )
    assert accepted == record["Result"].startswith("P"), record["Result"]


def test_nist_files_cover_every_size_and_hash() -> None:
    sections = {r.section for r in _records(SIGGEN_FILES + SIGVER_FILES)}
    sizes = ("L=1024, N=160", "L=2048, N=224", "L=2048, N=256", "L=3072, N=256")
    hashes = ("SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512")
    assert sections == {f"mod = {size}, {h}" for size in sizes for h in hashes}


# --- Wycheproof ---------------------------------------------------------------------------------


def _wycheproof_cases() -> list[Any]:
    """(group, test) for every test of every file, each checked against the file's ``numberOfTests``."""
    cases = []
    for name in WYCHEPROOF_FILES:
        document = load_json(vector_path("dsa", "wycheproof", name))
        stem = name.removesuffix("_test.json")
        found = [
            pytest.param(group, test, id=f"{stem}:tc{test['tcId']}")
            for group in document["testGroups"]
            for test in group["tests"]
        ]
        assert len(found) == document["numberOfTests"], name
        cases += found
    return cases


CASES = _wycheproof_cases()


@pytest.mark.parametrize(("group", "test"), CASES)
def test_wycheproof_p1363_verify(group: dict[str, Any], test: dict[str, Any]) -> None:
    key = group["publicKey"]
    p, q, g, y = (_hex(key[name]) for name in "pqgy")
    dsa.check_parameters(p, q, g)
    assert dsa.public_value_problem(p, q, y) is None
    digest = hash_algorithm(group["sha"]).digest(bytes.fromhex(test["msg"]))
    try:
        r, s = dsa.decode_signature(q, bytes.fromhex(test["sig"]))
    except ValueError:
        accepted = False
    else:
        accepted = dsa.verify_digest(p, q, g, y, digest, r, s)
    assert test["result"] in ("valid", "invalid")  # these files have no "acceptable" case
    assert accepted == (test["result"] == "valid"), test["comment"]


def test_wycheproof_files_exercise_the_range_checks() -> None:
    flags = {flag for case in CASES for flag in case.values[1]["flags"]}
    assert {"RangeCheck", "IntegerOverflow", "InvalidSignature", "ModifiedInteger"} <= flags

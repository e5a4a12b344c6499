"""Single-DES known-answer tests: every published vector, both directions, on every path: the
readable DES, FastDES table-driven, and FastDES on bit slices (its bulk operations, through ECB).

Sources (provenance in tests/vectors/README.md): NIST SP 800-17 Appendix A and Tables B.1-B.4,
Botan's des.vec ``[DES]`` section, the NIST CAVP ``TECB*.rsp`` files whose key is ``KEYs``
(K1 = K2 = K3, i.e. single DES), the ECB entries of des_misc_kat.json (FIPS 81, Stinson/Grabbe),
and Rivest's iterative test.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ciphers import modes
from ciphers.blockcipher import BlockCipher
from ciphers.des import DES
from ciphers.des_fast import FastDES
from ciphers.errors import InsecureWarning
from ciphers.vectors.loader import load_json, load_records
from tests import kat

Factory = Callable[[bytes], BlockCipher]
IMPLEMENTATIONS: dict[str, Factory] = {
    "readable": DES,
    "table": lambda key: FastDES(key, bitslice=False),
    "bitslice": lambda key: FastDES(key, bitslice=True),
}


def make(factory: Factory, key: bytes) -> BlockCipher:
    """A cipher under ``key``; weak-key warnings are expected here (several vectors use weak keys)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return factory(key)


def blocks(data: bytes) -> list[bytes]:
    assert len(data) % 8 == 0 and data
    return [data[i : i + 8] for i in range(0, len(data), 8)]


def sp800_17(path: Path) -> Iterator[Any]:
    for group in load_json(path)["groups"]:
        for i, v in enumerate(group["vectors"]):
            yield pytest.param(v["key"], v["plaintext"], v["ciphertext"], id=f"SP800-17:{group['name']}#{i}")


def botan(path: Path) -> Iterator[Any]:
    for r in load_records(path):
        if r.section == "DES":
            yield pytest.param(r["Key"], r["In"], r["Out"], id=r.label)


def cavp(path: Path) -> Iterator[Any]:
    for r in load_records(path):
        yield pytest.param(r["KEYs"], r["PLAINTEXT"], r["CIPHERTEXT"], id=r.label)


def misc_ecb(path: Path) -> Iterator[Any]:
    for v in load_json(path)["vectors"]:
        if v["mode"] == "ECB" and len(v["key"]) == 16:
            yield pytest.param(v["key"], v["plaintext"], v["ciphertext"], id=f"misc:{v['name']}")


SP800_17 = kat.from_files(sp800_17, "des", ["des_sp800_17_kat.json"])
BOTAN = kat.from_files(botan, "des", ["botan_des.vec"])
CAVP = kat.from_files(cavp, "tdes_cavp", kat.CAVP_TECB_KEYS)
MISC = kat.from_files(misc_ecb, "des", ["des_misc_kat.json"])

test_every_vector_file_yields_vectors = kat.every_file_yields_vectors(SP800_17, BOTAN, CAVP, MISC)


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def factory(request: pytest.FixtureRequest) -> Factory:
    return IMPLEMENTATIONS[request.param]


@pytest.mark.parametrize(("key", "plaintext", "ciphertext"), [*SP800_17, *BOTAN, *CAVP, *MISC])
def test_ecb_vector(factory: Factory, key: str, plaintext: str, ciphertext: str) -> None:
    cipher = make(factory, bytes.fromhex(key))
    for p, c in zip(blocks(bytes.fromhex(plaintext)), blocks(bytes.fromhex(ciphertext)), strict=True):
        assert cipher.encrypt_block(p) == c
        assert cipher.decrypt_block(c) == p
        assert cipher.encrypt_int(int.from_bytes(p, "big")) == int.from_bytes(c, "big")
        assert cipher.decrypt_int(int.from_bytes(c, "big")) == int.from_bytes(p, "big")
    # all blocks at once: the bulk operations, where the cipher has them and the path chooses them
    assert modes.ecb_encrypt(cipher, bytes.fromhex(plaintext), pad=False) == bytes.fromhex(ciphertext)
    assert modes.ecb_decrypt(cipher, bytes.fromhex(ciphertext), pad=False) == bytes.fromhex(plaintext)


def test_rivest_iterative(factory: Factory) -> None:
    """Rivest's test: X(i+1) = E_Xi(Xi) for even i, D_Xi(Xi) for odd i; X16 is published."""
    data = load_json(kat.vector_path("des", "des_misc_kat.json"))["rivest_iterative_test"]
    x = bytes.fromhex(data["x0"])
    seen = [x.hex()]
    for i in range(16):
        cipher = make(factory, x)
        x = cipher.encrypt_block(x) if i % 2 == 0 else cipher.decrypt_block(x)
        seen.append(x.hex())
    assert x.hex() == data["x16"]
    assert seen == data["intermediate"]

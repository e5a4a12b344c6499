"""Project Wycheproof (C2SP/wycheproof testvectors_v1) for every RSA padding we implement.

Every ``valid`` case is accepted, every ``invalid`` one rejected, and each ``acceptable`` case is
listed in :data:`ACCEPTABLE` with what we do and why. Keys come from the JSON's own numbers
(``privateKey``/``publicKey`` fields); private keys are rebuilt with ``from_components(n, e, d)``
and, where the file gives them, checked against its primes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from ciphers.errors import DecryptionError, VerificationError
from ciphers.rng import DeterministicRNG
from ciphers.rsa import oaep, pkcs1_v15, pss
from ciphers.rsa.keys import RSAPrivateKey, RSAPublicKey
from ciphers.vectors.loader import load_json
from tests import kat

OAEP_SHA1 = "rsa_oaep_2048_sha1_mgf1sha1_test.json"
OAEP_SHA256 = "rsa_oaep_2048_sha256_mgf1sha256_test.json"
PKCS1_DECRYPT = "rsa_pkcs1_2048_test.json"
PSS_VERIFY = "rsa_pss_2048_sha256_mgf1_32_test.json"
PKCS1_VERIFY = "rsa_signature_2048_sha256_test.json"
PKCS1_SIGN = "rsa_pkcs1_2048_sig_gen_test.json"

# (file, tcId) -> (what we do, why). Wycheproof leaves these to the implementation.
ACCEPTABLE: dict[tuple[str, int], tuple[str, str]] = {
    (PKCS1_VERIFY, 8): (
        "reject",
        "MissingNull: the DigestInfo omits the NULL parameters of the hash AlgorithmIdentifier. RFC 8017 "
        "§8.2.2 verifies by re-encoding EM (with NULL, §9.2 note 1) and comparing it whole, so the legacy "
        "form cannot match; rejecting is the strict choice and keeps a single valid encoding.",
    ),
    **{
        (PKCS1_SIGN, tc): (
            "sign",
            "WeakHash: SHA-1. We keep SHA-1 (the RSA Labs vectors and legacy interoperability need it) and "
            "sign as asked; our signature equals the expected one byte for byte and verifies.",
        )
        for tc in range(65, 73)
    },
    **{
        (PKCS1_SIGN, tc): (
            "sign",
            "SmallPublicKey: e = 3. Signing uses d and is deterministic; with our strict re-encoding "
            "verification a small e allows no Bleichenbacher-2006 forgery, so we neither refuse the key nor "
            "warn, and our signature equals the expected one byte for byte.",
        )
        for tc in (154, 155, 158)
    },
}

FILES = (OAEP_SHA1, OAEP_SHA256, PKCS1_DECRYPT, PSS_VERIFY, PKCS1_VERIFY, PKCS1_SIGN)


@dataclass(frozen=True)
class Case:
    """One Wycheproof test with its group's parameters."""

    file: str
    group: dict[str, Any]
    test: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.file.removesuffix('_test.json')}:tc{self.test['tcId']}"

    def hex(self, name: str) -> bytes:
        return bytes.fromhex(self.test[name])


def cases(file: str) -> list[Case]:
    data = load_json(kat.vector_path("rsa", "wycheproof", file))
    return [Case(file, group, test) for group in data["testGroups"] for test in group["tests"]]


CASES = {file: cases(file) for file in FILES}


def _int(text: str) -> int:
    return int(text, 16)


@cache
def _private_key(n: int, e: int, d: int) -> RSAPrivateKey:
    return RSAPrivateKey.from_components(n, e, d)


def private_key(group: dict[str, Any]) -> RSAPrivateKey:
    numbers = group["privateKey"]
    key = _private_key(
        _int(numbers["modulus"]), _int(numbers["publicExponent"]), _int(numbers["privateExponent"])
    )
    if "prime1" in numbers:
        assert {key.p, key.q} == {_int(numbers["prime1"]), _int(numbers["prime2"])}
    return key


def public_key(group: dict[str, Any]) -> RSAPublicKey:
    numbers = group["publicKey"]
    return RSAPublicKey(_int(numbers["modulus"]), _int(numbers["publicExponent"]))


def params(file: str) -> Any:
    return pytest.mark.parametrize("case", CASES[file], ids=[case.id for case in CASES[file]])


def test_counts_and_acceptable_cases_are_all_documented() -> None:
    """Every test of each file is read (as many as its ``numberOfTests``), every acceptable one explained."""
    for file in FILES:
        declared = load_json(kat.vector_path("rsa", "wycheproof", file))["numberOfTests"]
        assert 0 < len(CASES[file]) == declared, file
    acceptable = {
        (case.file, case.test["tcId"])
        for file in FILES
        for case in CASES[file]
        if case.test["result"] == "acceptable"
    }
    assert acceptable == set(ACCEPTABLE)


# --- decryption: OAEP and PKCS #1 v1.5 ---


def oaep_decrypt(case: Case) -> bytes:
    return oaep.decrypt(
        private_key(case.group),
        case.hex("ct"),
        label=case.hex("label"),
        hash_name=case.group["sha"],
        mgf_hash=case.group["mgfSha"],
        rng=DeterministicRNG(case.id),
    )


def pkcs1_decrypt(case: Case) -> bytes:
    return pkcs1_v15.decrypt(private_key(case.group), case.hex("ct"), rng=DeterministicRNG(case.id))


DECRYPT = {OAEP_SHA1: oaep_decrypt, OAEP_SHA256: oaep_decrypt, PKCS1_DECRYPT: pkcs1_decrypt}


@pytest.mark.parametrize(
    "case",
    [case for file in DECRYPT for case in CASES[file]],
    ids=[case.id for file in DECRYPT for case in CASES[file]],
)
def test_decryption(case: Case) -> None:
    assert case.test["result"] in ("valid", "invalid")  # none are "acceptable" in these files
    decrypt = DECRYPT[case.file]
    if case.test["result"] == "valid":
        assert decrypt(case) == case.hex("msg")
    else:
        with pytest.raises(DecryptionError):
            decrypt(case)


@pytest.mark.parametrize("file", list(DECRYPT))
def test_every_invalid_ciphertext_gives_the_same_error(file: str) -> None:
    # No padding oracle in our API: one type, one message, whatever is wrong (RFC 8017 §7.1.2 note, §7.2.2).
    seen = set()
    for case in CASES[file]:
        if case.test["result"] != "invalid":
            continue
        with pytest.raises(DecryptionError) as caught:
            DECRYPT[file](case)
        seen.add((type(caught.value), str(caught.value)))
    assert seen == {(DecryptionError, "decryption error")}


# --- signature verification: PSS and PKCS #1 v1.5 ---


def pss_valid(case: Case) -> bool:
    group = case.group
    return pss.is_valid(
        public_key(group),
        case.hex("msg"),
        case.hex("sig"),
        hash_name=group["sha"],
        salt_length=group["sLen"],
        mgf_hash=group["mgfSha"],
    )


def pkcs1_valid(case: Case) -> bool:
    return pkcs1_v15.is_valid(
        public_key(case.group), case.hex("msg"), case.hex("sig"), hash_name=case.group["sha"]
    )


VERIFY = {PSS_VERIFY: pss_valid, PKCS1_VERIFY: pkcs1_valid}


@pytest.mark.parametrize(
    "case",
    [case for file in VERIFY for case in CASES[file]],
    ids=[case.id for file in VERIFY for case in CASES[file]],
)
def test_verification(case: Case) -> None:
    result = case.test["result"]
    accepted = VERIFY[case.file](case)
    if result == "acceptable":
        assert accepted == (ACCEPTABLE[case.file, case.test["tcId"]][0] == "accept")
    else:
        assert accepted == (result == "valid")


def test_verify_raises_verification_error_on_an_invalid_case() -> None:
    case = next(c for c in CASES[PKCS1_VERIFY] if c.test["result"] == "invalid")
    with pytest.raises(VerificationError, match="invalid signature"):
        pkcs1_v15.verify(
            public_key(case.group), case.hex("msg"), case.hex("sig"), hash_name=case.group["sha"]
        )


# --- signature generation: PKCS #1 v1.5 is deterministic, so ours must equal theirs ---


@params(PKCS1_SIGN)
def test_pkcs1_signature_generation(case: Case) -> None:
    result = case.test["result"]
    if result == "acceptable":
        assert ACCEPTABLE[case.file, case.test["tcId"]][0] == "sign"
    else:
        assert result == "valid"  # the file has no invalid generation cases
    key = private_key(case.group)
    hash_name = case.group["sha"]
    signature = pkcs1_v15.sign(key, case.hex("msg"), hash_name=hash_name, rng=DeterministicRNG(case.id))
    assert signature == case.hex("sig")
    pkcs1_v15.verify(key.public_key(), case.hex("msg"), signature, hash_name=hash_name)

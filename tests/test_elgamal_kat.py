"""ElGamal known-answer vectors: every vector of elgamal/elgamal_kat.json (PyCryptodome/libgcrypt and
Botan numbers) and the original Botan .vec files, through the bare equations and the strict API."""

from __future__ import annotations

import pytest

from ciphers.elgamal.core import (
    Ciphertext,
    PrivateKey,
    decrypt_element,
    decrypt_int,
    encrypt_element,
    encrypt_int,
)
from ciphers.elgamal.groups import named_group
from ciphers.elgamal.signatures import sign_int, verify_int
from ciphers.errors import DecryptionError
from ciphers.rng import FixedRNG
from ciphers.vectors.loader import Record, load_json, load_records
from tests import kat

KAT = load_json(kat.vector_path("elgamal", "elgamal_kat.json"))
pytestmark = pytest.mark.filterwarnings("ignore::ciphers.errors.InsecureWarning")


def _vectors(family: str) -> list[dict[str, int | str]]:
    """A family's vectors with every hex field as an int (the group name and padding kept as text)."""
    out: list[dict[str, int | str]] = []
    for raw in KAT[family]["vectors"]:
        out.append({k: v if k in ("group", "padding", "bits") else int(v, 16) for k, v in raw.items()})
    return out


def _ids(family: str) -> list[str]:
    return [f"elgamal_kat.json:{family}#{i} ({v['bits']}-bit)" for i, v in enumerate(KAT[family]["vectors"])]


def _int(vector: dict[str, int | str], name: str) -> int:
    value = vector[name]
    assert isinstance(value, int)
    return value


def _fixed_rng_for(value: int, low: int, high: int) -> FixedRNG:
    """A FixedRNG whose bytes make ciphers.rng.randrange(low, high) return ``value``."""
    bits = (high - low - 1).bit_length()
    nbytes = (bits + 7) // 8
    return FixedRNG(((value - low) << (8 * nbytes - bits)).to_bytes(nbytes, "big"))


#: The families of elgamal_kat.json, each with its test below.
FAMILIES = ["pycryptodome_encryption", "pycryptodome_signature", "botan_encryption", "botan_decryption"]


def test_every_family_is_tested_and_has_vectors() -> None:
    families = {f: len(KAT[f]["vectors"]) for f in KAT if isinstance(KAT[f], dict)}
    assert sorted(families) == sorted(FAMILIES)
    assert all(families.values()), families


@pytest.mark.parametrize("v", _vectors("pycryptodome_encryption"), ids=_ids("pycryptodome_encryption"))
def test_pycryptodome_encryption(v: dict[str, int | str]) -> None:
    p, g, x, y = _int(v, "p"), _int(v, "g"), _int(v, "x"), _int(v, "y")
    assert pow(g, x, p) == y
    assert encrypt_int(p, g, y, _int(v, "m"), _int(v, "k")) == (_int(v, "c1"), _int(v, "c2"))
    assert decrypt_int(p, x, _int(v, "c1"), _int(v, "c2")) == _int(v, "m")


@pytest.mark.parametrize("v", _vectors("pycryptodome_signature"), ids=_ids("pycryptodome_signature"))
def test_pycryptodome_signature(v: dict[str, int | str]) -> None:
    p, g, x, y, h = _int(v, "p"), _int(v, "g"), _int(v, "x"), _int(v, "y"), _int(v, "h")
    r, s = _int(v, "r"), _int(v, "s")
    assert sign_int(p, g, x, h, _int(v, "k")) == (r, s)
    assert verify_int(p, g, y, h, r, s)
    assert not verify_int(p, g, y, h + 1, r, s)
    assert not verify_int(p, g, y, h, r, (s + 1) % (p - 1))


@pytest.mark.parametrize("v", _vectors("botan_encryption"), ids=_ids("botan_encryption"))
def test_botan_encryption_in_the_built_in_groups(v: dict[str, int | str]) -> None:
    group = named_group(str(v["group"]))
    x, k, m = _int(v, "x"), _int(v, "k"), _int(v, "m")
    c1, c2 = _int(v, "c1"), _int(v, "c2")
    assert _int(v, "g") == group.g
    key = PrivateKey.from_exponent(group, x)
    assert key.y == _int(v, "y")
    assert encrypt_int(group.p, group.g, key.y, m, k) == (c1, c2)
    assert decrypt_int(group.p, x, c1, c2) == m
    if pow(m, group.q, group.p) == 1:
        # m is in the subgroup: the strict API reproduces the vector with k injected through the rng.
        assert k < group.q
        rng = _fixed_rng_for(k, 1, group.q)
        assert encrypt_element(key.public_key, m, rng) == Ciphertext(c1, c2)
        assert decrypt_element(key, Ciphertext(c1, c2)) == m
    else:
        # m is a non-residue, so c2 is outside the subgroup: the strict API refuses the ciphertext.
        with pytest.raises(DecryptionError):
            decrypt_element(key, Ciphertext(c1, c2))


def _pkcs1_v15_unpad(block: bytes) -> bytes:
    """EME-PKCS1-v1_5 decoding (RFC 8017 §7.2.2 step 3), written here for the one padded vector."""
    assert block[:2] == b"\x00\x02"
    separator = block.index(b"\x00", 2)
    assert separator >= 10
    return block[separator + 1 :]


@pytest.mark.parametrize("v", _vectors("botan_decryption"), ids=_ids("botan_decryption"))
def test_botan_decryption(v: dict[str, int | str]) -> None:
    p, g, x = _int(v, "p"), _int(v, "g"), _int(v, "x")
    assert pow(g, x, p) == _int(v, "y")
    m = decrypt_int(p, x, _int(v, "c1"), _int(v, "c2"))
    if str(v["padding"]).startswith("none"):
        assert m == _int(v, "m")
    else:
        block = m.to_bytes((p.bit_length() + 7) // 8, "big")
        assert int.from_bytes(_pkcs1_v15_unpad(block), "big") == _int(v, "m")


# --- the Botan files themselves ---


def _num(text: str) -> int:
    """A Botan number: 0x-prefixed hex or decimal."""
    return int(text[2:], 16) if text.lower().startswith("0x") else int(text)


ENCRYPT_RECORDS = load_records(kat.vector_path("elgamal", "botan_elgamal_encrypt.vec"))
DECRYPT_RECORDS = load_records(kat.vector_path("elgamal", "botan_elgamal_decrypt.vec"))


def _c1_c2(vector: dict[str, str], p: int) -> bytes:
    size = (p.bit_length() + 7) // 8
    return int(vector["c1"], 16).to_bytes(size, "big") + int(vector["c2"], 16).to_bytes(size, "big")


def test_botan_families_are_the_botan_files_record_for_record() -> None:
    """The converted Botan families of elgamal_kat.json are the Botan files, record for record."""
    encryption, decryption = KAT["botan_encryption"]["vectors"], KAT["botan_decryption"]["vectors"]
    assert len(encryption) == len(ENCRYPT_RECORDS) and len(decryption) == len(DECRYPT_RECORDS)
    for v, r in zip(encryption, ENCRYPT_RECORDS, strict=True):
        assert _c1_c2(v, named_group(v["group"]).p) == r.hex("Ciphertext"), r.label
    for v, r in zip(decryption, DECRYPT_RECORDS, strict=True):
        assert _c1_c2(v, int(v["p"], 16)) == r.hex("Ciphertext"), r.label


@pytest.mark.parametrize("record", ENCRYPT_RECORDS, ids=[r.label for r in ENCRYPT_RECORDS])
def test_botan_encrypt_vec(record: Record) -> None:
    family, _, bits = record["Group"].split("/")
    group = named_group(f"{family}{bits}")
    nonce = record.hex("Nonce")
    # Botan draws a (|p|-1)-bit exponent from the fixed nonce: its top bit is cleared.
    k = int.from_bytes(nonce, "big") & ((1 << (8 * len(nonce) - 1)) - 1)
    x = _num(record["Secret"])
    y = pow(group.g, x, group.p)
    c1, c2 = encrypt_int(group.p, group.g, y, int.from_bytes(record.hex("Msg"), "big"), k)
    assert group.encode_element(c1) + group.encode_element(c2) == record.hex("Ciphertext")


@pytest.mark.parametrize("record", DECRYPT_RECORDS, ids=[r.label for r in DECRYPT_RECORDS])
def test_botan_decrypt_vec(record: Record) -> None:
    p, x = _num(record["P"]), _num(record["X"])
    size = (p.bit_length() + 7) // 8
    ciphertext = record.hex("Ciphertext")
    assert len(ciphertext) == 2 * size
    m = decrypt_int(p, x, int.from_bytes(ciphertext[:size], "big"), int.from_bytes(ciphertext[size:], "big"))
    if record.section == "EME-PKCS1-v1_5":
        assert _pkcs1_v15_unpad(m.to_bytes(size, "big")) == record.hex("Msg")
    else:
        assert m == int.from_bytes(record.hex("Msg"), "big")

"""Identity keys: the wire map, fingerprints and safety numbers, storage, and trust on first use."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import struct
import warnings
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from chat.client.store import default_identity_dir
from chat.e2e.identity import (
    Fingerprint,
    Identity,
    IdentityError,
    PublicIdentity,
    safety_number,
)
from chat.e2e.trust import KnownPeers, TrustState
from ciphers.elgamal.core import generate_private_key
from ciphers.elgamal.groups import named_group
from ciphers.errors import InsecureWarning
from ciphers.rng import DeterministicRNG
from ciphers.rsa.formats import dump_public_key
from ciphers.rsa.keys import generate
from tests.chat_support import identity


def lp(*fields: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


def digits(digest: bytes, groups: int) -> str:
    return " ".join(f"{int.from_bytes(digest[5 * i : 5 * i + 5], 'big') % 100000:05d}" for i in range(groups))


# --- the wire map and fingerprints --------------------------------------------------------------


def test_wire_map_round_trip_and_pem_against_cryptography() -> None:
    alice = identity("alice")
    wire = alice.public.to_wire()
    assert set(wire) == {"v", "rsa", "elgamal.group", "elgamal.y"}
    assert wire["v"] == "1" and wire["elgamal.group"] == "ffdhe2048"
    reference = load_pem_public_key(wire["rsa"].encode()).public_numbers()  # type: ignore[union-attr]
    assert (reference.n, reference.e) == (alice.rsa.n, alice.rsa.e)
    assert int.from_bytes(base64.b64decode(wire["elgamal.y"]), "big") == alice.elgamal.y
    assert len(base64.b64decode(wire["elgamal.y"])) == 256
    parsed = PublicIdentity.from_wire(wire)
    assert parsed == alice.public and parsed.fingerprint == alice.fingerprint


def test_fingerprint_is_sha256_of_the_documented_encoding() -> None:
    alice = identity("alice")
    rsa, group, y = alice.rsa, alice.elgamal.group, alice.elgamal.y
    encoding = lp(
        b"cipherchat-identity-v1",
        b"rsa",
        rsa.n.to_bytes(256, "big"),
        rsa.e.to_bytes(3, "big"),
        b"elgamal",
        group.p.to_bytes(256, "big"),
        group.g.to_bytes(256, "big"),
        y.to_bytes(256, "big"),
    )
    digest = hashlib.sha256(encoding).digest()
    fingerprint = alice.fingerprint
    assert fingerprint.digest == digest and fingerprint.hex == digest.hex()
    assert fingerprint.digits == digits(digest, 6) and str(fingerprint) == fingerprint.digits
    assert fingerprint.short == digits(digest, 2)
    assert len(fingerprint.digits) == 6 * 5 + 5 and fingerprint.digits.replace(" ", "").isdigit()


def test_fingerprint_digit_groups_by_hand() -> None:
    digest = bytes.fromhex("00000186a0" + "ffffffffff" + "0000000001") + bytes(17)
    # 0x186a0 = 100000 -> 00000; 2**40 - 1 = 1099511627775 -> 27775; 1 -> 00001
    assert Fingerprint(digest).digits.split()[:3] == ["00000", "27775", "00001"]


def test_either_key_changes_the_fingerprint() -> None:
    alice, mallory = identity("alice"), identity("mallory")
    mixed_rsa = PublicIdentity(mallory.public.rsa, alice.public.elgamal)
    mixed_elgamal = PublicIdentity(alice.public.rsa, mallory.public.elgamal)
    prints = {alice.fingerprint, mallory.fingerprint, mixed_rsa.fingerprint, mixed_elgamal.fingerprint}
    assert len(prints) == 4
    assert len({f.digits for f in prints}) == 4


def _bad(**changes: str) -> dict[str, str]:
    return {**identity("alice").public.to_wire(), **changes}


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ({k: v for k, v in _bad().items() if k != "rsa"}, "exactly the fields"),
        ({**_bad(), "extra": "1"}, "exactly the fields"),
        (_bad(v="2"), "version"),
        (_bad(rsa="not a key"), "RSA key is not usable"),
        (_bad(**{"elgamal.group": "modp1024"}), "not a built-in group of 2048"),
        (_bad(**{"elgamal.group": "custom"}), "not a built-in group"),
        (_bad(**{"elgamal.y": "AAAA"}), "wrong length"),
        (_bad(**{"elgamal.y": "not base64"}), "base64"),
        (_bad(**{"elgamal.y": base64.b64encode((1).to_bytes(256, "big")).decode()}), "not usable"),
    ],
    ids=[
        "missing",
        "extra",
        "version",
        "rsa-garbage",
        "small-group",
        "unknown-group",
        "short-y",
        "bad-b64",
        "y=1",
    ],
)
def test_unusable_wire_identities(wire: dict[str, str], message: str) -> None:
    with pytest.raises(IdentityError, match=message):
        PublicIdentity.from_wire(wire)


def test_y_outside_the_subgroup_is_refused() -> None:
    group = named_group("ffdhe2048")
    outside = base64.b64encode((group.p - 1).to_bytes(256, "big")).decode()  # -1 is not a residue
    with pytest.raises(IdentityError, match="not usable"):
        PublicIdentity.from_wire(_bad(**{"elgamal.y": outside}))


def test_small_rsa_key_is_refused() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        small = generate(1024, rng=DeterministicRNG("small"))
    wire = _bad(rsa=dump_public_key(small).decode())
    with pytest.raises(IdentityError, match="2048 to 4096 bits, not 1024"):
        PublicIdentity.from_wire(wire)


def test_repr_hides_the_private_keys() -> None:
    alice = identity("alice")
    text = repr(alice)
    assert str(alice.rsa.d) not in text and str(alice.elgamal.x) not in text
    assert alice.fingerprint.digits in text


# --- safety numbers -----------------------------------------------------------------------------


def test_safety_number_is_symmetric_and_documented() -> None:
    alice, bob = identity("alice").public, identity("bob").public
    number = safety_number("alice", alice, "Bob", bob)
    assert number == safety_number("bob", bob, "ALICE", alice)
    halves = sorted(
        digits(hashlib.sha256(lp(b"cipherchat-safety-number-v1", name.encode(), key.encode())).digest(), 6)
        for name, key in (("alice", alice), ("bob", bob))
    )
    assert number == " ".join(halves)
    assert len(number.split()) == 12


def test_safety_number_changes_with_a_key_or_an_alias() -> None:
    alice, bob, mallory = identity("alice").public, identity("bob").public, identity("mallory").public
    genuine = safety_number("alice", alice, "bob", bob)
    assert safety_number("alice", alice, "bob", mallory) != genuine
    assert safety_number("alice", alice, "bobby", bob) != genuine
    # Swapping the names of the two keys changes it too.
    assert safety_number("alice", bob, "bob", alice) != genuine


# --- storage ------------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_save_and_load(tmp_path: Path) -> None:
    alice = identity("alice")
    where = alice.save(tmp_path / "ids" / "alice")
    assert _mode(where) == 0o700
    assert _mode(where / "rsa.pem") == 0o600 and _mode(where / "elgamal.json") == 0o600
    assert _mode(where / "identity.json") == 0o644
    assert b"PRIVATE KEY" in (where / "rsa.pem").read_bytes()
    assert str(alice.fingerprint) in (where / "identity.json").read_text()
    loaded = Identity.load(where)
    assert loaded == alice and loaded.fingerprint == alice.fingerprint
    # Saving again replaces the files in place, still private.
    alice.save(where)
    assert _mode(where / "rsa.pem") == 0o600 and sorted(os.listdir(where)) == [
        "elgamal.json",
        "identity.json",
        "rsa.pem",
    ]


def test_load_refuses_private_files_others_can_read(tmp_path: Path) -> None:
    where = identity("alice").save(tmp_path / "alice")
    os.chmod(where / "rsa.pem", 0o644)
    with pytest.raises(IdentityError, match=r"readable by others \(mode 0644\); chmod 600"):
        Identity.load(where)


def test_load_refuses_a_mismatched_public_file(tmp_path: Path) -> None:
    where = identity("alice").save(tmp_path / "alice")
    (where / "identity.json").write_text(
        (identity("bob").save(tmp_path / "bob") / "identity.json").read_text()
    )
    with pytest.raises(IdentityError, match="does not match"):
        Identity.load(where)


def test_load_missing_or_corrupt(tmp_path: Path) -> None:
    with pytest.raises(IdentityError, match="is missing"):
        Identity.load(tmp_path / "nobody")
    where = identity("alice").save(tmp_path / "alice")
    (where / "rsa.pem").write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(IdentityError, match="not usable"):
        Identity.load(where)


def test_load_or_create_is_stable(tmp_path: Path) -> None:
    first = Identity.load_or_create(tmp_path / "carol", rng=DeterministicRNG("carol-stable"))
    second = Identity.load_or_create(tmp_path / "carol")
    assert first == second and first.fingerprint == second.fingerprint


def test_default_identity_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_identity_dir("Alice") == tmp_path / "cipherchat" / "identities" / "alice"
    assert default_identity_dir("bob", base="/x") == Path("/x/cipherchat/identities/bob")


def test_generated_keys_have_the_documented_sizes() -> None:
    alice = identity("alice")
    assert alice.rsa.bits == 2048 and alice.rsa.e == 65537
    assert alice.elgamal.group.p == named_group("ffdhe2048").p
    other = Identity(alice.rsa, generate_private_key(named_group("ffdhe2048"), DeterministicRNG("x")))
    assert other.fingerprint != alice.fingerprint


# --- trust on first use -------------------------------------------------------------------------


def test_known_peers_states(tmp_path: Path) -> None:
    store = KnownPeers(tmp_path / "known.json")
    bob, mallory = identity("bob").fingerprint, identity("mallory").fingerprint
    assert store.check("Bob", bob) is TrustState.NEW
    assert store.check("bob", bob) is TrustState.KNOWN
    assert store.check("BOB", mallory) is TrustState.CHANGED
    assert store.check("bob", mallory) is TrustState.CHANGED  # not silently accepted on second sight
    assert store.remembered("bob") == bob.hex
    store.trust("bob", mallory)
    assert store.check("bob", mallory) is TrustState.VERIFIED
    assert store.check("bob", bob) is TrustState.CHANGED
    # Persisted: a new store on the same file remembers.
    again = KnownPeers(tmp_path / "known.json")
    assert again.check("bob", mallory) is TrustState.VERIFIED
    again.forget("bob")
    assert KnownPeers(tmp_path / "known.json").check("bob", bob) is TrustState.NEW


def test_known_peers_in_memory_and_malformed(tmp_path: Path) -> None:
    store = KnownPeers()
    assert store.check("a", identity("bob").fingerprint) is TrustState.NEW
    store.save()
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1, "peers": {"a": {"fingerprint": "zz"}}}')
    with pytest.raises(ValueError, match="malformed"):
        KnownPeers(bad)


def test_the_binary_fields_of_an_identity_are_base64_and_the_others_are_not() -> None:
    from chat.e2e.identity import BINARY_FIELDS
    from ciphers import strict_base64
    from ciphers.errors import FormatError

    announced = identity("alice").public.to_wire()
    for name, value in announced.items():
        if name in BINARY_FIELDS:
            assert len(strict_base64.decode(value)) == 256
        else:
            with pytest.raises(FormatError):
                strict_base64.decode(value)

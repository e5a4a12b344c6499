"""A suite is one object: a suite and a kex written here, registered for the test, run through the
unchanged session, file-transfer sizing and registry, with no other module edited.

``3des-ctr`` is Triple DES in CTR mode (the mode from :mod:`ciphers.modes`) with the chat's
HMAC-SHA256; ``rsa-v15`` is a key exchange wrapping with RSAES-PKCS1-v1_5 (insecure: Bleichenbacher
1998; here only to show a family is one object), and a direct suite on it. If either needs a
change anywhere but the registry, these tests say so.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from Crypto.Cipher import DES3

from chat.e2e import suites
from chat.e2e.chain import message_key, message_keys
from chat.e2e.families import RSAFamily
from chat.e2e.identity import Identity, PublicIdentity
from chat.e2e.session import Delivered, KeyReceived, Outgoing, Reason, Rejected, Result
from chat.e2e.suites import TDES, DirectSuite, HybridSuite
from chat.protocol.errors import RemoteProtocolError
from chat.protocol.events import MessageFrame, parse_frame
from chat.protocol.limits import DEFAULT_LIMITS
from chat.transfer.chunks import HYBRID_CHUNK, room_chunk_size
from chat.transfer.format import CHUNK, CHUNK_HEADER
from ciphers import strict_base64
from ciphers.envelope import Mode
from ciphers.errors import DecryptionError
from ciphers.modes import ctr_decrypt, ctr_encrypt
from ciphers.rng import RNG, SYSTEM
from ciphers.rsa import pkcs1_v15
from tests.chat_support import Room, session_of

ROOT = Path(__file__).resolve().parent.parent
CTR = Mode("CTR", ctr_encrypt, ctr_decrypt, stream=True)
THREE_DES_CTR = HybridSuite(
    "3des-ctr", TDES, CTR, note="teaching: Triple DES in CTR mode with HMAC-SHA256", insecure=False
)


class RSAv15Family(RSAFamily):
    """RSA-PSS signatures, with RSAES-PKCS1-v1_5 (RFC 8017 §7.2) for key wrapping and direct chunks."""

    name = "rsa-v15"
    wrapping = "RSAES-PKCS1-v1_5"
    wrapping_detail = "RSAES-PKCS1-v1_5 (insecure)"

    def wrap(self, recipient: PublicIdentity, material: bytes, context: bytes, *, rng: RNG = SYSTEM) -> bytes:
        return pkcs1_v15.encrypt(recipient.rsa, material, rng=rng)

    def unwrap(self, identity: Identity, wrapped: bytes, context: bytes) -> bytes:
        return pkcs1_v15.decrypt(identity.rsa, wrapped)

    def encrypt_direct(
        self, recipient: PublicIdentity, data: bytes, context: bytes, *, rng: RNG = SYSTEM
    ) -> bytes:
        size, _ = self.block_sizes(recipient)
        chunks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
        return b"".join(pkcs1_v15.encrypt(recipient.rsa, chunk, rng=rng) for chunk in chunks)

    def decrypt_direct(self, identity: Identity, data: bytes, context: bytes) -> bytes:
        k = identity.rsa.size_bytes
        if not data or len(data) % k:
            raise DecryptionError()
        return b"".join(pkcs1_v15.decrypt(identity.rsa, data[i : i + k]) for i in range(0, len(data), k))

    def block_sizes(self, recipient: PublicIdentity) -> tuple[int, int]:
        return pkcs1_v15.max_message_length(recipient.rsa), recipient.rsa.size_bytes


RSA_V15 = RSAv15Family()
RSA_V15_DIRECT = DirectSuite(
    "rsa-v15", RSA_V15, label="RSAES-PKCS1-v1_5 to each recipient", note="INSECURE: teaching", insecure=True
)


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The new suites and kex in the registry for one test (the protocol's names are not consulted)."""
    monkeypatch.setitem(suites.SUITES, THREE_DES_CTR.name, THREE_DES_CTR)
    monkeypatch.setitem(suites.SUITES, RSA_V15_DIRECT.name, RSA_V15_DIRECT)
    monkeypatch.setitem(suites.KEXES, RSA_V15.name, RSA_V15)
    yield


def three(suite: str, kex: str) -> Room:
    room = Room(suite, kex)
    for name in ("alice", "bob", "carol"):
        room.join(name)
    return room


def reasons(result: Result) -> list[Reason]:
    assert not any(isinstance(e, Delivered) for e in result.events), "tampered text was delivered"
    return [e.reason for e in result.events if isinstance(e, Rejected)]


TEXTS = ["", "x", "seven b", "eight by", "nine byte", "ünïcødé ✓ " * 100]


@pytest.mark.parametrize("kex", ["rsa", "elgamal", "rsa-v15"])
def test_a_new_suite_round_trips_messages_and_key_bundles(kex: str) -> None:
    room = three("3des-ctr", kex)
    sent = [room.send("alice", text) for text in TEXTS]
    assert room.texts("bob") == room.texts("carol") == [("alice", text) for text in TEXTS]
    # CTR has no padding: the ciphertext is as long as the text.
    for result, text in zip(sent, TEXTS, strict=True):
        (out,) = result.outgoing
        assert len(strict_base64.decode(out.body["ct"])) == len(text.encode())
    room.leave("carol")
    room.send("bob", "after the leave")
    assert room.texts("alice")[-1] == ("bob", "after the leave")
    keys = [e.key_id for e in room.events("alice") if isinstance(e, KeyReceived)]
    assert keys[-1] == "bob/2"
    assert all(room.rejections(name) == [] for name in room.sessions)


def test_the_new_suite_is_really_3des_in_ctr_mode() -> None:
    room = three("3des-ctr", "rsa")
    chain_key, index = room.sessions["bob"].chain_key("alice/1")  # type: ignore[misc]
    (out,) = room.send("alice", "checked by PyCryptodome").outgoing
    assert out.body["idx"] == str(index)
    cipher_key, _ = message_keys(message_key(chain_key), "3des-ctr", 24)
    iv, ct = strict_base64.decode(out.body["iv"]), strict_base64.decode(out.body["ct"])
    assert (
        DES3.new(cipher_key, DES3.MODE_CTR, nonce=b"", initial_value=iv).decrypt(ct)
        == b"checked by PyCryptodome"
    )


def test_the_new_suite_rejects_replays_tampering_and_shapes_its_mode_cannot_produce() -> None:
    room = three("3des-ctr", "elgamal")
    bob = room.sessions["bob"]
    (out,) = room.sessions["alice"].seal("genuine").outgoing
    assert [type(e) for e in bob.open_message("alice", out.body).events] == [Delivered]
    assert reasons(bob.open_message("alice", out.body)) == [Reason.REPLAY]
    (out,) = room.sessions["alice"].seal("genuine again").outgoing
    for name in ("ct", "iv", "mac"):
        value = bytearray(strict_base64.decode(out.body[name]))
        value[0] ^= 1
        changed = {**out.body, name: strict_base64.encode(bytes(value))}
        assert reasons(bob.open_message("alice", changed)) == [Reason.BAD_MAC]
    short_iv = {**out.body, "iv": strict_base64.encode(bytes(7))}
    assert reasons(bob.open_message("alice", short_iv)) == [Reason.MALFORMED]
    bundle = next(
        d for d in room.log if d.kind == "key_bundle" and d.recipient == "bob" and d.sender == "carol"
    )
    assert bundle.payload is not None and bundle.key_id is not None
    assert reasons(bob.open_bundle("carol", bundle.key_id, bundle.body, bundle.payload)) == [Reason.REPLAY]


def test_the_new_suite_traces_the_rounds_its_mode_runs() -> None:
    """CTR encrypts the counter block (the IV) with the forward cipher, sealing and opening alike."""
    room = three("3des-ctr", "rsa")
    result = room.send("alice", "trace me please")
    (record,) = result.trace
    assert record.first_block == record.fields["iv"]
    traces = room.sessions["alice"].round_trace(record)
    assert traces is not None and len(traces) == 3 and not any(t.decrypt for t in traces[::2])
    keystream = traces[-1].output
    ciphertext = bytes.fromhex(record.fields["ciphertext"])
    assert bytes(k ^ c for k, c in zip(keystream, ciphertext, strict=False)) == b"trace me"
    opened = next(r for r in room.results["bob"] if r.events and isinstance(r.events[0], Delivered))
    back = room.sessions["bob"].round_trace(opened.trace[0])
    assert back is not None and back[-1].output == keystream


def _passes_the_relay(out: Outgoing) -> bool:
    try:
        parse_frame(MessageFrame(out.body, out.payloads).to_dict(), {"message": MessageFrame}, DEFAULT_LIMITS)
    except RemoteProtocolError:
        return False
    return True


@pytest.mark.parametrize(("suite", "kex"), [("3des-ctr", "rsa"), ("3des-ctr", "rsa-v15"), ("rsa-v15", "rsa")])
def test_file_chunks_are_sized_by_the_new_suite_and_kex(suite: str, kex: str) -> None:
    room = three(suite, kex)
    session = room.sessions["alice"]
    size = room_chunk_size(session, DEFAULT_LIMITS)
    if session.suite.hybrid:
        assert size == HYBRID_CHUNK
    else:
        plain, _ = RSA_V15.block_sizes(session.identity.public)
        assert plain == 245 and (size + CHUNK_HEADER) % plain == 0  # whole PKCS#1 v1.5 blocks
    result = session.seal_data(b"\xa5" * (size + CHUNK_HEADER), CHUNK)
    (out,) = result.outgoing
    assert _passes_the_relay(out)
    room.route("alice", result)
    delivered = [e for e in room.events("bob") if isinstance(e, Delivered)]
    assert [len(e.data) for e in delivered] == [size + CHUNK_HEADER]


def test_the_registry_describes_and_lists_what_was_registered() -> None:
    assert THREE_DES_CTR.label == "3DES-CTR + HMAC-SHA256"
    assert THREE_DES_CTR.describe("rsa-v15") == (
        "3DES-CTR + HMAC-SHA256; session keys wrapped with RSAES-PKCS1-v1_5; RSA-PSS signatures"
    )
    pairs = [(s.name, k.name) for s, k in suites.rooms()]
    assert ("3des-ctr", "rsa-v15") in pairs and ("rsa-v15", "rsa-v15") in pairs
    assert ("rsa-v15", "rsa") not in pairs  # the kex does not apply to a direct suite
    session = session_of("alice", "rsa-v15", "elgamal")
    assert session.family is RSA_V15 and session.kex.name == "elgamal"


WEAK_DES = bytes.fromhex("0101010101010101")  # FIPS 74: all 16 subkeys equal
SEMI_WEAK_DES = bytes.fromhex("01fe01fe01fe01fe")
KEYS = [bytes.fromhex(k) for k in ("133457799bbcdff1", "0123456789abcdef", "fedcba9876543210")]


def test_a_suite_calls_keys_weak_by_its_cipher() -> None:
    des, tdes = suites.suite("des"), suites.suite("3des")
    assert isinstance(des, HybridSuite) and isinstance(tdes, HybridSuite)
    assert des.key_is_weak(WEAK_DES) and des.key_is_weak(SEMI_WEAK_DES) and not des.key_is_weak(KEYS[0])
    single = KEYS[0] * 3  # K1 = K2 = K3: single DES
    reducible = KEYS[0] * 2 + KEYS[1]  # K1 = K2: reduces to single DES under K3
    sound = b"".join(KEYS)
    assert tdes.key_is_weak(single) and tdes.key_is_weak(reducible) and not tdes.key_is_weak(sound)
    assert THREE_DES_CTR.key_is_weak(single) and not THREE_DES_CTR.key_is_weak(sound)  # whatever the mode


def test_a_sender_skips_a_message_key_its_cipher_calls_weak(monkeypatch: pytest.MonkeyPatch) -> None:
    """Derived keys are weak with probability 2^-52 (DES); a cipher that calls the first one weak shows
    the sender moves on to the next index, and the receiver follows."""
    calls: list[bytes] = []

    def first_is_weak(key: bytes) -> list[str]:
        calls.append(key)
        return ["weak (for this test)"] if len(calls) == 1 else []

    cipher = dataclasses.replace(suites.DES, key_warnings=first_is_weak)
    picky = HybridSuite("des-picky", cipher, suites.CBC, note="teaching", insecure=True)
    monkeypatch.setitem(suites.SUITES, picky.name, picky)
    room = three("des-picky", "rsa")
    (out,) = room.send("alice", "under the second key").outgoing
    assert out.body["idx"] == "1" and room.texts("bob") == [("alice", "under the second key")]
    assert [e.counter for e in room.events("bob") if isinstance(e, Delivered)] == [1]


def test_unknown_names_are_errors_that_name_the_choices() -> None:
    with pytest.raises(ValueError, match=r"^unknown cipher suite 'aes'; choose from 3des, des, .*3des-ctr"):
        suites.suite("aes")
    with pytest.raises(ValueError, match=r"^unknown key exchange 'dh'; choose from rsa, elgamal, rsa-v15$"):
        suites.kex("dh")
    with pytest.raises(ValueError, match="unknown key exchange"):
        THREE_DES_CTR.describe("dh")


# Comparisons with a wire name outside the protocol (which defines them) and the registry.
NAME_BRANCH = re.compile(
    r"""([=!]=|\bin)\s*\(?\s*["'](3des|des|rsa|elgamal)["']|["'](3des|des|rsa|elgamal)["']\s*(==|!=|if\b)"""
)
NAME_OWNERS = {"chat/protocol/events.py", "chat/e2e/suites.py"}


def test_no_module_branches_on_a_suite_or_kex_name() -> None:
    found = []
    for package in ("chat", "bench"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative in NAME_OWNERS:
                continue
            for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
                if NAME_BRANCH.search(line):
                    found.append(f"{relative}:{number}: {line.strip()}")
    assert found == []

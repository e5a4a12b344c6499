"""ElGamal keys as JSON: round trips for named and custom groups, and one clear FormatError for
every kind of malformed document."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

from ciphers.elgamal import formats
from ciphers.elgamal.core import PrivateKey, PublicKey, generate_private_key
from ciphers.elgamal.groups import generate_group, named_group
from ciphers.errors import FormatError, InsecureWarning
from ciphers.rng import DeterministicRNG

pytestmark = pytest.mark.filterwarnings("ignore:this key's 256-bit group:ciphers.errors.InsecureWarning")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", InsecureWarning)
    CUSTOM = generate_group(256, DeterministicRNG("test_elgamal_formats"))
NAMED = named_group("ffdhe2048")
NAMED_KEY = generate_private_key(NAMED, DeterministicRNG("named"))
CUSTOM_KEY = generate_private_key(CUSTOM, DeterministicRNG("custom"))


@pytest.mark.parametrize("key", [NAMED_KEY, CUSTOM_KEY], ids=["ffdhe2048", "custom-256"])
def test_round_trips(key: PrivateKey) -> None:
    private_text = formats.dump_private_key(key)
    public_text = formats.dump_public_key(key.public_key)
    assert formats.load_private_key(private_text) == key
    assert formats.load_public_key(public_text) == key.public_key
    assert formats.load_public_key(private_text) == key.public_key  # the public half of a private file
    assert formats.load_key(public_text.encode()) == key.public_key
    assert isinstance(formats.load_key(private_text), PrivateKey)


def test_documented_layout() -> None:
    document = json.loads(formats.dump_private_key(NAMED_KEY))
    assert document == {
        "kind": "cipherchat-elgamal-private-key",
        "version": 1,
        "group": "ffdhe2048",
        "y": format(NAMED_KEY.y, "x"),
        "x": format(NAMED_KEY.x, "x"),
    }
    custom = json.loads(formats.dump_public_key(CUSTOM_KEY.public_key))
    assert custom["kind"] == "cipherchat-elgamal-public-key"
    assert "x" not in custom
    assert custom["group"] == {
        "p": format(CUSTOM.p, "x"),
        "q": format(CUSTOM.q, "x"),
        "g": format(CUSTOM.g, "x"),
    }


def test_uppercase_hex_and_unknown_members_are_accepted() -> None:
    document = json.loads(formats.dump_private_key(NAMED_KEY))
    document["x"] = document["x"].upper()
    document["comment"] = "made for a test"
    assert formats.load_private_key(json.dumps(document)) == NAMED_KEY


def test_small_custom_groups_load_with_a_warning() -> None:
    with pytest.warns(InsecureWarning, match="256-bit group is too small"):
        formats.load_public_key(formats.dump_public_key(CUSTOM_KEY.public_key))


def test_public_key_is_not_a_private_key() -> None:
    with pytest.raises(FormatError, match="public key; a private key is needed"):
        formats.load_private_key(formats.dump_public_key(NAMED_KEY.public_key))


def _private_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(formats.dump_private_key(CUSTOM_KEY))
    return document


def _with(**changes: Any) -> str:
    document = _private_document()
    for name, value in changes.items():
        if value is None:
            del document[name]
        else:
            document[name] = value
    return json.dumps(document)


NON_RESIDUE = next(a for a in range(2, 100) if pow(a, CUSTOM.q, CUSTOM.p) == CUSTOM.p - 1)

MALFORMED = [
    ("not JSON", "{kind: elgamal", "not valid JSON"),
    ("not UTF-8", b"\xff\xfe", "not valid JSON"),
    ("a list", "[1, 2]", "JSON object"),
    ("wrong kind", _with(kind="cipherchat-rsa-private-key"), "not an ElGamal key"),
    ("no kind", _with(kind=None), "not an ElGamal key"),
    ("version 2", _with(version=2), "unsupported ElGamal key version 2"),
    ("no version", _with(version=None), "unsupported ElGamal key version"),
    ("no group", _with(group=None), "missing the 'group'"),
    ("unknown group name", _with(group="ffdhe1234"), "unknown ElGamal group 'ffdhe1234'"),
    ("group a number", _with(group=2048), "group name or an object"),
    ("group without g", _with(group={"p": format(CUSTOM.p, "x"), "q": format(CUSTOM.q, "x")}), "'g'"),
    (
        "group p != 2q + 1",
        _with(group={"p": format(CUSTOM.p + 2, "x"), "q": format(CUSTOM.q, "x"), "g": "4"}),
        "invalid ElGamal group: .*p = 2q \\+ 1",
    ),
    (
        "group g of order 2q",
        _with(group={"p": format(CUSTOM.p, "x"), "q": format(CUSTOM.q, "x"), "g": format(NON_RESIDUE, "x")}),
        "invalid ElGamal group: .*order q",
    ),
    ("no y", _with(y=None), "missing the 'y'"),
    ("y not hex", _with(y="0x1234"), "'y' must be a hexadecimal string"),
    ("y a number", _with(y=1234), "'y' must be a hexadecimal string"),
    ("y empty", _with(y=""), "'y' must be a hexadecimal string"),
    ("y not in the subgroup", _with(y=format(NON_RESIDUE, "x")), "invalid ElGamal key: .*subgroup"),
    ("y = 1", _with(y="1"), "invalid ElGamal key: .*subgroup"),
    ("no x", _with(x=None), "missing the 'x'"),
    ("x = 0", _with(x="0"), "invalid ElGamal key: .*\\[1, q - 1\\]"),
    ("x = q", _with(x=format(CUSTOM.q, "x")), "invalid ElGamal key: .*\\[1, q - 1\\]"),
    ("x does not match y", _with(x=format(CUSTOM_KEY.x + 1, "x")), "invalid ElGamal key: .*g\\^x"),
    ("x negative", _with(x="-5"), "'x' must be a hexadecimal string"),
]


@pytest.mark.parametrize(("text", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_documents(text: str | bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message) as caught:
        formats.load_key(text)
    assert "\n" not in str(caught.value)


def test_public_key_loading_checks_y_too() -> None:
    document = json.loads(formats.dump_public_key(CUSTOM_KEY.public_key))
    document["y"] = format(CUSTOM.p - 1, "x")
    with pytest.raises(FormatError, match="subgroup"):
        formats.load_public_key(json.dumps(document))
    assert isinstance(formats.load_public_key(formats.dump_public_key(CUSTOM_KEY.public_key)), PublicKey)

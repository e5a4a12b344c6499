"""ElGamal keys as JSON: a small documented format, checked field by field on loading.

A public key::

    {
      "kind": "cipherchat-elgamal-public-key",
      "version": 1,
      "group": "ffdhe2048",
      "y": "<hex>"
    }

A private key has ``"kind": "cipherchat-elgamal-private-key"`` and one more member, ``"x": "<hex>"``.
``group`` is either the name of a built-in group (:data:`~ciphers.elgamal.groups.GROUP_NAMES`) or an
object ``{"p": "<hex>", "q": "<hex>", "g": "<hex>"}`` for a custom group. Integers are big-endian
hexadecimal strings without a prefix or sign (either case; written in lowercase). Unknown members
are ignored. A group below 2048 bits loads with an :class:`~ciphers.errors.InsecureWarning`.
Loading checks everything: the group (p, q prime, p = 2q + 1, g of order q), y in the
subgroup, x in [1, q - 1] and y = g^x; any failure is one line of :class:`~ciphers.errors.FormatError`.
A custom group above :data:`~ciphers.elgamal.groups.MAX_GROUP_BITS` (8192) bits is refused before
any primality test, so no key file costs more than the check of an 8192-bit group.

A signature (what ``python -m ciphers elgamal sign`` writes) names its scheme, so that a signature
made one way is never checked the other way::

    {"kind": "cipherchat-elgamal-signature", "version": 1, "scheme": "dsa", "r": "<hex>", "s": "<hex>"}

``scheme`` is ``dsa`` (:mod:`ciphers.elgamal.dsa`, the default) or ``textbook``
(:mod:`ciphers.elgamal.signatures`, forgeable).
"""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

from ciphers.elgamal.core import PrivateKey, PublicKey
from ciphers.elgamal.groups import (
    GROUP_NAMES,
    MAX_GROUP_BITS,
    MIN_SECURE_BITS,
    Group,
    find_named,
    named_group,
)
from ciphers.errors import FormatError, InsecureWarning, InvalidKeyError

KIND_PUBLIC = "cipherchat-elgamal-public-key"
KIND_PRIVATE = "cipherchat-elgamal-private-key"
KIND_SIGNATURE = "cipherchat-elgamal-signature"
VERSION = 1
SIGNATURE_SCHEMES = ("dsa", "textbook")

_HEX = re.compile(r"[0-9a-fA-F]+")


def _group_to_json(group: Group) -> str | dict[str, str]:
    name = find_named(group)
    if name is not None:
        return name
    return {"p": f"{group.p:x}", "q": f"{group.q:x}", "g": f"{group.g:x}"}


def dump_public_key(key: PublicKey) -> str:
    """The public key as JSON text (ends with a newline)."""
    document = {
        "kind": KIND_PUBLIC,
        "version": VERSION,
        "group": _group_to_json(key.group),
        "y": f"{key.y:x}",
    }
    return json.dumps(document, indent=2) + "\n"


def dump_private_key(key: PrivateKey) -> str:
    """The private key as JSON text (ends with a newline). Keep it secret: it holds x."""
    document = {
        "kind": KIND_PRIVATE,
        "version": VERSION,
        "group": _group_to_json(key.group),
        "y": f"{key.y:x}",
        "x": f"{key.x:x}",
    }
    return json.dumps(document, indent=2) + "\n"


def _parse_json(text: str | bytes, what: str) -> dict[str, Any]:
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        document = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise FormatError(f"ElGamal {what} is not valid JSON") from None
    if not isinstance(document, dict):
        raise FormatError(f"ElGamal {what} must be a JSON object")
    return document


def _check_version(document: dict[str, Any], what: str) -> None:
    if document.get("version") != VERSION:
        raise FormatError(
            f"unsupported ElGamal {what} version {document.get('version')!r} (expected {VERSION})"
        )


def _parse_document(text: str | bytes) -> dict[str, Any]:
    document = _parse_json(text, "key")
    kind = document.get("kind")
    if kind not in (KIND_PUBLIC, KIND_PRIVATE):
        raise FormatError(f"not an ElGamal key: kind must be {KIND_PUBLIC!r} or {KIND_PRIVATE!r}")
    _check_version(document, "key")
    return document


def _hex_field(document: dict[str, Any], name: str, where: str = "key") -> int:
    if name not in document:
        raise FormatError(f"ElGamal {where} is missing the {name!r} field")
    value = document[name]
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise FormatError(f"ElGamal {where} field {name!r} must be a hexadecimal string")
    return int(value, 16)


def _parse_group(document: dict[str, Any]) -> Group:
    if "group" not in document:
        raise FormatError("ElGamal key is missing the 'group' field")
    spec = document["group"]
    if isinstance(spec, str):
        if spec not in GROUP_NAMES:
            raise FormatError(f"unknown ElGamal group {spec!r}; known: {', '.join(GROUP_NAMES)}")
        return named_group(spec)
    if not isinstance(spec, dict):
        raise FormatError("ElGamal key 'group' must be a group name or an object with p, q and g")
    p, q, g = (_hex_field(spec, name, "group") for name in ("p", "q", "g"))
    try:
        group = Group(p, q, g)
    except InvalidKeyError as exc:
        raise FormatError(f"invalid ElGamal group: {exc}") from None
    if group.bits < MIN_SECURE_BITS:
        warnings.warn(
            f"this key's {group.bits}-bit group is too small to be secure (use at least {MIN_SECURE_BITS})",
            InsecureWarning,
            stacklevel=4,
        )
    return group


def _public_from(document: dict[str, Any]) -> PublicKey:
    group = _parse_group(document)
    try:
        return PublicKey(group, _hex_field(document, "y"))
    except InvalidKeyError as exc:
        raise FormatError(f"invalid ElGamal key: {exc}") from None


def load_key(text: str | bytes) -> PublicKey | PrivateKey:
    """Parse and check a public or private key, whichever the ``kind`` says."""
    document = _parse_document(text)
    public = _public_from(document)
    if document["kind"] == KIND_PUBLIC:
        return public
    try:
        return PrivateKey(public.group, _hex_field(document, "x"), public.y)
    except InvalidKeyError as exc:
        raise FormatError(f"invalid ElGamal key: {exc}") from None


def load_public_key(text: str | bytes) -> PublicKey:
    """A public key; a private key document is accepted too (its public half is returned)."""
    key = load_key(text)
    return key.public_key if isinstance(key, PrivateKey) else key


def load_private_key(text: str | bytes) -> PrivateKey:
    """A private key; ``FormatError`` if the document holds a public key only."""
    key = load_key(text)
    if not isinstance(key, PrivateKey):
        raise FormatError("this is an ElGamal public key; a private key is needed")
    return key


def dump_signature(scheme: str, r: int, s: int) -> str:
    """A signature document (ends with a newline) labelled with its scheme, ``dsa`` or ``textbook``."""
    if scheme not in SIGNATURE_SCHEMES:
        raise ValueError(f"unknown signature scheme {scheme!r}")
    document = {"kind": KIND_SIGNATURE, "version": VERSION, "scheme": scheme, "r": f"{r:x}", "s": f"{s:x}"}
    return json.dumps(document, indent=2) + "\n"


def load_signature(text: str | bytes) -> tuple[str, int, int]:
    """(scheme, r, s) from a signature document; ``FormatError`` if it is malformed.

    r and s longer than :data:`~ciphers.elgamal.groups.MAX_GROUP_BITS` are refused: no valid
    signature in any group has them.
    """
    document = _parse_json(text, "signature")
    if document.get("kind") != KIND_SIGNATURE:
        raise FormatError(f"not an ElGamal signature: kind must be {KIND_SIGNATURE!r}")
    _check_version(document, "signature")
    scheme = document.get("scheme")
    if scheme not in SIGNATURE_SCHEMES:
        raise FormatError(
            f"unknown ElGamal signature scheme {scheme!r}; known: {', '.join(SIGNATURE_SCHEMES)}"
        )
    r, s = (_hex_field(document, name, "signature") for name in ("r", "s"))
    if max(r, s).bit_length() > MAX_GROUP_BITS:
        raise FormatError(f"ElGamal signature values above {MAX_GROUP_BITS} bits cannot be valid")
    return scheme, r, s

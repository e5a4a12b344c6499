"""PEM armour (RFC 7468): DER in base64 between ``-----BEGIN label-----`` and ``-----END label-----``.

Writing follows RFC 7468's strict form (64-character lines, LF line ends, a final newline).
Reading is the RFC's lax form (§3): text before the first BEGIN line and whitespace (the line
breaks too) are ignored, but the labels must match, the body must be canonical base64
(:mod:`ciphers.strict_base64`: ``QUJD=``, ``QUJD====`` or non-zero unused bits are refused, so one
key has one PEM text), and RFC 1421 headers (which mark encrypted legacy keys) are refused. Every
problem raises :class:`~ciphers.errors.FormatError`.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from ciphers import strict_base64
from ciphers.errors import FormatError

LINE_LENGTH = 64
"""Base64 characters per line (RFC 7468 §2)."""

_LABEL = r"[\x21-\x2c\x2e-\x7e](?:[- ]?[\x21-\x2c\x2e-\x7e])*"
_LABEL_RE = re.compile(rf"^{_LABEL}$")
_BEGIN_RE = re.compile(rf"^-----BEGIN ({_LABEL})?-----$")
_END_RE = re.compile(rf"^-----END ({_LABEL})?-----$")


def encode(der: bytes, label: str) -> str:
    """``der`` armoured under ``label`` (RFC 7468 §2, strict form)."""
    if not _LABEL_RE.match(label):
        raise ValueError(f"invalid PEM label {label!r}")
    body = strict_base64.encode(der)
    lines = [body[i : i + LINE_LENGTH] for i in range(0, len(body), LINE_LENGTH)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n"


def looks_like_pem(data: bytes | str) -> bool:
    """True if ``data`` contains a PEM BEGIN line (a cheap test to choose between PEM and DER)."""
    if isinstance(data, str):
        return "-----BEGIN " in data
    return b"-----BEGIN " in bytes(data)


def decode_all(data: bytes | str) -> list[tuple[str, bytes]]:
    """Every PEM block in ``data`` as ``(label, der)``, in order; at least one is required."""
    text = _as_text(data)
    blocks: list[tuple[str, bytes]] = []
    label: str | None = None
    body: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if label is None:
            begin = _BEGIN_RE.match(line)
            if begin:
                label, body = begin.group(1) or "", []
            elif line.startswith("-----END"):
                raise FormatError(f"PEM: END line without a BEGIN line (line {number})")
            continue
        end = _END_RE.match(line)
        if end:
            if (end.group(1) or "") != label:
                raise FormatError(f"PEM: END label {end.group(1)!r} does not match BEGIN label {label!r}")
            blocks.append((label, _decode_body(label, body)))
            label = None
        elif line.startswith("-----"):
            raise FormatError(f"PEM: unexpected boundary line inside the {label!r} block (line {number})")
        elif ":" in line:
            raise FormatError(
                f"PEM: headers such as {line.split(':')[0]!r} (an encrypted key?) are not supported"
            )
        else:
            body.append(line)
    if label is not None:
        raise FormatError(f"PEM: the {label!r} block has no END line (truncated?)")
    if not blocks:
        raise FormatError("PEM: no -----BEGIN ...----- line found")
    return blocks


def decode(data: bytes | str, labels: str | Collection[str] | None = None) -> tuple[str, bytes]:
    """The first PEM block in ``data`` as ``(label, der)``; with ``labels``, the first with such a label."""
    blocks = decode_all(data)
    if labels is None:
        return blocks[0]
    wanted = {labels} if isinstance(labels, str) else set(labels)
    for label, der in blocks:
        if label in wanted:
            return label, der
    expected = " or ".join(repr(w) for w in sorted(wanted))
    found = ", ".join(repr(label) for label, _ in blocks)
    raise FormatError(f"PEM: expected a block labelled {expected}, found {found}")


def _as_text(data: bytes | str) -> str:
    if isinstance(data, str):
        text = data
    elif isinstance(data, bytes | bytearray | memoryview):
        try:
            text = bytes(data).decode("ascii")
        except UnicodeDecodeError:
            raise FormatError("PEM: input is not ASCII text") from None
    else:
        raise FormatError("PEM: expected text or bytes")
    if not text.isascii():
        raise FormatError("PEM: input is not ASCII text")
    return text


def _decode_body(label: str, lines: list[str]) -> bytes:
    body = "".join("".join(lines).split())
    if not body:
        raise FormatError(f"PEM: the {label!r} block is empty")
    try:
        return strict_base64.decode(body)
    except FormatError as exc:
        raise FormatError(f"PEM: the {label!r} block is {exc}") from None

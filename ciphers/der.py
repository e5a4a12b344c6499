"""A small DER encoder and strict decoder (ITU-T X.690 §8 basic and §10 distinguished rules).

Enough ASN.1 for RSA keys (PKCS#1, SubjectPublicKeyInfo, PKCS#8) and simple certificates:
BOOLEAN, INTEGER, BIT STRING, OCTET STRING, NULL, OBJECT IDENTIFIER, UTF8String, SEQUENCE,
SET and context-specific tags. Every element is a TLV: a one-byte tag, a length, the content.

The decoder accepts DER only, the one encoding of each value: a length in the fewest octets,
no indefinite lengths, minimal INTEGERs, and nothing after the last element. Anything else
raises :class:`~ciphers.errors.FormatError` with the offset where it went wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from ciphers.errors import FormatError

# Universal tags (X.680 §8.4) as they appear on the wire: SEQUENCE and SET have the constructed bit.
BOOLEAN = 0x01
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
UTF8_STRING = 0x0C
PRINTABLE_STRING = 0x13
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18
SEQUENCE = 0x30
SET = 0x31

TAG_NAMES = {
    BOOLEAN: "BOOLEAN",
    INTEGER: "INTEGER",
    BIT_STRING: "BIT STRING",
    OCTET_STRING: "OCTET STRING",
    NULL: "NULL",
    OBJECT_IDENTIFIER: "OBJECT IDENTIFIER",
    UTF8_STRING: "UTF8String",
    PRINTABLE_STRING: "PrintableString",
    UTC_TIME: "UTCTime",
    GENERALIZED_TIME: "GeneralizedTime",
    SEQUENCE: "SEQUENCE",
    SET: "SET",
}

_CONSTRUCTED = 0x20
_CONTEXT = 0x80
_MAX_LENGTH_OCTETS = 4
"""Longest length field accepted (lengths below 4 GiB; a key is a few KiB)."""


def context_tag(number: int, constructed: bool = True) -> int:
    """The tag byte of ``[number]`` in the context-specific class (EXPLICIT tags are constructed)."""
    if not 0 <= number < 31:
        raise ValueError("context tag numbers 0..30 only")
    return _CONTEXT | (_CONSTRUCTED if constructed else 0) | number


def tag_name(tag: int) -> str:
    """A readable name for a tag byte, e.g. ``INTEGER`` or ``[0]``."""
    if tag in TAG_NAMES:
        return TAG_NAMES[tag]
    if tag & 0xC0 == _CONTEXT:
        return f"[{tag & 0x1F}]"
    return f"tag 0x{tag:02x}"


# --- encoding -------------------------------------------------------------------------------


def encode_length(length: int) -> bytes:
    """X.690 §8.1.3 / §10.1: short form below 128, else 0x80 | count followed by the minimal octets."""
    if length < 0:
        raise ValueError("length must be non-negative")
    if length < 0x80:
        return bytes([length])
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def encode_tlv(tag: int, content: bytes) -> bytes:
    """One element: tag, length, content."""
    return bytes([tag]) + encode_length(len(content)) + content


def encode_integer(value: int) -> bytes:
    """INTEGER (X.690 §8.3): two's complement in the fewest octets (00 first if a positive top bit is set)."""
    size = (value + (value < 0)).bit_length() // 8 + 1
    return encode_tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def encode_boolean(value: bool) -> bytes:
    """BOOLEAN; DER writes TRUE as FF (X.690 §11.1)."""
    return encode_tlv(BOOLEAN, b"\xff" if value else b"\x00")


def encode_null() -> bytes:
    """NULL: no content (X.690 §8.8)."""
    return encode_tlv(NULL, b"")


def encode_oid(dotted: str) -> bytes:
    """OBJECT IDENTIFIER (X.690 §8.19) from dotted form: the first two arcs share one subidentifier."""
    try:
        arcs = [int(part) for part in dotted.split(".")]
    except ValueError:
        raise ValueError(f"not a dotted object identifier: {dotted!r}") from None
    if len(arcs) < 2 or not 0 <= arcs[0] <= 2 or (arcs[0] < 2 and not 0 <= arcs[1] < 40):
        raise ValueError(f"not a valid object identifier: {dotted!r}")
    if any(arc < 0 for arc in arcs):
        raise ValueError(f"object identifier arcs must be non-negative: {dotted!r}")
    content = bytearray()
    for sub in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [sub & 0x7F]
        sub >>= 7
        while sub:
            chunk.append(0x80 | (sub & 0x7F))
            sub >>= 7
        content.extend(reversed(chunk))
    return encode_tlv(OBJECT_IDENTIFIER, bytes(content))


def encode_bit_string(data: bytes, unused_bits: int = 0) -> bytes:
    """BIT STRING (X.690 §8.6): an octet counting the unused low bits of the last octet, then the bits."""
    if not 0 <= unused_bits <= 7 or (unused_bits and not data):
        raise ValueError("unused bits must be 0..7, and 0 for an empty BIT STRING")
    if unused_bits and data[-1] & ((1 << unused_bits) - 1):
        raise ValueError("DER requires the unused bits to be zero")
    return encode_tlv(BIT_STRING, bytes([unused_bits]) + data)


def encode_octet_string(data: bytes) -> bytes:
    """OCTET STRING."""
    return encode_tlv(OCTET_STRING, data)


def encode_utf8_string(text: str) -> bytes:
    """UTF8String."""
    return encode_tlv(UTF8_STRING, text.encode("utf-8"))


def encode_sequence(*elements: bytes) -> bytes:
    """SEQUENCE of already encoded elements, in order."""
    return encode_tlv(SEQUENCE, b"".join(elements))


def encode_set(*elements: bytes) -> bytes:
    """SET OF already encoded elements; DER sorts them by their encodings (X.690 §11.6)."""
    return encode_tlv(SET, b"".join(sorted(elements)))


def encode_explicit(number: int, inner: bytes) -> bytes:
    """``[number] EXPLICIT``: the encoded inner element wrapped in a constructed context tag."""
    return encode_tlv(context_tag(number), inner)


# --- decoding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Element:
    """One decoded TLV: its tag byte, its content octets, and where it starts in the input."""

    tag: int
    content: bytes
    offset: int

    @property
    def constructed(self) -> bool:
        """True when the content is itself a series of elements."""
        return bool(self.tag & _CONSTRUCTED)


class Reader:
    """Reads the elements of a DER string (or of a constructed element's content) one by one."""

    def __init__(self, data: bytes, what: str = "DER", base: int = 0) -> None:
        self._data = bytes(data)
        self._pos = 0
        self._what = what
        self._base = base

    def error(self, message: str, offset: int | None = None) -> FormatError:
        """A :class:`FormatError` naming what is being read and the offset in the outermost input."""
        where = self._base + (self._pos if offset is None else offset)
        return FormatError(f"{self._what}: {message} (at offset {where})")

    def at_end(self) -> bool:
        """True when every element has been read."""
        return self._pos >= len(self._data)

    def peek_tag(self) -> int | None:
        """The tag of the next element, or None at the end."""
        return None if self.at_end() else self._data[self._pos]

    def finish(self) -> None:
        """Raise unless everything has been read (DER allows nothing after the last element)."""
        if not self.at_end():
            raise self.error(f"{len(self._data) - self._pos} unexpected trailing byte(s)")

    def read(self, tag: int | None = None) -> Element:
        """The next element, checking its tag if one is expected."""
        data, start = self._data, self._pos
        if start >= len(data):
            raise self.error("unexpected end of data" + (f", expected {tag_name(tag)}" if tag else ""))
        found = data[start]
        if found & 0x1F == 0x1F:
            raise self.error("high tag numbers are not supported", start)
        if tag is not None and found != tag:
            raise self.error(f"expected {tag_name(tag)}, found {tag_name(found)}", start)
        length, header = self._read_length(start + 1)
        end = start + 1 + header + length
        if end > len(data):
            raise self.error(
                f"{tag_name(found)} length {length} runs past the end of the data (truncated)", start
            )
        self._pos = end
        return Element(found, data[start + 1 + header : end], self._base + start)

    def _read_length(self, pos: int) -> tuple[int, int]:
        """(length, octets used) of the length field at ``pos``, DER rules enforced (X.690 §10.1)."""
        data = self._data
        if pos >= len(data):
            raise self.error("missing length (truncated)", pos)
        first = data[pos]
        if first < 0x80:
            return first, 1
        if first == 0x80:
            raise self.error("indefinite length is not allowed in DER", pos)
        count = first & 0x7F
        if count > _MAX_LENGTH_OCTETS:
            raise self.error(f"length field of {count} octets is too long", pos)
        if pos + 1 + count > len(data):
            raise self.error("length field runs past the end of the data (truncated)", pos)
        octets = data[pos + 1 : pos + 1 + count]
        length = int.from_bytes(octets, "big")
        if octets[0] == 0 or length < 0x80:
            raise self.error("length is not in its minimal form (not DER)", pos)
        return length, 1 + count

    def _sub(self, element: Element, what: str | None = None) -> Reader:
        header = len(encode_length(len(element.content))) + 1
        return Reader(element.content, what or self._what, element.offset + header)

    def read_sequence(self) -> Reader:
        """A reader over the content of the next SEQUENCE."""
        return self._sub(self.read(SEQUENCE))

    def read_set(self) -> Reader:
        """A reader over the content of the next SET."""
        return self._sub(self.read(SET))

    def read_explicit(self, number: int) -> Reader:
        """A reader over the content of the next ``[number] EXPLICIT`` element."""
        return self._sub(self.read(context_tag(number)))

    def read_integer(self) -> int:
        """INTEGER, signed, minimal encoding required (X.690 §8.3.2)."""
        element = self.read(INTEGER)
        content = element.content
        if not content:
            raise self.error("empty INTEGER", element.offset - self._base)
        if len(content) > 1 and (
            (content[0] == 0x00 and content[1] < 0x80) or (content[0] == 0xFF and content[1] >= 0x80)
        ):
            raise self.error("INTEGER is not minimally encoded (not DER)", element.offset - self._base)
        return int.from_bytes(content, "big", signed=True)

    def read_unsigned(self, name: str = "INTEGER") -> int:
        """An INTEGER that must not be negative (moduli, exponents, versions)."""
        offset = self._pos
        value = self.read_integer()
        if value < 0:
            raise self.error(f"{name} must not be negative", offset)
        return value

    def read_boolean(self) -> bool:
        """BOOLEAN: exactly 00 or FF in DER."""
        element = self.read(BOOLEAN)
        if element.content not in (b"\x00", b"\xff"):
            raise self.error("BOOLEAN must be 00 or FF in DER", element.offset - self._base)
        return element.content == b"\xff"

    def read_null(self) -> None:
        """NULL, which must be empty."""
        element = self.read(NULL)
        if element.content:
            raise self.error("NULL must have no content", element.offset - self._base)

    def read_oid(self) -> str:
        """OBJECT IDENTIFIER in dotted form; subidentifiers must be minimal (no leading 0x80)."""
        element = self.read(OBJECT_IDENTIFIER)
        content, offset = element.content, element.offset - self._base
        if not content or content[-1] & 0x80:
            raise self.error("OBJECT IDENTIFIER is empty or truncated", offset)
        subs: list[int] = []
        value, fresh = 0, True
        for octet in content:
            if fresh and octet == 0x80:
                raise self.error("OBJECT IDENTIFIER subidentifier is not minimal", offset)
            value = (value << 7) | (octet & 0x7F)
            fresh = not octet & 0x80
            if fresh:
                subs.append(value)
                value = 0
        first = min(subs[0] // 40, 2)
        arcs = [first, subs[0] - 40 * first, *subs[1:]]
        return ".".join(str(arc) for arc in arcs)

    def read_bit_string(self) -> bytes:
        """BIT STRING holding whole octets (keys and signatures); unused bits are refused."""
        element = self.read(BIT_STRING)
        content, offset = element.content, element.offset - self._base
        if not content:
            raise self.error("BIT STRING has no unused-bits octet", offset)
        if content[0] != 0:
            raise self.error(
                f"BIT STRING with {content[0]} unused bits where whole octets are expected", offset
            )
        return content[1:]

    def read_octet_string(self) -> bytes:
        """OCTET STRING."""
        return self.read(OCTET_STRING).content

    def read_utf8_string(self) -> str:
        """UTF8String, which must be valid UTF-8."""
        element = self.read(UTF8_STRING)
        try:
            return element.content.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("UTF8String is not valid UTF-8", element.offset - self._base) from None


def read_single(data: bytes, what: str = "DER") -> Reader:
    """A reader over ``data`` that must hold exactly one element, positioned before it.

    Trailing bytes after that element are refused at once.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise FormatError(f"{what}: expected bytes")
    outer = Reader(bytes(data), what)
    outer.read()
    outer.finish()
    return Reader(bytes(data), what)


def pretty(data: bytes, indent: str = "  ") -> str:
    """An ``openssl asn1parse``-style outline of a DER string, one element per line (for teaching)."""
    lines: list[str] = []

    def walk(reader: Reader, depth: int) -> None:
        while not reader.at_end():
            element = reader.read()
            name = tag_name(element.tag)
            prefix = f"{element.offset:5d}: {indent * depth}{name}"
            if element.constructed:
                lines.append(f"{prefix} ({len(element.content)} bytes)")
                walk(reader._sub(element), depth + 1)
                continue
            value = _describe(element)
            lines.append(f"{prefix} {value}" if value else prefix)

    walk(read_single(data), 0)
    return "\n".join(lines)


def _describe(element: Element) -> str:
    """A short rendering of a primitive element's value."""
    single = Reader(encode_tlv(element.tag, element.content))
    if element.tag == INTEGER:
        value = single.read_integer()
        return str(value) if value.bit_length() <= 64 else f"0x{value:x} ({value.bit_length()} bits)"
    if element.tag == OBJECT_IDENTIFIER:
        return single.read_oid()
    if element.tag in (UTF8_STRING, PRINTABLE_STRING, UTC_TIME, GENERALIZED_TIME):
        return repr(element.content.decode("utf-8", "replace"))
    if element.tag == NULL:
        return ""
    more = "..." if len(element.content) > 16 else ""
    return f"{len(element.content)} bytes: {element.content[:16].hex()}{more}"

"""The hash functions the RSA paddings use, with their DER DigestInfo prefixes (RFC 8017 §9.2 note 1).

EMSA-PKCS1-v1_5 signs ``prefix || H(M)``, the DER encoding of ``DigestInfo{algorithm, digest}``;
OAEP, PSS and MGF1 only need the hash and its output length hLen. SHA-1 is here for the RSA
Laboratories vectors and legacy interoperability; it is no longer collision resistant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from ciphers.errors import InvalidKeyError

DEFAULT_HASH = "sha256"


@dataclass(frozen=True)
class HashAlgorithm:
    """A hash function by name, with hLen and the DigestInfo prefix EMSA-PKCS1-v1_5 puts before H(M)."""

    name: str
    new: Callable[[], hashlib._Hash]
    digest_size: int
    digest_info_prefix: bytes

    def digest(self, data: bytes) -> bytes:
        """H(data)."""
        h = self.new()
        h.update(data)
        return h.digest()


# RFC 8017 §9.2 note 1, the DER encodings of DigestInfo up to (not including) the hash value.
HASHES: dict[str, HashAlgorithm] = {
    algorithm.name: algorithm
    for algorithm in (
        HashAlgorithm("sha1", hashlib.sha1, 20, bytes.fromhex("3021300906052b0e03021a05000414")),
        HashAlgorithm("sha224", hashlib.sha224, 28, bytes.fromhex("302d300d06096086480165030402040500041c")),
        HashAlgorithm("sha256", hashlib.sha256, 32, bytes.fromhex("3031300d060960864801650304020105000420")),
        HashAlgorithm("sha384", hashlib.sha384, 48, bytes.fromhex("3041300d060960864801650304020205000430")),
        HashAlgorithm("sha512", hashlib.sha512, 64, bytes.fromhex("3051300d060960864801650304020305000440")),
    )
}


def hash_algorithm(name: str) -> HashAlgorithm:
    """The hash called ``name``; spellings such as ``SHA-256``, ``SHA256`` and ``sha256`` all work."""
    key = name.lower().replace("-", "").replace("_", "")
    try:
        return HASHES[key]
    except KeyError:
        choices = ", ".join(HASHES)
        raise InvalidKeyError(f"unknown hash {name!r}; choose one of {choices}") from None

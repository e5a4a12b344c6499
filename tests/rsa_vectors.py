"""RSA keys as the vector files give them: RSA Laboratories' with every CRT value, NIST's as (n, e, d)."""

from __future__ import annotations

import functools

from ciphers.rsa.keys import RSAPrivateKey
from ciphers.vectors.loader import LabsKey, Record


def labs_key(key: LabsKey) -> RSAPrivateKey:
    """The vector file's own key, CRT parameters included (nothing recomputed)."""
    f = key.fields
    return RSAPrivateKey(f["n"], f["e"], f["d"], f["p"], f["q"], f["dP"], f["dQ"], f["qInv"])


@functools.cache
def _from_components(n: int, e: int, d: int) -> RSAPrivateKey:
    return RSAPrivateKey.from_components(n, e, d)


def nist_key(record: Record) -> RSAPrivateKey:
    """The record's (n, e, d), factored once per modulus."""
    return _from_components(int(record["n"], 16), int(record["e"], 16), int(record["d"], 16))

"""ElGamal in the prime-order subgroup of a safe-prime group, one module per idea.

* :mod:`~ciphers.elgamal.groups` — the RFC 2409/3526/7919 groups by name, custom safe-prime groups,
  and the group check (p, q prime, p = 2q + 1, g of order q).
* :mod:`~ciphers.elgamal.encoding` — bytes <-> subgroup elements.
* :mod:`~ciphers.elgamal.core` — keys and textbook encryption (**malleable, insecure**).
* :mod:`~ciphers.elgamal.kem` and :mod:`~ciphers.elgamal.hybrid` — the KEM and KEM + encrypt-then-MAC:
  what to use for real data.
* :mod:`~ciphers.elgamal.dsa` and :mod:`~ciphers.elgamal.rfc6979` — DSA-form signatures in the
  prime-order subgroup with deterministic nonces: the default.
* :mod:`~ciphers.elgamal.signatures` — classic ElGamal signatures, hashed or on a bare integer:
  **forgeable** (Bleichenbacher 1996), kept as textbook.
* :mod:`~ciphers.elgamal.formats` — keys and labelled signatures as JSON.
"""

from ciphers.elgamal.core import PrivateKey, PublicKey, generate_private_key
from ciphers.elgamal.groups import DEFAULT_GROUP, GROUP_NAMES, Group, generate_group, named_group

__all__ = [
    "DEFAULT_GROUP",
    "GROUP_NAMES",
    "Group",
    "PrivateKey",
    "PublicKey",
    "generate_group",
    "generate_private_key",
    "named_group",
]

"""ElGamal in the prime-order subgroup of a safe-prime group, one module per idea.

* :mod:`~ciphers.elgamal.groups` — the RFC 2409/3526/7919 groups by name, custom safe-prime groups,
  and the group check (p, q prime, p = 2q + 1, g of order q).
* :mod:`~ciphers.elgamal.encoding` — bytes <-> subgroup elements.
* :mod:`~ciphers.elgamal.core` — keys and textbook encryption (**malleable, insecure**).
* :mod:`~ciphers.elgamal.kem` and :mod:`~ciphers.elgamal.hybrid` — the KEM and KEM + encrypt-then-MAC:
  what to use for real data.
* :mod:`~ciphers.elgamal.signatures` — hashed signatures, and the **forgeable** textbook variant.
* :mod:`~ciphers.elgamal.formats` — keys as JSON.
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

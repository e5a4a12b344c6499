"""ElGamal in the prime-order subgroup of a safe-prime group, one module per idea.

* :mod:`~ciphers.elgamal.groups` — the RFC 2409/3526/7919 groups by name, custom safe-prime groups,
  and the group check (p, q prime, p = 2q + 1, g of order q).
* :mod:`~ciphers.elgamal.encoding` — bytes <-> subgroup elements.
"""

from ciphers.elgamal.groups import DEFAULT_GROUP, GROUP_NAMES, Group, generate_group, named_group

__all__ = ["DEFAULT_GROUP", "GROUP_NAMES", "Group", "generate_group", "named_group"]

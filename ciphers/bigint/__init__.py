"""The big-integer backend: gmpy2 where it is installed, Python's own ``int`` otherwise.

The toolkit's heavy modular arithmetic (RSA, prime generation, :mod:`ciphers.numtheory`) goes
through these names, so the same code runs at GMP's speed wherever gmpy2 installs and on plain
integers where it cannot (Pyodide in the browser). Both backends return equal values and raise
the same exception types (``tests/test_bigint.py`` checks one against the other); under gmpy2
the values are ``mpz``, which mix freely with ``int``.

``CIPHERCHAT_BIGINT=int`` forces the int backend (for tests and measurements), ``=gmpy2``
refuses to run without gmpy2, unset chooses; :data:`BACKEND` names the one in use. This package
is the one place the toolkit imports gmpy2. It is not itself named ``gmpy2``: sympy and mpmath
import a module of that name to speed themselves up and would break on a stand-in.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final, Literal

Backend = Literal["gmpy2", "int"]

ENVIRONMENT_VARIABLE: Final = "CIPHERCHAT_BIGINT"


def _chosen_backend() -> Backend:
    """gmpy2 when importable, else int; the environment variable forces either."""
    wanted = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    if wanted == "int":
        return "int"
    if wanted not in ("", "gmpy2"):
        raise ImportError(f"{ENVIRONMENT_VARIABLE} must be 'gmpy2' or 'int', not {wanted!r}")
    try:
        import gmpy2  # noqa: F401
    except ImportError:
        if wanted == "gmpy2":
            raise ImportError(f"{ENVIRONMENT_VARIABLE}=gmpy2 but gmpy2 is not installed") from None
        return "int"
    return "gmpy2"


BACKEND: Final[Backend] = _chosen_backend()

# mypy reads the int backend's signatures: they are the contract gmpy2's functions also meet.
if BACKEND == "gmpy2" and not TYPE_CHECKING:
    from gmpy2 import bit_scan1, gcd, invert, iroot, isqrt, lcm, legendre, mpz, powmod
else:
    from ciphers.bigint.python_int import bit_scan1, gcd, invert, iroot, isqrt, lcm, legendre, mpz, powmod

__all__ = [
    "BACKEND",
    "ENVIRONMENT_VARIABLE",
    "Backend",
    "bit_scan1",
    "gcd",
    "invert",
    "iroot",
    "isqrt",
    "lcm",
    "legendre",
    "mpz",
    "powmod",
]

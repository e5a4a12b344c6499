"""The big-integer backend: the int backend agrees with gmpy2 (values and exception types) on random
and edge-case inputs, the backend is chosen as documented, and a subset of the crypto suite passes
with the whole toolkit on Python ints (what runs in the browser, where gmpy2 does not exist).

gmpy2 is imported here directly, as the independent implementation the int backend is checked
against (as ``tests/test_primes.py`` uses it).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import gmpy2
from hypothesis import given, settings
from hypothesis import strategies as st

from ciphers import bigint
from ciphers.bigint import python_int

ROOT = Path(__file__).resolve().parent.parent

EDGES = st.sampled_from([0, 1, -1, 2, -2, 3, 4, 2**64 - 1, 2**64, -(2**64), 2**127 - 1, 2**521 - 1])
"""Values where arithmetic code goes wrong: zero, units, powers of two, word boundaries, Mersenne primes."""
INTEGERS = st.one_of(EDGES, st.integers(), st.integers(min_value=-(2**4096), max_value=2**4096))
"""Signed integers up to 4096 bits (RSA-4096 identity keys), edge cases drawn often."""
NATURALS = INTEGERS.map(abs)
MODULI = st.one_of(EDGES, st.integers(min_value=-(2**2048), max_value=2**2048))
"""Moduli up to RSA-2048's size, zero and negative included (both backends refuse or reduce alike)."""
EXPONENTS = st.one_of(EDGES, st.integers(min_value=-(2**64), max_value=2**1024))
"""Up to a 1024-bit exponent (an RSA-2048 CRT half), negative ones asking for an inverse."""
CHEAP = settings(max_examples=300)


def outcome(fn: Callable[..., object], *args: int) -> object:
    """What ``fn(*args)`` gives, comparable across backends: the value as ints, or the exception type."""
    try:
        result = fn(*args)
    except (ArithmeticError, ValueError) as exc:
        return type(exc)
    if isinstance(result, tuple):
        return tuple(int(x) for x in result)
    return result if result is None else int(result)


def assert_same(name: str, *args: int) -> None:
    """The int backend's ``name`` gives what gmpy2's does; its values are ``int``, never ``mpz``."""
    ours = getattr(python_int, name)
    theirs = getattr(gmpy2, name)
    assert outcome(ours, *args) == outcome(theirs, *args), (name, args)
    try:
        result = ours(*args)
    except (ArithmeticError, ValueError):
        return
    for value in result if isinstance(result, tuple) else (result,):
        assert value is None or type(value) in (int, bool), (name, args, type(value))


@given(INTEGERS, EXPONENTS, MODULI)
def test_powmod_agrees(base: int, exponent: int, modulus: int) -> None:
    assert_same("powmod", base, exponent, modulus)


@given(st.integers(min_value=-(2**64), max_value=-1), MODULI)
def test_powmod_with_a_negative_exponent_agrees(exponent: int, modulus: int) -> None:
    """An inverse is needed: base 2 has one modulo any odd modulus, none modulo an even one."""
    assert_same("powmod", 2, exponent, modulus)


@CHEAP
@given(INTEGERS, MODULI)
def test_invert_agrees(a: int, m: int) -> None:
    assert_same("invert", a, m)


def test_invert_raises_what_the_callers_catch() -> None:
    """ciphers.rsa catches ZeroDivisionError for "no inverse": both backends raise it, modulus 0 too."""
    for backend in (python_int, gmpy2):
        for a, m in ((2, 4), (0, 7), (3, 0), (6, -9)):
            try:
                backend.invert(a, m)
            except ZeroDivisionError:
                continue
            raise AssertionError(f"{backend.__name__}.invert({a}, {m}) did not raise ZeroDivisionError")


@CHEAP
@given(st.lists(INTEGERS, max_size=4))
def test_gcd_and_lcm_agree(values: list[int]) -> None:
    assert_same("gcd", *values)
    assert_same("lcm", *values)


@CHEAP
@given(INTEGERS)
def test_isqrt_agrees(n: int) -> None:
    assert_same("isqrt", n)


@CHEAP
@given(INTEGERS, st.one_of(st.integers(min_value=-2, max_value=5), st.integers(min_value=6, max_value=5000)))
def test_iroot_agrees(x: int, n: int) -> None:
    assert_same("iroot", x, n)


@CHEAP
@given(NATURALS, st.integers(min_value=1, max_value=40), st.integers(min_value=-1, max_value=1))
def test_iroot_agrees_at_and_beside_exact_powers(base: int, n: int, offset: int) -> None:
    """b**n and its neighbours: the roots where ``exact`` flips and Newton's iteration must stop right."""
    assert_same("iroot", (base % 2**512) ** n + offset, n)


@CHEAP
@given(INTEGERS, INTEGERS)
def test_legendre_agrees(a: int, p: int) -> None:
    """Any p: odd positive ones give the Jacobi symbol on both backends, the others ValueError."""
    assert_same("legendre", a, p)


@CHEAP
@given(INTEGERS, st.sampled_from([3, 5, 7, 2**127 - 1, 2**521 - 1, 2**607 - 1]))
def test_legendre_agrees_modulo_primes(a: int, p: int) -> None:
    assert_same("legendre", a, p)
    assert python_int.legendre(a, p) == (0 if a % p == 0 else 1 if pow(a, (p - 1) // 2, p) == 1 else -1)


@CHEAP
@given(INTEGERS)
def test_bit_scan1_agrees(x: int) -> None:
    assert_same("bit_scan1", x)


def test_mpz_is_int_on_the_int_backend() -> None:
    assert python_int.mpz is int


def test_backend_follows_the_environment() -> None:
    """Also run in the int-backend subset below: there it must find Python ints, everywhere else gmpy2
    (installed with the project's dependencies)."""
    expected = os.environ.get(bigint.ENVIRONMENT_VARIABLE) or "gmpy2"
    assert bigint.BACKEND == expected
    assert (bigint.mpz is int) is (expected == "int")
    assert (bigint.powmod is gmpy2.powmod) is (expected == "gmpy2")


def run_python(code: str, backend: str | None) -> subprocess.CompletedProcess[str]:
    """``python -c code`` in a fresh interpreter (the backend is chosen at import) with ``backend`` set."""
    env = {k: v for k, v in os.environ.items() if k != bigint.ENVIRONMENT_VARIABLE}
    if backend is not None:
        env[bigint.ENVIRONMENT_VARIABLE] = backend
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


WITHOUT_GMPY2 = "import sys; sys.modules['gmpy2'] = None\n"
"""Makes ``import gmpy2`` fail, as it does under Pyodide."""
PRINT_BACKEND = "import ciphers.bigint as b; print(b.BACKEND)"


def test_gmpy2_is_chosen_when_installed_and_int_otherwise() -> None:
    assert run_python(PRINT_BACKEND, None).stdout.strip() == "gmpy2"
    assert run_python(PRINT_BACKEND, "gmpy2").stdout.strip() == "gmpy2"
    assert run_python(WITHOUT_GMPY2 + PRINT_BACKEND, None).stdout.strip() == "int"


def test_the_int_backend_never_imports_gmpy2() -> None:
    """With CIPHERCHAT_BIGINT=int the whole toolkit and the chat's end-to-end layer load without gmpy2."""
    code = (
        "import sys\n"
        "import ciphers.rsa.core, ciphers.rsa.keys, ciphers.primes, ciphers.numtheory\n"
        "import ciphers.elgamal.dsa, ciphers.attacks.rsa, chat.e2e.session, chat.client\n"
        "import ciphers.bigint as b\n"
        "print(b.BACKEND, 'gmpy2' in sys.modules)"
    )
    done = run_python(code, "int")
    assert done.stdout.split() == ["int", "False"], done.stderr


def test_a_bad_choice_is_a_one_line_error() -> None:
    for code, backend, message in (
        (PRINT_BACKEND, "gmp", "CIPHERCHAT_BIGINT must be 'gmpy2' or 'int', not 'gmp'"),
        (WITHOUT_GMPY2 + PRINT_BACKEND, "gmpy2", "CIPHERCHAT_BIGINT=gmpy2 but gmpy2 is not installed"),
    ):
        done = run_python(code, backend)
        assert done.returncode != 0
        assert done.stderr.strip().splitlines()[-1] == f"ImportError: {message}"


def test_only_the_backend_imports_gmpy2() -> None:
    """ciphers.bigint is the one module of the toolkit and the chat that names gmpy2 in an import."""
    importers = []
    for package in ("ciphers", "chat"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if any(name.split(".")[0] == "gmpy2" for name in names):
                    importers.append(path.relative_to(ROOT).as_posix())
    assert sorted(set(importers)) == ["ciphers/bigint/__init__.py"]


INT_BACKEND_SUBSET = (
    # The child really runs on Python ints.
    "tests/test_bigint.py::test_backend_follows_the_environment",
    # RSA: every OAEP, PSS and v1.5 known answer (RSA Labs, NIST SigGen, pyca), the private operation
    # (CRT, blinding, fault check) and key generation, loading and checks.
    "tests/test_rsa_oaep.py",
    "tests/test_rsa_pss.py",
    "tests/test_rsa_pkcs1_v15.py",
    "tests/test_rsa_core.py",
    "tests/test_rsa_keys.py",
    # ElGamal known answers in explicit groups (PyCryptodome/libgcrypt numbers, Botan's decryption
    # files). The two tests in the built-in RFC groups are left out: their time goes to each group's
    # check on first use (Miller-Rabin of q up to 4096 bits: 20 s here), not to ElGamal; the session
    # round trip below uses the chat's built-in group.
    "tests/test_elgamal_kat.py::test_pycryptodome_encryption",
    "tests/test_elgamal_kat.py::test_pycryptodome_signature",
    "tests/test_elgamal_kat.py::test_botan_decryption",
    "tests/test_elgamal_kat.py::test_botan_decrypt_vec",
    # DSA-form signatures: RFC 6979 App. A, exact k, r and s at every size (NIST and Wycheproof add 20 s).
    "tests/test_elgamal_dsa_kat.py::test_rfc6979_a1_conversions_and_nonce",
    "tests/test_elgamal_dsa_kat.py::test_rfc6979_a2_dsa",
    # Primality (Botan's and the classic lists, random and safe primes) and the number theory on top.
    "tests/test_primes.py",
    "tests/test_numtheory.py",
    # DES does no big-integer arithmetic: a smoke test that it is unaffected.
    "tests/test_des_kat.py::test_ecb_vector",
    # The chat: every suite and kex seals and opens through a room session.
    "tests/test_session.py::test_round_trip_to_every_member",
)
"""What runs a second time with ``CIPHERCHAT_BIGINT=int``: every operation the backend serves, through
the known answers of each scheme that uses it, in about 30 s. The rest of the suite (attacks, the
ElGamal group generation and checks, the CLI, the network) adds minutes on Python ints and exercises
no operation that these do not."""


def test_crypto_subset_passes_on_the_int_backend() -> None:
    env = {**os.environ, bigint.ENVIRONMENT_VARIABLE: "int"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-o",
        "addopts=-q",
        "-p",
        "no:cacheprovider",
        *INT_BACKEND_SUBSET,
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
    assert done.returncode == 0, tail
    assert " passed" in tail and "skipped" not in tail and "deselected" not in tail, tail

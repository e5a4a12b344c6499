"""Identity keys of a chat client: RSA-2048 and ElGamal in ffdhe2048, their fingerprints, and storage.

Each client holds both keys, so it can join a room of any suite: RSA for OAEP key wrapping and
PSS signatures, ElGamal for the KEM and DSA-form signatures (:mod:`chat.e2e.suites` says which a
room uses). Other members only ever see the public halves, as the protocol's opaque ``identity`` map::

    {"v": "1", "rsa": "<SPKI PEM>", "elgamal.group": "ffdhe2048", "elgamal.y": "<base64, |p| bytes>"}

Fingerprint: SHA-256 over a canonical encoding of both public keys (:meth:`PublicIdentity.encode`),
shown as six groups of five digits (each group is 5 bytes of the digest modulo 100000, the way
Signal shows safety numbers): about 100 bits a person can read aloud. Two clients compare a
pairwise *safety number* (:func:`safety_number`), the same 60 digits on both sides, out of band.

Storage (:meth:`Identity.save`, :meth:`Identity.load`): a directory with ``identity.json`` (the
public map and fingerprint), ``rsa.pem`` (PKCS#8) and ``elgamal.json`` (the ElGamal private-key
JSON). Private files are created with mode 0600 in a 0700 directory, and loading refuses a private
file others can read, as ssh does.

Bounds (:meth:`PublicIdentity.from_wire`): a member's identity is refused unless its RSA key has
2048 to 4096 bits and e = 65537 (:func:`ciphers.rsa.keys.check_identity_public_key`) and its
ElGamal key lies in a built-in group of 2048 bits or more (:func:`ciphers.elgamal.core.check_identity_key`),
each checked before anything costly: a member cannot make every other client spend seconds per
signature check (a 38,000-bit modulus with e = n - 2 would take 7.7 s each).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from chat.e2e.errors import IdentityError as IdentityError
from chat.protocol.names import name_key
from ciphers import strict_base64
from ciphers.elgamal import formats as elgamal_formats
from ciphers.elgamal.core import PrivateKey as ElGamalPrivateKey
from ciphers.elgamal.core import PublicKey as ElGamalPublicKey
from ciphers.elgamal.core import check_identity_key, generate_private_key
from ciphers.elgamal.groups import DEFAULT_GROUP, GROUP_NAMES, find_named, named_group
from ciphers.envelope import length_prefixed
from ciphers.errors import CryptoError, FormatError, InsecureWarning
from ciphers.primes import Progress
from ciphers.rng import RNG, SYSTEM
from ciphers.rsa import formats as rsa_formats
from ciphers.rsa.core import i2osp
from ciphers.rsa.keys import (
    RSAPrivateKey,
    RSAPublicKey,
    check_identity_public_key,
    check_private_key,
    generate,
)

IDENTITY_VERSION = "1"
MIN_KEY_BITS = 2048
MAX_RSA_PEM = 1200
"""Characters of the ``rsa`` field: an SPKI PEM of a 4096-bit key with e = 65537 has about 800."""
RSA_BITS = 2048
FINGERPRINT_DOMAIN = b"cipherchat-identity-v1"
SAFETY_DOMAIN = b"cipherchat-safety-number-v1"
DIGIT_GROUPS = 6
SHORT_GROUPS = 2

WIRE_FIELDS = frozenset({"v", "rsa", "elgamal.group", "elgamal.y"})
BINARY_FIELDS = frozenset({"elgamal.y"})
"""The identity map's base64 fields; ``v`` and ``elgamal.group`` are text, ``rsa`` is PEM."""

PUBLIC_FILE = "identity.json"
RSA_FILE = "rsa.pem"
ELGAMAL_FILE = "elgamal.json"


def _digit_groups(digest: bytes, groups: int) -> list[str]:
    """Five decimal digits per 5 bytes of ``digest``: int(chunk) mod 100000, zero-padded."""
    return [f"{int.from_bytes(digest[5 * i : 5 * i + 5], 'big') % 100000:05d}" for i in range(groups)]


@dataclass(frozen=True)
class Fingerprint:
    """SHA-256 of an identity's canonical encoding, readable as digit groups."""

    digest: bytes

    @property
    def digits(self) -> str:
        """Six groups of five digits, e.g. ``'04521 88310 ...'``."""
        return " ".join(_digit_groups(self.digest, DIGIT_GROUPS))

    @property
    def short(self) -> str:
        """The first two groups, for a member list. Too short to check a key by: compare :attr:`digits`."""
        return " ".join(_digit_groups(self.digest, SHORT_GROUPS))

    @property
    def hex(self) -> str:
        """The whole digest in hex."""
        return self.digest.hex()

    def __str__(self) -> str:
        return self.digits


def _allowed_group(name: str, min_bits: int) -> bool:
    return name in GROUP_NAMES and _group_bits(name) >= min_bits


@functools.cache
def _group_bits(name: str) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return named_group(name).bits


def _unb64(text: str, what: str) -> bytes:
    try:
        return strict_base64.decode(text)
    except FormatError as exc:
        raise IdentityError(f"identity field {what!r} is {exc}") from None


@dataclass(frozen=True)
class PublicIdentity:
    """The public half: what other members see, check signatures with and wrap keys for."""

    rsa: RSAPublicKey
    elgamal: ElGamalPublicKey

    def encode(self) -> bytes:
        """The canonical encoding fingerprints hash: a domain tag, then n, e, p, g and y, length-prefixed."""
        group = self.elgamal.group
        return length_prefixed(
            FINGERPRINT_DOMAIN,
            b"rsa",
            i2osp(self.rsa.n, self.rsa.size_bytes),
            self.rsa.e.to_bytes((self.rsa.e.bit_length() + 7) // 8, "big"),
            b"elgamal",
            group.encode_element(group.p),
            group.encode_element(group.g),
            group.encode_element(self.elgamal.y),
        )

    @functools.cached_property
    def fingerprint(self) -> Fingerprint:
        """SHA-256 of :meth:`encode`."""
        return Fingerprint(hashlib.sha256(self.encode()).digest())

    def rsa_pem(self) -> str:
        """The RSA key as SPKI PEM (what a certificate authority is given)."""
        return rsa_formats.dump_public_key(self.rsa).decode("ascii")

    def to_wire(self) -> dict[str, str]:
        """The protocol's opaque ``identity`` map."""
        group = self.elgamal.group
        name = find_named(group)
        if name is None:
            raise IdentityError("only the built-in ElGamal groups can be announced")
        return {
            "v": IDENTITY_VERSION,
            "rsa": self.rsa_pem(),
            "elgamal.group": name,
            "elgamal.y": strict_base64.encode(group.encode_element(self.elgamal.y)),
        }

    @classmethod
    def from_wire(cls, identity: Mapping[str, str]) -> PublicIdentity:
        """Parse and check a member's ``identity`` map; :class:`IdentityError` if it is not usable.

        Keys outside the identity bounds (module notes) are refused by their size and exponent, or
        by their group's name, before any exponentiation: a relay or a member must not be able to
        hand us a weak key, or one that is slow to use, in a member's name.
        """
        if set(identity) != WIRE_FIELDS:
            raise IdentityError("identity must have exactly the fields v, rsa, elgamal.group, elgamal.y")
        if identity["v"] != IDENTITY_VERSION:
            raise IdentityError(f"identity version {identity['v'][:16]!r} is not {IDENTITY_VERSION}")
        pem = identity["rsa"]
        if len(pem) > MAX_RSA_PEM:
            raise IdentityError(
                f"identity RSA key of {len(pem)} characters is larger than any 4096-bit key "
                f"(at most {MAX_RSA_PEM})"
            )
        try:
            rsa = rsa_formats.load_public_key(pem)
            check_identity_public_key(rsa)
        except (CryptoError, ValueError) as exc:
            raise IdentityError(f"identity RSA key is not usable: {exc}") from None
        name = identity["elgamal.group"]
        if not _allowed_group(name, MIN_KEY_BITS):
            raise IdentityError(
                f"identity ElGamal group {name[:32]!r} is not a built-in group of {MIN_KEY_BITS}+ bits"
            )
        group = named_group(name)
        raw = _unb64(identity["elgamal.y"], "elgamal.y")
        if len(raw) != group.element_bytes:
            raise IdentityError("identity ElGamal key has the wrong length")
        try:
            elgamal = ElGamalPublicKey(group, int.from_bytes(raw, "big"))
            check_identity_key(elgamal)
        except CryptoError as exc:
            raise IdentityError(f"identity ElGamal key is not usable: {exc}") from None
        return cls(rsa, elgamal)


@dataclass(frozen=True)
class Identity:
    """A client's private identity keys. Never leaves the client; only :attr:`public` is sent."""

    rsa: RSAPrivateKey
    elgamal: ElGamalPrivateKey

    @functools.cached_property
    def public(self) -> PublicIdentity:
        """The public half."""
        return PublicIdentity(self.rsa.public_key(), self.elgamal.public_key)

    @property
    def fingerprint(self) -> Fingerprint:
        """The fingerprint of :attr:`public`."""
        return self.public.fingerprint

    @classmethod
    def generate(
        cls,
        *,
        rng: RNG = SYSTEM,
        rsa_bits: int = RSA_BITS,
        group: str = DEFAULT_GROUP,
        progress: Progress | None = None,
    ) -> Identity:
        """Fresh keys: RSA (tens of milliseconds at 2048 bits) and ElGamal in a named group (cheap)."""
        return cls(
            generate(rsa_bits, rng=rng, progress=progress), generate_private_key(named_group(group), rng)
        )

    def __repr__(self) -> str:
        return f"Identity(<private keys hidden>, fingerprint={self.fingerprint.digits!r})"

    # --- storage --------------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the keys to ``directory`` (created 0700): private files 0600, replaced atomically."""
        path = Path(directory)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(path / RSA_FILE, rsa_formats.dump_private_key(self.rsa))
        _write_private(path / ELGAMAL_FILE, elgamal_formats.dump_private_key(self.elgamal).encode("ascii"))
        public = {"identity": self.public.to_wire(), "fingerprint": self.fingerprint.digits}
        _write_file(path / PUBLIC_FILE, (json.dumps(public, indent=2) + "\n").encode("ascii"), 0o644)
        return path

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Identity:
        """Read keys written by :meth:`save`; :class:`IdentityError` if missing, unsafe or inconsistent."""
        path = Path(directory)
        try:
            rsa_text = _read_private(path / RSA_FILE)
            elgamal_text = _read_private(path / ELGAMAL_FILE)
        except FileNotFoundError as exc:
            raise IdentityError(f"no identity in {path}: {exc.filename} is missing") from None
        try:
            rsa = rsa_formats.load_private_key(rsa_text)
            check_private_key(rsa)
            elgamal = elgamal_formats.load_private_key(elgamal_text)
        except (CryptoError, ValueError) as exc:
            raise IdentityError(f"identity in {path} is not usable: {exc}") from None
        identity = cls(rsa, elgamal)
        if rsa.bits < MIN_KEY_BITS or elgamal.group.bits < MIN_KEY_BITS:
            raise IdentityError(f"identity in {path} has keys below {MIN_KEY_BITS} bits")
        public_file = path / PUBLIC_FILE
        if public_file.exists():
            try:
                stored = json.loads(public_file.read_text("ascii"))["identity"]
            except (ValueError, KeyError, TypeError):
                raise IdentityError(f"{public_file} is malformed") from None
            if stored != identity.public.to_wire():
                raise IdentityError(f"{public_file} does not match the private keys beside it")
        return identity

    @classmethod
    def load_or_create(cls, directory: str | os.PathLike[str], *, rng: RNG = SYSTEM) -> Identity:
        """The identity stored in ``directory``, or a new one saved there (stable fingerprints)."""
        path = Path(directory)
        if (path / RSA_FILE).exists() or (path / ELGAMAL_FILE).exists():
            return cls.load(path)
        identity = cls.generate(rng=rng)
        identity.save(path)
        return identity


def _write_file(path: Path, data: bytes, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _write_private(path: Path, data: bytes) -> None:
    _write_file(path, data, 0o600)


def _read_private(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise IdentityError(f"private key file {path} is readable by others (mode {mode:04o}); chmod 600 it")
    return path.read_text("ascii")


def safety_number(alias_a: str, a: PublicIdentity, alias_b: str, b: PublicIdentity) -> str:
    """The pairwise safety number: 60 digits, the same whichever side computes it.

    Each side contributes 30 digits of SHA-256 over (domain, alias, identity encoding); the two
    halves are sorted so both clients show the same string. Binding the aliases means two members
    cannot swap names unnoticed.
    """

    def half(alias: str, identity: PublicIdentity) -> str:
        digest = hashlib.sha256(
            length_prefixed(SAFETY_DOMAIN, name_key(alias).encode("utf-8"), identity.encode())
        ).digest()
        return " ".join(_digit_groups(digest, DIGIT_GROUPS))

    first, second = sorted((half(alias_a, a), half(alias_b, b)))
    return f"{first} {second}"

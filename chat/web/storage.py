"""What the page remembers between visits: the terminal client's config directory, kept in localStorage.

Under Pyodide the files live in memory and vanish with the tab. :class:`BrowserStore` mirrors the
config directory (:func:`chat.client.store.config_root`: ``identities/ALIAS/`` with the identity
keys, ``known_peers/ALIAS/SERVER.json`` with the pinned fingerprints) to the browser's
``localStorage``, one key per file: :meth:`restore` writes them back into the in-memory file
system before anything reads them, :meth:`persist` saves what changed. So the page keeps its keys
and trust exactly as the terminal client does, with the same code (:mod:`chat.client.store`,
:mod:`chat.e2e.identity`, :mod:`chat.e2e.trust`), and the private keys stay in this browser.

An identity moves between the page and the terminal client as a zip of the identity directory
(:func:`export_identity`, :func:`import_identity`): unzipped, it is a directory for
``cipherchat client --identity DIR`` (the private files keep mode 0600); a zip (or tar) of a
terminal client's ``identities/ALIAS`` folder imports into the page. An import is checked by the
terminal client's own loader (:meth:`~chat.e2e.identity.Identity.load`) before it replaces anything.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Protocol

from chat.client.store import StoreError, default_identity_dir
from chat.e2e.identity import ELGAMAL_FILE, PUBLIC_FILE, RSA_FILE, Identity, IdentityError

PREFIX = "cipherchat:file:"  # localStorage key of each file: this, then its path under the root
PRIVATE_FILES = frozenset({RSA_FILE, ELGAMAL_FILE})
IDENTITY_FILES = (PUBLIC_FILE, RSA_FILE, ELGAMAL_FILE)
MAX_IMPORT = 64 * 1024  # bytes of an identity archive (its three files are about 4 KiB)
MAX_MEMBER = 16 * 1024  # bytes of one file in it


class KeyValueStore(Protocol):
    """The part of the Web Storage API used (``window.localStorage``)."""

    @property
    def length(self) -> int: ...

    def key(self, index: int) -> str | None: ...

    def getItem(self, key: str) -> str | None: ...

    def setItem(self, key: str, value: str) -> None: ...

    def removeItem(self, key: str) -> None: ...


def _saved(path: Path) -> bool:
    """Whether ``path`` is a file worth keeping: not a lock or a half-written temporary (dot files)."""
    return path.is_file() and not path.name.startswith(".")


class BrowserStore:
    """The files under ``root`` mirrored to ``storage`` (see the module notes)."""

    def __init__(self, root: str | os.PathLike[str], storage: KeyValueStore) -> None:
        self.root = Path(root)
        self.storage = storage

    def _keys(self) -> list[str]:
        keys = (self.storage.key(i) for i in range(int(self.storage.length)))
        return [key for key in keys if key is not None and key.startswith(PREFIX)]

    def restore(self) -> int:
        """Write every stored file under the root (private keys 0600 in 0700 directories); how many."""
        count = 0
        for key in self._keys():
            relative = Path(key[len(PREFIX) :])
            if relative.is_absolute() or ".." in relative.parts:
                continue  # not a path this store wrote
            value = self.storage.getItem(key)
            if value is None:
                continue
            path = self.root / relative
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.write_text(value, "utf-8")
            path.chmod(0o600 if path.name in PRIVATE_FILES else 0o644)
            count += 1
        return count

    def persist(self) -> int:
        """Store every file under the root that changed, forget those deleted; how many changed."""
        files = {}
        if self.root.exists():
            for path in sorted(self.root.rglob("*")):
                if _saved(path):
                    files[PREFIX + path.relative_to(self.root).as_posix()] = path.read_text("utf-8")
        changed = 0
        for key, text in files.items():
            if self.storage.getItem(key) != text:
                self.storage.setItem(key, text)
                changed += 1
        for key in self._keys():
            if key not in files:
                self.storage.removeItem(key)
                changed += 1
        return changed


def identity_dir(alias: str, root: str | os.PathLike[str]) -> Path:
    """Where the page keeps ``alias``'s identity: the terminal client's default, under ``root``."""
    return default_identity_dir(alias, Path(root).parent)


def export_identity(alias: str, root: str | os.PathLike[str]) -> bytes:
    """A zip of ``alias``'s identity directory, ``ALIAS/identity.json``, ``rsa.pem``, ``elgamal.json``."""
    path = identity_dir(alias, root)
    Identity.load(path)  # the keys are whole and consistent before they leave
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_directory_entry(path.name), b"")
        for name in IDENTITY_FILES:
            if (path / name).exists():
                entry = zipfile.ZipInfo(f"{path.name}/{name}", date_time=(2000, 1, 1, 0, 0, 0))
                entry.external_attr = (0o100600 if name in PRIVATE_FILES else 0o100644) << 16
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, (path / name).read_bytes())
    return buffer.getvalue()


def _directory_entry(name: str) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(f"{name}/", date_time=(2000, 1, 1, 0, 0, 0))
    entry.external_attr = (0o40700 << 16) | 0x10
    return entry


def _archive_files(data: bytes) -> dict[str, bytes]:
    """The identity files in a zip or tar archive, by base name; StoreError if it is not one."""
    if len(data) > MAX_IMPORT:
        raise StoreError(f"not an identity file: {len(data)} bytes, more than {MAX_IMPORT}")
    found: dict[str, bytes] = {}
    stream = io.BytesIO(data)
    try:
        if zipfile.is_zipfile(stream):
            with zipfile.ZipFile(stream) as archive:
                for info in archive.infolist():
                    name = info.filename.rstrip("/").rsplit("/", 1)[-1]
                    if name in IDENTITY_FILES and not info.is_dir() and info.file_size <= MAX_MEMBER:
                        found[name] = archive.read(info)
        else:
            stream.seek(0)
            with tarfile.open(fileobj=stream) as archive:
                for member in archive.getmembers():
                    name = member.name.rsplit("/", 1)[-1]
                    if name in IDENTITY_FILES and member.isfile() and member.size <= MAX_MEMBER:
                        handle = archive.extractfile(member)
                        if handle is not None:
                            found[name] = handle.read()
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError):
        raise StoreError("not an identity file: expected a zip of an identity directory") from None
    missing = [name for name in (RSA_FILE, ELGAMAL_FILE) if name not in found]
    if missing:
        raise StoreError(f"not an identity file: {' and '.join(missing)} missing")
    return found


def import_identity(alias: str, root: str | os.PathLike[str], data: bytes) -> Identity:
    """Make the identity in the archive ``data`` ``alias``'s, replacing the one the page had.

    The files are checked as the terminal client checks its own (:meth:`Identity.load`); StoreError
    in one line if they do not hold. The identity is written with :meth:`Identity.save`.
    """
    files = _archive_files(data)
    with tempfile.TemporaryDirectory() as scratch:
        staging = Path(scratch) / "identity"
        staging.mkdir(mode=0o700)
        for name, content in files.items():
            target = staging / name
            target.write_bytes(content)
            target.chmod(0o600 if name in PRIVATE_FILES else 0o644)
        try:
            identity = Identity.load(staging)
        except IdentityError as exc:
            message = str(exc).replace(f"{staging}/", "").replace(str(staging), "the identity file")
            raise StoreError(message) from None
    identity.save(identity_dir(alias, root))
    return identity


def local_storage() -> Any:
    """The page's ``window.localStorage`` (under Pyodide only)."""
    import js  # type: ignore[import-not-found]

    return js.localStorage

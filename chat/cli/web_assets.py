"""The pinned Pyodide runtime: its lock file, fetching it from the npm registry, checking it.

``make web-assets`` runs ``tools/fetch_pyodide.py``, which is :func:`main`: it downloads the npm
tarball the lock names (:data:`LOCK_FILE`, committed), checks it against the lock's
``integrity`` (npm's sha512),
takes out only the files the page loads, checks each against its sha256 in the lock, and only
then moves them into place (``.web-assets/pyodide/``, git-ignored) in one rename: a mismatch is
one line and leaves nothing half-installed. The relay checks the same hashes each time it builds
the bundle (:func:`verify_assets`); nothing is fetched from the internet at run time.

Bumping the pin: ``python tools/fetch_pyodide.py --write-lock VERSION`` fetches that version and
writes the lock from what it got (review the diff, then commit it).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the source tree (the assets are git-ignored in it)
LOCK_FILE = Path(__file__).resolve().parent.parent / "web_assets.lock.json"
ASSETS_DIR = ROOT / ".web-assets" / "pyodide"
REGISTRY = "https://registry.npmjs.org"
# What the page loads of the npm package: the loader (both module kinds), the runtime, the standard library.
PAGE_FILES = (
    "pyodide.js",
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
MAX_TARBALL = 64 * 1024 * 1024  # bytes read from the registry at most
FETCH_TIMEOUT = 120.0


class AssetError(Exception):
    """The runtime is missing, or does not match the lock (one line, for the user)."""


@dataclass(frozen=True)
class Lock:
    """The pin: the npm package and version, the tarball's URL and integrity, each page file's sha256."""

    package: str
    version: str
    tarball: str
    integrity: str
    files: Mapping[str, str]

    @classmethod
    def read(cls, path: Path = LOCK_FILE) -> Lock:
        obj = json.loads(path.read_text("utf-8"))
        return cls(obj["package"], obj["version"], obj["tarball"], obj["integrity"], dict(obj["files"]))

    def to_json(self) -> str:
        obj = {
            "package": self.package,
            "version": self.version,
            "tarball": self.tarball,
            "integrity": self.integrity,
            "files": dict(sorted(self.files.items())),
        }
        return json.dumps(obj, indent=2) + "\n"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def integrity_of(data: bytes) -> str:
    """npm's Subresource Integrity string for ``data`` (sha512, base64)."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def verify_assets(directory: Path = ASSETS_DIR, lock: Lock | None = None) -> dict[str, bytes]:
    """The runtime's files from ``directory``, each checked against the lock; AssetError if not."""
    lock = lock or Lock.read()
    if not directory.is_dir():
        raise AssetError(f"no Pyodide runtime in {directory}: run make web-assets")
    found: dict[str, bytes] = {}
    for name, expected in sorted(lock.files.items()):
        path = directory / name
        if not path.is_file():
            raise AssetError(f"{path} is missing: run make web-assets")
        data = path.read_bytes()
        if sha256_hex(data) != expected:
            raise AssetError(
                f"{path} does not match {lock.package} {lock.version}'s lock: run make web-assets"
            )
        found[name] = data
    return found


def download(url: str, limit: int = MAX_TARBALL) -> bytes:
    """The bytes at ``url`` (at most ``limit``), within :data:`FETCH_TIMEOUT` per read."""
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:
        data: bytes = response.read(limit + 1)
    if len(data) > limit:
        raise AssetError(f"{url} is larger than {limit} bytes")
    return data


def files_of_tarball(tarball: bytes, names: Sequence[str]) -> dict[str, bytes]:
    """The named files of an npm tarball (under ``package/``); AssetError if one is missing."""
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member in archive.getmembers():
            name = member.name.removeprefix("package/")
            if name in names and member.isfile():
                extracted = archive.extractfile(member)
                if extracted is not None:
                    found[name] = extracted.read()
    missing = sorted(set(names) - set(found))
    if missing:
        raise AssetError(f"the tarball has no {', '.join(missing)}")
    return found


def install(tarball: bytes, lock: Lock, directory: Path = ASSETS_DIR) -> None:
    """Check ``tarball`` against ``lock`` and put its page files in ``directory``, all or nothing."""
    if integrity_of(tarball) != lock.integrity:
        raise AssetError(f"the {lock.package} {lock.version} tarball does not match the lock's integrity")
    files = files_of_tarball(tarball, sorted(lock.files))
    for name, data in files.items():
        if sha256_hex(data) != lock.files[name]:
            raise AssetError(f"{name} of {lock.package} {lock.version} does not match its sha256 in the lock")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".pyodide-", dir=directory.parent))
    try:
        staging.chmod(0o755)
        for name, data in files.items():
            (staging / name).write_bytes(data)
        if directory.exists():
            old = directory.with_name(f".{directory.name}-old-{os.getpid()}")
            directory.rename(old)
            staging.rename(directory)
            shutil.rmtree(old)
        else:
            staging.rename(directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def lock_for(package: str, version: str, tarball: bytes, url: str) -> Lock:
    files = files_of_tarball(tarball, PAGE_FILES)
    hashes = {name: sha256_hex(data) for name, data in files.items()}
    return Lock(package, version, url, integrity_of(tarball), hashes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/fetch_pyodide.py", description=__doc__.split("\n")[0])
    parser.add_argument("--tarball", type=Path, help="install from this npm tarball instead of the registry")
    parser.add_argument("--dest", type=Path, default=ASSETS_DIR, help="where (default .web-assets/pyodide)")
    parser.add_argument(
        "--lock", type=Path, default=LOCK_FILE, help="the lock file (default the committed one)"
    )
    parser.add_argument(
        "--write-lock", metavar="VERSION", help="fetch pyodide@VERSION and write the lock from it"
    )
    args = parser.parse_args(argv)
    try:
        if args.write_lock:
            url = f"{REGISTRY}/pyodide/-/pyodide-{args.write_lock}.tgz"
            data = args.tarball.read_bytes() if args.tarball else download(url)
            args.lock.write_text(lock_for("pyodide", args.write_lock, data, url).to_json(), "utf-8")
            print(f"wrote {args.lock} for pyodide {args.write_lock}")
            return 0
        lock = Lock.read(args.lock)
        with contextlib.suppress(AssetError):
            verify_assets(args.dest, lock)
            print(f"{lock.package} {lock.version} is in {args.dest} and matches the lock")
            return 0
        data = args.tarball.read_bytes() if args.tarball else download(lock.tarball)
        install(data, lock, args.dest)
        verify_assets(args.dest, lock)
    except (AssetError, OSError, tarfile.TarError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{lock.package} {lock.version} installed in {args.dest} ({len(lock.files)} files, hashes checked)")
    return 0

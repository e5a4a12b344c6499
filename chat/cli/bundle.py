"""The web client's bundle: the page's static files, the Pyodide runtime, a wheel of this tree, a manifest.

:func:`build_wheel` packs the ``ciphers`` and ``chat`` packages as they are in this tree into a
pure-Python wheel with :mod:`zipfile` (METADATA, WHEEL, RECORD with sha256; no setuptools at run
time). It is deterministic: files in sorted order, every timestamp 1980-01-01, the same
permissions, so the same tree gives the same bytes and the same hash. It declares no
dependencies: the browser has none to fetch, and what the page imports needs none.

:func:`build_bundle` gathers every file the page loads under its URL path (``/static/…``,
``/pyodide/…``, ``/wheels/…``) and the manifest served at ``/bundle.json``::

    {"wheel": "<file name>", "files": {"<url path>": "<sha256 hex>", ...}, "sha256": "<hex>"}

``sha256`` is the hash of the ``files`` object in canonical JSON (keys sorted, no spaces): one
number for the whole bundle, which the relay prints at start and ``cipherchat web`` prints for a
local copy, so a student can compare the page they are served with one they built themselves.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tomllib
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from chat.cli.web_assets import ASSETS_DIR, ROOT, AssetError, Lock, verify_assets
from chat.relay.static import ConnectPolicy, StaticSite

STATIC_DIR = ROOT / "chat" / "web" / "static"
PACKAGES = ("ciphers", "chat")
# The package data the installed packages read (pyproject.toml's [tool.setuptools.package-data]).
PACKAGE_DATA = {"ciphers/vectors": (".json", ".txt", ".md"), "chat/ui/tui": (".tcss",)}
LEFT_OUT = ("chat/web/static",)  # served beside the wheel, not in it
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
DIST = "cipherchat"
MANIFEST_PATH = "/bundle.json"


@dataclass(frozen=True)
class Bundle:
    """Every file the page loads by URL path (the manifest included), and the manifest's hash."""

    files: dict[str, bytes]
    wheel: str
    sha256: str

    def site(self, connect: ConnectPolicy = ConnectPolicy.RELAY) -> StaticSite:
        """The bundle as served: ``connect`` says where its page may open WebSockets."""
        return StaticSite(self.files, connect)


def project_version(root: Path = ROOT) -> str:
    """The version pyproject.toml gives the project."""
    with (root / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def wheel_sources(root: Path = ROOT) -> Iterator[tuple[str, Path]]:
    """The files of the wheel, as (path in the wheel, path on disk), sorted."""
    found: list[tuple[str, Path]] = []
    for package in PACKAGES:
        for path in (root / package).rglob("*"):
            relative = path.relative_to(root).as_posix()
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            if any(relative.startswith(prefix + "/") for prefix in LEFT_OUT):
                continue
            folder = relative.rsplit("/", 1)[0]
            if path.suffix == ".py" or path.suffix in PACKAGE_DATA.get(folder, ()):
                found.append((relative, path))
    return iter(sorted(found))


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"sha256={digest}"


def build_wheel(root: Path = ROOT, version: str | None = None) -> tuple[str, bytes]:
    """The wheel's file name and bytes, built from the tree at ``root`` (see the module notes)."""
    version = version or project_version(root)
    dist_info = f"{DIST}-{version}.dist-info"
    entries = [(name, path.read_bytes()) for name, path in wheel_sources(root)]
    metadata = (
        f"Metadata-Version: 2.1\nName: {DIST}\nVersion: {version}\n"
        "Summary: cipherchat's ciphers and chat, built for the browser client (Pyodide)\n"
    )
    wheel = "Wheel-Version: 1.0\nGenerator: cipherchat.bundle\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    entries += [(f"{dist_info}/METADATA", metadata.encode()), (f"{dist_info}/WHEEL", wheel.encode())]
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in entries)
    entries.append((f"{dist_info}/RECORD", (record + f"{dist_info}/RECORD,,\n").encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
    return f"{DIST}-{version}-py3-none-any.whl", buffer.getvalue()


def manifest_hash(hashes: Mapping[str, str]) -> str:
    """The bundle's hash: sha256 of the ``files`` object in canonical JSON."""
    canonical = json.dumps(dict(hashes), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def static_files(directory: Path = STATIC_DIR) -> dict[str, bytes]:
    """The page's own files by URL path; AssetError without an ``index.html``."""
    if not (directory / "index.html").is_file():
        raise AssetError(f"no web page in {directory} (index.html is missing)")
    files = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and not path.name.startswith("."):
            files[f"/static/{path.relative_to(directory).as_posix()}"] = path.read_bytes()
    return files


def build_bundle(
    static_dir: Path = STATIC_DIR,
    pyodide_dir: Path = ASSETS_DIR,
    *,
    lock: Lock | None = None,
    root: Path = ROOT,
) -> Bundle:
    """The bundle from the page's files, the runtime (checked against the lock) and a fresh wheel."""
    files = static_files(static_dir)
    files |= {f"/pyodide/{name}": data for name, data in verify_assets(pyodide_dir, lock).items()}
    wheel_name, wheel = build_wheel(root)
    files[f"/wheels/{wheel_name}"] = wheel
    hashes = {path: hashlib.sha256(data).hexdigest() for path, data in sorted(files.items())}
    digest = manifest_hash(hashes)
    manifest = {"wheel": wheel_name, "files": hashes, "sha256": digest}
    files[MANIFEST_PATH] = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("ascii")
    return Bundle(files, wheel_name, digest)


@dataclass(frozen=True)
class Size:
    """What one part of the bundle weighs: files, bytes, and bytes as served gzipped."""

    part: str
    files: int
    raw: int
    gzipped: int


def sizes(site: StaticSite) -> list[Size]:
    """The download, part by part (pyodide, wheel, static, manifest) and in all."""
    parts: dict[str, list[int]] = {}
    for path, served in site.files.items():
        part = path.split("/")[1] if path.count("/") > 1 else "manifest"
        part = {"wheels": "wheel"}.get(part, part)
        totals = parts.setdefault(part, [0, 0, 0])
        totals[0] += 1
        totals[1] += len(served.body)
        totals[2] += len(served.gzipped if served.gzipped is not None else served.body)
    rows = [Size(part, *parts[part]) for part in sorted(parts)]
    rows.append(
        Size("all", sum(r.files for r in rows), sum(r.raw for r in rows), sum(r.gzipped for r in rows))
    )
    return rows

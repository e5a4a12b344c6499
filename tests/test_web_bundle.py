"""The web client's bundle and how the relay serves it: the wheel, the manifest, the lock, HTTP.

The bundle is built from a page and a runtime made up here (a lock written for them), so these
tests need neither the other half of the web client nor the Pyodide download; the committed lock
and the real runtime are checked by the last tests (and by ``make web-assets`` in CI).
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from chat.cli import bundle as bundle_module
from chat.cli.bundle import PACKAGE_DATA, Bundle, build_bundle, build_wheel, manifest_hash, sizes
from chat.cli.web_assets import (
    ASSETS_DIR,
    PAGE_FILES,
    AssetError,
    Lock,
    install,
    integrity_of,
    sha256_hex,
    verify_assets,
)
from chat.relay.server import ServerConfig, serve
from chat.relay.static import ConnectPolicy, StaticSite, accepts_gzip, content_type
from tests.chat_net import run

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 15.0
PAGE = b"<!doctype html><title>cipherchat</title><script type=module src=/static/app.js></script>\n"
RUNTIME = {
    "pyodide.mjs": b"export const loadPyodide = () => 42;\n" * 40,
    "pyodide.asm.wasm": b"\x00asm\x01\x00\x00\x00" + bytes(range(256)) * 64,
    "python_stdlib.zip": b"PK not really a zip",
    "pyodide-lock.json": json.dumps({"info": {"version": "0"}, "packages": {}}).encode() * 30,
}


def npm_tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def lock_of(files: dict[str, bytes], tarball: bytes = b"") -> Lock:
    hashes = {name: sha256_hex(data) for name, data in files.items()}
    return Lock("pyodide", "0.0.0-test", "https://registry.invalid/p.tgz", integrity_of(tarball), hashes)


@pytest.fixture
def page(tmp_path: Path) -> Path:
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "index.html").write_bytes(PAGE)
    (static / "app.js").write_text("console.log('cipherchat');\n" * 50)
    (static / "css" / "page.css").write_text("body { margin: 0 }\n" * 50)
    return static


@pytest.fixture
def runtime(tmp_path: Path) -> tuple[Path, Lock]:
    directory = tmp_path / "pyodide"
    directory.mkdir()
    for name, data in RUNTIME.items():
        (directory / name).write_bytes(data)
    return directory, lock_of(RUNTIME)


@pytest.fixture
def bundle(page: Path, runtime: tuple[Path, Lock]) -> Bundle:
    return build_bundle(page, runtime[0], lock=runtime[1])


# --- the wheel ---------------------------------------------------------------------------------


def test_the_wheel_is_deterministic_and_its_record_holds() -> None:
    name, wheel = build_wheel()
    assert (name, wheel) == build_wheel()
    assert name == f"cipherchat-{bundle_module.project_version()}-py3-none-any.whl"
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        names = archive.namelist()
        assert names == sorted(names[:-3]) + names[-3:]  # the sources sorted, then the dist-info
        assert {"chat/relay/server.py", "ciphers/bigint/__init__.py", "chat/ui/tui/app.tcss"} <= set(names)
        assert any(n.startswith("ciphers/vectors/") and n.endswith(".json") for n in names)
        assert not [n for n in names if "__pycache__" in n or n.startswith("chat/web/static/")]
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        record = archive.read(names[-1]).decode().splitlines()
        assert record[-1] == f"{names[-1]},,"
        for line in record[:-1]:
            path, digest, size = line.rsplit(",", 2)
            data = archive.read(path)
            assert int(size) == len(data)
            expected = hashlib.sha256(data).digest()
            assert digest == "sha256=" + base64.urlsafe_b64encode(expected).rstrip(b"=").decode()
        assert len(record) - 1 == len(names) - 1
        assert "Root-Is-Purelib: true" in archive.read(names[-2]).decode()


def test_the_wheel_holds_every_module_of_the_packages() -> None:
    _, wheel = build_wheel()
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        names = set(archive.namelist())
    on_disk = {
        p.relative_to(ROOT).as_posix()
        for package in ("ciphers", "chat")
        for p in (ROOT / package).rglob("*.py")
        if "__pycache__" not in p.parts and "static" not in p.relative_to(ROOT).parts
    }
    assert on_disk <= names


def test_the_wheel_takes_the_package_data_pyproject_declares() -> None:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        declared = tomllib.load(handle)["tool"]["setuptools"]["package-data"]
    for folder, suffixes in PACKAGE_DATA.items():
        patterns = declared[folder.replace("/", ".")]
        assert sorted(f"*{suffix}" for suffix in suffixes) == sorted(patterns)
    assert set(declared) - {f.replace("/", ".") for f in PACKAGE_DATA} <= {"chat", "chat.web"}


def test_the_wheel_imports_on_the_int_backend_without_the_tree(tmp_path: Path) -> None:
    name, wheel = build_wheel()
    path = tmp_path / name
    path.write_bytes(wheel)
    code = (
        "import ciphers.bigint, chat.protocol.connection, chat.relay.static, ciphers.rsa;"
        "print(ciphers.bigint.BACKEND, ciphers.__file__, chat.protocol.connection.__file__)"
    )
    environment = {"PYTHONPATH": str(path), "CIPHERCHAT_BIGINT": "int", "PATH": os.environ.get("PATH", "")}
    result = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    backend, *files = result.stdout.split()
    assert backend == "int"
    assert all(file.startswith(str(path) + os.sep) for file in files), files


# --- the bundle and its manifest ----------------------------------------------------------------


def test_the_manifest_names_every_file_with_its_hash(bundle: Bundle) -> None:
    manifest = json.loads(bundle.files["/bundle.json"])
    assert manifest["wheel"] == bundle.wheel
    served = {path: data for path, data in bundle.files.items() if path != "/bundle.json"}
    assert manifest["files"] == {path: hashlib.sha256(data).hexdigest() for path, data in served.items()}
    assert set(manifest["files"]) == {
        "/static/index.html",
        "/static/app.js",
        "/static/css/page.css",
        f"/wheels/{bundle.wheel}",
        *(f"/pyodide/{name}" for name in RUNTIME),
    }
    canonical = json.dumps(manifest["files"], sort_keys=True, separators=(",", ":")).encode()
    assert manifest["sha256"] == bundle.sha256 == hashlib.sha256(canonical).hexdigest()
    assert manifest_hash(dict(reversed(list(manifest["files"].items())))) == bundle.sha256


def test_a_bundle_without_its_page_or_runtime_is_refused_in_one_line(
    page: Path, runtime: tuple[Path, Lock], tmp_path: Path
) -> None:
    with pytest.raises(AssetError, match=r"index\.html is missing"):
        build_bundle(tmp_path / "nowhere", runtime[0], lock=runtime[1])
    with pytest.raises(AssetError, match="run make web-assets"):
        build_bundle(page, tmp_path / "nowhere", lock=runtime[1])


def test_the_sizes_add_up(bundle: Bundle) -> None:
    rows = {row.part: row for row in sizes(bundle.site())}
    assert set(rows) == {"manifest", "pyodide", "static", "wheel", "all"}
    assert rows["pyodide"].raw == sum(map(len, RUNTIME.values()))
    assert rows["wheel"].raw == len(bundle.files[f"/wheels/{bundle.wheel}"])
    assert rows["all"].raw == sum(map(len, bundle.files.values()))
    assert rows["all"].files == len(bundle.files)
    assert rows["pyodide"].gzipped < rows["pyodide"].raw


# --- the lock ----------------------------------------------------------------------------------


def test_the_lock_check_rejects_a_tampered_file(runtime: tuple[Path, Lock]) -> None:
    directory, lock = runtime
    assert set(verify_assets(directory, lock)) == set(RUNTIME)
    wasm = directory / "pyodide.asm.wasm"
    wasm.write_bytes(wasm.read_bytes()[:-1] + b"\x01")
    with pytest.raises(AssetError, match=r"pyodide\.asm\.wasm does not match pyodide 0\.0\.0-test's lock"):
        verify_assets(directory, lock)
    wasm.unlink()
    with pytest.raises(AssetError, match="is missing"):
        verify_assets(directory, lock)


def test_install_puts_the_files_in_place_only_when_every_hash_matches(tmp_path: Path) -> None:
    tarball = npm_tarball(RUNTIME | {"README.md": b"not for the page"})
    lock = lock_of(RUNTIME, tarball)
    dest = tmp_path / "assets" / "pyodide"
    install(tarball, lock, dest)
    assert sorted(p.name for p in dest.iterdir()) == sorted(RUNTIME)
    assert verify_assets(dest, lock) == RUNTIME

    tampered = npm_tarball(RUNTIME | {"pyodide.mjs": b"alert('swapped')"})
    with pytest.raises(AssetError, match="does not match the lock's integrity"):
        install(tampered, lock, dest)
    with pytest.raises(AssetError, match=r"pyodide\.mjs of pyodide 0\.0\.0-test does not match its sha256"):
        install(tampered, lock_of(RUNTIME, tampered), dest)
    assert verify_assets(dest, lock) == RUNTIME  # what was there is untouched
    assert sorted(p.name for p in dest.parent.iterdir()) == ["pyodide"]  # no staging left behind

    fresh = tmp_path / "fresh" / "pyodide"
    with pytest.raises(AssetError):
        install(tampered, lock, fresh)
    assert not fresh.exists()


def test_the_committed_lock_pins_the_files_the_page_loads() -> None:
    lock = Lock.read()
    assert (lock.package, lock.version) == ("pyodide", "314.0.8")
    assert lock.tarball == "https://registry.npmjs.org/pyodide/-/pyodide-314.0.8.tgz"
    assert lock.integrity.startswith("sha512-") and len(lock.integrity) == 7 + 88
    assert sorted(lock.files) == sorted(PAGE_FILES)
    assert all(len(digest) == 64 and int(digest, 16) >= 0 for digest in lock.files.values())


def require_assets() -> None:
    if not ASSETS_DIR.is_dir() and not os.environ.get("CIPHERCHAT_REQUIRE_BROWSER"):
        pytest.skip("no Pyodide runtime in .web-assets/pyodide (make web-assets; CI requires it)")


def test_the_fetched_runtime_matches_the_committed_lock() -> None:
    require_assets()
    files = verify_assets()
    assert sorted(files) == sorted(PAGE_FILES)
    assert files["pyodide.asm.wasm"][:4] == b"\x00asm"


# --- HTTP, from the relay's web port -------------------------------------------------------------


def parse_response(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("iso-8859-1").split("\r\n")
    headers = {}
    for line in lines:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


async def http(port: int, method: str, target: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), TIMEOUT)
    fields = {"Host": f"127.0.0.1:{port}"} | {k.replace("_", "-"): v for k, v in headers.items()}
    request = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    writer.write(request.encode("ascii"))
    data = await asyncio.wait_for(reader.read(), TIMEOUT)
    writer.close()
    return parse_response(data)


def test_the_relay_serves_every_file_of_the_bundle_as_the_manifest_says(bundle: Bundle) -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0, web_port=0, site=bundle.site()))
        port = server.web_port or 0
        try:
            status, headers, body = await http(port, "GET", "/bundle.json")
            assert status == 200 and headers["content-type"] == "application/json"
            manifest = json.loads(body)
            for path, digest in manifest["files"].items():
                status, headers, body = await http(port, "GET", path)
                assert status == 200, path
                assert hashlib.sha256(body).hexdigest() == digest, path
                assert headers["content-length"] == str(len(body))
                assert headers["cache-control"] == "no-cache"
                assert headers["x-content-type-options"] == "nosniff"
                assert headers["content-type"] == content_type(path)
            status, headers, body = await http(port, "GET", "/")
            assert (status, body) == (200, PAGE)
            assert headers["content-type"] == "text/html; charset=utf-8"
            csp = headers["content-security-policy"]
            assert "script-src 'self' 'wasm-unsafe-eval'" in csp and "default-src 'none'" in csp
            assert f"connect-src 'self' ws://127.0.0.1:{port};" in csp
            assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
        finally:
            await server.close()

    run(scenario)


def test_content_types_gzip_etags_and_refusals(bundle: Bundle) -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0, web_port=0, site=bundle.site()))
        port = server.web_port or 0
        wasm = RUNTIME["pyodide.asm.wasm"]
        try:
            status, headers, body = await http(
                port, "GET", "/pyodide/pyodide.asm.wasm", Accept_Encoding="gzip"
            )
            assert (status, headers["content-type"], headers["content-encoding"]) == (
                200,
                "application/wasm",
                "gzip",
            )
            assert gzip.decompress(body) == wasm and len(body) < len(wasm)
            status, headers, body = await http(port, "GET", "/pyodide/pyodide.asm.wasm")
            assert "content-encoding" not in headers and body == wasm
            status, headers, _ = await http(port, "GET", "/pyodide/pyodide.mjs", Accept_Encoding="gzip;q=0")
            assert "content-encoding" not in headers
            assert headers["content-type"] == "text/javascript; charset=utf-8"
            status, headers, body = await http(port, "HEAD", "/pyodide/pyodide.asm.wasm")
            assert (status, body, headers["content-length"]) == (200, b"", str(len(wasm)))
            etag = headers["etag"]
            status, _, body = await http(port, "GET", "/pyodide/pyodide.asm.wasm", If_None_Match=etag)
            assert (status, body) == (304, b"")
            for target in (
                "/static/../pyodide/pyodide.mjs",
                "/static/%2e%2e/pyodide/pyodide.mjs",
                "/../../etc/passwd",
                "/static",
                "/static/",
                "/pyodide/",
                "/ws2",
                "//etc/passwd",
                "/static/index.html/",
            ):
                status, headers, _ = await http(port, "GET", target)
                assert status == 404, target
                assert headers["x-content-type-options"] == "nosniff"
            status, headers, _ = await http(port, "POST", "/static/index.html", Content_Length="0")
            assert (status, headers["allow"]) == (405, "GET, HEAD")
            status, _, body = await http(port, "GET", "/static/index.html?v=2#top")
            assert (status, body) == (200, PAGE)
            assert server.internal_errors == 0
        finally:
            await server.close()

    run(scenario)


def test_a_download_larger_than_the_transport_buffer_arrives_whole() -> None:
    big = os.urandom(3 * 1024 * 1024)
    site = StaticSite({"/static/index.html": PAGE, "/pyodide/big.wasm": big})

    async def scenario() -> None:
        server = await serve(ServerConfig(port=0, web_port=0, site=site))
        try:
            status, headers, body = await http(server.web_port or 0, "GET", "/pyodide/big.wasm")
            assert (status, len(body)) == (200, len(big)) and body == big
            assert "content-encoding" not in headers  # random bytes: gzip is not worth it
            assert not server.peers or all(p.closed for p in server.peers)
        finally:
            await server.close()

    run(scenario)


def test_a_relay_without_a_site_serves_websocket_only() -> None:
    async def scenario() -> None:
        server = await serve(ServerConfig(port=0, web_port=0))
        try:
            status, _, body = await http(server.web_port or 0, "GET", "/")
            assert (status, body) == (404, b"this relay serves no web client\n")
        finally:
            await server.close()

    run(scenario)


@pytest.mark.parametrize(
    ("header", "gzip_ok"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("br, x-gzip", True),
        ("identity", False),
        ("gzipped", False),
    ],
)
def test_accept_encoding(header: str | None, gzip_ok: bool) -> None:
    assert accepts_gzip(header) is gzip_ok


def test_a_local_copy_may_connect_to_any_relay() -> None:
    site = StaticSite({"/static/index.html": PAGE}, ConnectPolicy.ANY)
    reply = site.respond("GET", "/", lambda name: "127.0.0.1:5000" if name == "Host" else None)
    csp = dict(reply.headers)["Content-Security-Policy"]
    assert "connect-src 'self' ws: wss:;" in csp
    odd = StaticSite({"/static/index.html": PAGE}).respond("GET", "/", lambda name: "x; script-src *")
    assert "connect-src 'self';" in dict(odd.headers)["Content-Security-Policy"]

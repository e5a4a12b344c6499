"""What the page keeps in localStorage (chat.web.storage), and the identity file it shares with the
terminal client, in CPython with a fake localStorage."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from chat.client.store import StoreError, config_root, default_identity_dir, known_peers
from chat.e2e.identity import ELGAMAL_FILE, PUBLIC_FILE, RSA_FILE, Identity
from chat.e2e.trust import TrustState
from chat.web.storage import PREFIX, BrowserStore, export_identity, identity_dir, import_identity
from tests.chat_support import identity
from tests.web_support import FakeStorage


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_and_trust_survive_a_new_in_memory_file_system(tmp_path: Path) -> None:
    storage = FakeStorage()
    first = config_root(tmp_path / "tab1")
    identity("alice").save(default_identity_dir("alice", tmp_path / "tab1"))
    peers = known_peers("alice", "relay.example", 8080, tmp_path / "tab1")
    assert peers.check("bob", identity("bob").fingerprint) is TrustState.NEW
    changed = BrowserStore(first, storage).persist()
    assert changed == 4  # three identity files and the known-peers file
    assert not any(key.endswith(".lock") for key in storage.items)

    second = config_root(tmp_path / "tab2")  # the page reloaded: an empty file system
    assert BrowserStore(second, storage).restore() == 4
    again = Identity.load(default_identity_dir("alice", tmp_path / "tab2"))  # the terminal's checks
    assert again.fingerprint == identity("alice").fingerprint
    assert _mode(default_identity_dir("alice", tmp_path / "tab2") / RSA_FILE) == 0o600
    peers_again = known_peers("alice", "relay.example", 8080, tmp_path / "tab2")
    assert peers_again.check("bob", identity("bob").fingerprint) is TrustState.KNOWN
    assert peers_again.check("bob", identity("carol").fingerprint) is TrustState.CHANGED
    assert BrowserStore(second, storage).persist() == 0  # nothing changed since


def test_a_file_deleted_is_forgotten_and_a_foreign_key_is_left_alone(tmp_path: Path) -> None:
    storage = FakeStorage()
    storage.setItem("theme", "dark")
    storage.setItem(PREFIX + "../escape.txt", "x")
    assert BrowserStore(config_root(tmp_path / "first"), storage).restore() == 0
    assert not (tmp_path / "escape.txt").exists()  # a key no store of ours wrote goes nowhere
    root = config_root(tmp_path)
    identity("alice").save(default_identity_dir("alice", tmp_path))
    store = BrowserStore(root, storage)
    assert store.persist() == 4  # three files stored, the stray key dropped
    (default_identity_dir("alice", tmp_path) / PUBLIC_FILE).unlink()
    assert store.persist() == 1
    assert storage.getItem("theme") == "dark"
    assert sorted(key.rsplit("/", 1)[-1] for key in storage.items if key.startswith(PREFIX)) == [
        ELGAMAL_FILE,
        RSA_FILE,
    ]


def test_an_exported_identity_unzips_to_a_directory_the_terminal_client_loads(tmp_path: Path) -> None:
    root = config_root(tmp_path / "browser")
    identity("alice").save(identity_dir("alice", root))
    data = export_identity("alice", root)
    target = tmp_path / "unzipped"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(archive.namelist())
        for info in archive.infolist():
            archive.extract(info, target)
            mode = info.external_attr >> 16 & 0o777
            if mode:
                (target / info.filename).chmod(mode)  # as unzip restores them
    assert names == ["alice/", f"alice/{ELGAMAL_FILE}", f"alice/{PUBLIC_FILE}", f"alice/{RSA_FILE}"]
    assert _mode(target / "alice" / RSA_FILE) == 0o600
    assert Identity.load(target / "alice").fingerprint == identity("alice").fingerprint


def test_export_then_import_in_another_browser_keeps_the_fingerprint(tmp_path: Path) -> None:
    first, second = config_root(tmp_path / "one"), config_root(tmp_path / "two")
    identity("alice").save(identity_dir("alice", first))
    identity("bob").save(identity_dir("alice", second))  # the other browser had other keys
    imported = import_identity("alice", second, export_identity("alice", first))
    assert imported.fingerprint == identity("alice").fingerprint
    assert Identity.load(identity_dir("alice", second)).fingerprint == identity("alice").fingerprint


def test_a_tarball_of_a_terminal_identity_folder_imports(tmp_path: Path) -> None:
    folder = identity("carol").save(tmp_path / "home" / "identities" / "carol")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(folder, arcname="carol")
    root = config_root(tmp_path / "browser")
    assert import_identity("carol", root, buffer.getvalue()).fingerprint == identity("carol").fingerprint


BROKEN_PEM = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_what_is_not_an_identity_file_is_refused_in_one_line_and_replaces_nothing(tmp_path: Path) -> None:
    root = config_root(tmp_path)
    identity("alice").save(identity_dir("alice", root))
    folder = identity("bob").save(tmp_path / "bob")
    bob = {name: (folder / name).read_bytes() for name in (PUBLIC_FILE, RSA_FILE, ELGAMAL_FILE)}
    alice_public = (identity_dir("alice", root) / PUBLIC_FILE).read_bytes()
    cases = {
        b"not an archive at all": "not an identity file: expected a zip of an identity directory",
        _zip({RSA_FILE: bob[RSA_FILE]}): f"not an identity file: {ELGAMAL_FILE} missing",
        _zip({**bob, PUBLIC_FILE: alice_public}): f"{PUBLIC_FILE} does not match the private keys beside it",
        _zip(
            {**bob, RSA_FILE: b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}
        ): "not usable",
    }
    for data, message in cases.items():
        with pytest.raises(StoreError) as refused:
            import_identity("alice", root, data)
        assert message in str(refused.value)
        assert "\n" not in str(refused.value) and str(tmp_path) not in str(refused.value)
    assert Identity.load(identity_dir("alice", root)).fingerprint == identity("alice").fingerprint
    with pytest.raises(StoreError, match="more than"):
        import_identity("alice", root, b"x" * (64 * 1024 + 1))

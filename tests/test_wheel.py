"""It installs like a package: the wheel, installed in a fresh virtual environment, gives working
``cipherchat`` and ``ciphers`` commands and the vectors the notebooks read, with no checkout in sight.

Fast and offline: the wheel is built from a copy of the project's files (nothing is written into the
checkout) with this environment's setuptools (``pip wheel --no-deps --no-build-isolation``) and
installed with ``--no-deps``; the new environment finds the dependencies in this one's
site-packages through a ``.pth`` line, which does not run the editable-install hook kept there, so
what runs is the wheel's copy. Every command runs in a directory outside the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["pyproject.toml", "README.md", "ciphers", "chat"]  # what a wheel is built from
TIMEOUT = 120


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``pip wheel .`` builds from the project's files."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    pip(sys.executable, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(dist), str(source))
    (built,) = dist.glob("cipherchat-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed, its dependencies borrowed from this one."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=TIMEOUT)
    python = root / "bin" / "python"
    pip(sys.executable, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel))
    # After the install, so that pip saw an empty environment there.
    site = command(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    Path(site, "cipherchat-test-dependencies.pth").write_text("".join(f"{path}\n" for path in ours))
    return root


def pip(python: str, *args: str) -> None:
    subprocess.run(
        [python, "-m", "pip", "--quiet", "--disable-pip-version-check", *args],
        check=True,
        timeout=TIMEOUT,
        env=environment(),
    )


def environment() -> dict[str, str]:
    """This process's environment without anything that could put the checkout on the path."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}


def command(program: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run an installed program from a directory outside the checkout; it must succeed."""
    outside = program.parent.parent
    assert not outside.is_relative_to(ROOT)
    done = subprocess.run(
        [str(program), *args],
        cwd=outside,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_the_wheel_holds_the_console_scripts_and_the_vectors(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = archive.read(entry_points).decode()
    assert "cipherchat = chat.cli:main" in scripts and "ciphers = ciphers.cli:main" in scripts
    shipped = {p.name for p in (ROOT / "ciphers" / "vectors").iterdir() if p.suffix != ".py" and p.is_file()}
    assert shipped and {f"ciphers/vectors/{name}" for name in shipped} <= names
    assert not [n for n in names if n.startswith("tests/")]


def test_cipherchat_help_runs_from_the_installed_copy(venv: Path) -> None:
    out = command(venv / "bin" / "cipherchat", "--help").stdout
    assert out.startswith("usage: cipherchat ")
    assert all(sub in out for sub in ("server", "client", "ca"))


def test_ciphers_des_trace_runs_from_the_installed_copy(venv: Path) -> None:
    """The textbook example (Stinson, Grabbe): key 133457799bbcdff1, block 0123456789abcdef."""
    args = ("des", "trace", "--key", "133457799bbcdff1", "--block", "0123456789abcdef", "--json")
    trace = json.loads(command(venv / "bin" / "ciphers", *args).stdout)
    assert trace["output"] == "85e813540f0ab405"
    assert len(trace["rounds"]) == 16


IMPORTS = """
import importlib.util, json
import chat, ciphers
from ciphers.vectors import vector_file
from ciphers.vectors.loader import load_hex_blocks, load_json
print(json.dumps({
    "packages": [chat.__file__, ciphers.__file__, str(vector_file("grabbe_des_illustrated.json"))],
    "grabbe": load_json(vector_file("grabbe_des_illustrated.json"))["ciphertext"],
    "oaep_blocks": len(load_hex_blocks(vector_file("oaep-int.txt"))),
    "tests_importable": importlib.util.find_spec("tests") is not None,
}))
"""


def test_the_vectors_import_from_the_installed_copy(venv: Path) -> None:
    """What the notebooks import comes from the installed copy, and the checkout's tests are not there."""
    found = json.loads(command(venv / "bin" / "python", "-c", IMPORTS).stdout)
    assert all(Path(path).is_relative_to(venv) for path in found["packages"]), found["packages"]
    assert found["grabbe"] == "85e813540f0ab405"  # Grabbe's printed answer, read from the installed file
    assert found["oaep_blocks"] > 0
    assert not found["tests_importable"]

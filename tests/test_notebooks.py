"""The teaching notebooks run from top to bottom without an error, and are committed stripped.

Each notebook is executed headless by nbclient in a fresh ``python3`` kernel of this environment,
in an empty working directory outside the checkout: a notebook imports the installed package only
(the vectors it reads ship in :mod:`ciphers.vectors`), so it runs from an installed copy.
Matplotlib uses the inline backend, which needs no display but still renders every figure to PNG,
so a plot that cannot be drawn fails the run like any other error. Every notebook checks its own
claims with ``assert``: a notebook that runs is a notebook that is right.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
EXPECTED = [
    "01_des",
    "02_modes",
    "03_primes",
    "04_rsa",
    "05_elgamal",
    "06_double_des",
    "07_chat_protocol",
    "08_bitslice",
]
TIMEOUT = 60  # seconds for a whole notebook (issue #6: each runs in under 60 s)
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def test_the_issue_notebooks_are_all_there() -> None:
    assert [path.stem for path in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_stripped(path: Path) -> None:
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    assert "widgets" not in notebook.metadata
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in notebook.cells:
        assert "execution" not in cell.metadata  # nbclient's timing record
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {cell.id} has outputs"
            assert cell.execution_count is None, f"cell {cell.id} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_ends_with_exercises_and_their_hidden_solutions(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    headings = [c.source for c in notebook.cells if c.cell_type == "markdown" and "## Exercises" in c.source]
    assert headings, "no Exercises section"
    start = next(i for i, c in enumerate(notebook.cells) if c.source in headings)
    exercises = notebook.cells[start:]
    hidden = [c for c in exercises if c.metadata.get("jupyter", {}).get("source_hidden")]
    checks = [c for c in exercises if c.cell_type == "code" and "teaching.check_exercise(" in c.source]
    assert len(hidden) == len(checks) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_without_error(path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MPLBACKEND", INLINE_BACKEND)
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "1")  # this environment's python3 kernel
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # nothing of the checkout to lean on
        shutdown_kernel="immediate",  # each notebook closes what it opened; no need to wait
    )
    asyncio.run(asyncio.wait_for(client.async_execute(), TIMEOUT))  # a CellExecutionError fails the test
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]

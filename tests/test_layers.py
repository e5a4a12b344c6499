"""The layers of the tree: each package imports only the layers below it, and nothing imports in a cycle.

The rules are data (:data:`ALLOWED`), read beside ``docs/architecture.md``. Imports are read from
the source with :mod:`ast`, including those inside functions, so a lazy import cannot hide a
dependency that points up.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: What each layer may import, besides itself and the standard library and third-party packages.
ALLOWED: dict[str, set[str]] = {
    "ciphers": set(),
    "chat.protocol": {"ciphers"},
    "chat.e2e": {"ciphers", "chat.protocol"},
    "chat.client": {"ciphers", "chat.protocol", "chat.e2e"},
    "chat.relay": {"ciphers", "chat.protocol"},
    "chat.transfer": {"ciphers", "chat.protocol", "chat.e2e", "chat.client"},
    "chat.app": {"ciphers", "chat.protocol", "chat.e2e", "chat.client", "chat.transfer"},
    "chat.ui": {"ciphers", "chat.protocol", "chat.e2e", "chat.client", "chat.transfer", "chat.app"},
    # The browser's page: a third view over the application core, beside the two in chat.ui
    "chat.web": {
        "ciphers",
        "chat.protocol",
        "chat.e2e",
        "chat.client",
        "chat.transfer",
        "chat.app",
        "chat.ui",
    },
    "chat.cli": {
        "ciphers",
        "chat.protocol",
        "chat.e2e",
        "chat.client",
        "chat.transfer",
        "chat.app",
        "chat.ui",
        "chat.web",
        "chat.relay",
    },
    "chat": {"chat.cli"},  # chat/__main__.py
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in ("ciphers", "chat"):
        for path in (ROOT / package).rglob("*.py"):
            found[module_name(path)] = path
    return found


MODULES = project_modules()


def layer_of(module: str) -> str | None:
    """The longest layer name that is ``module`` or a package above it."""
    for layer in sorted(ALLOWED, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    return None


def _typing_only(tree: ast.Module) -> set[int]:
    """The ids of import nodes under ``if TYPE_CHECKING:`` (annotations only, never run)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            found |= {id(inner) for stmt in node.body for inner in ast.walk(stmt)}
    return found


def imports(path: Path, *, typing: bool = True) -> Iterator[str]:
    """The project modules ``path`` imports (absolute names), wherever in the file.

    ``typing=False`` leaves out what is imported under ``if TYPE_CHECKING:`` only.
    """
    tree = ast.parse(path.read_text("utf-8"))
    skipped = set() if typing else _typing_only(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            for alias in node.names:  # ``from package import module`` imports the module
                name = f"{node.module}.{alias.name}"
                yield name if name in MODULES else node.module


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module: str) -> None:
    layer = layer_of(module)
    assert layer is not None, f"{module} belongs to no layer: add it to ALLOWED and docs/architecture.md"
    for target in imports(MODULES[module]):
        target_layer = layer_of(target)
        if target_layer is None or target_layer == layer:
            continue
        assert target_layer in ALLOWED[layer], f"{module} ({layer}) imports {target} ({target_layer})"


def test_no_import_cycles() -> None:
    """At run time; a screen may name its app's type under ``TYPE_CHECKING``."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        # A module's own parent packages are imported before it anyway: not an edge.
        targets = imports(path, typing=False)
        graph[module] = {t for t in targets if t in MODULES and not module.startswith(t + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from chat.ui.text import printable\n")
    assert "chat.ui.text" in set(imports(bad))
    assert layer_of("chat.ui.text") == "chat.ui" and "chat.ui" not in ALLOWED["chat.e2e"]

"""``python -m bench [family ...]``: run the benchmark tables (all families by default)."""

from __future__ import annotations

import importlib
import sys

from rich.console import Console

FAMILIES = ("des", "rsa", "bigint", "elgamal", "chat", "web")


def main(argv: list[str]) -> int:
    """Run each requested family's ``run(console)``; an unknown family is reported before any runs."""
    console = Console()
    wanted = argv or list(FAMILIES)
    unknown = [name for name in wanted if name not in FAMILIES]
    if unknown:
        console.print(f"[red]unknown benchmark family {unknown[0]!r}[/]; choose from {', '.join(FAMILIES)}")
        return 2
    for name in wanted:
        # Imported one at a time: each family loads its own peer libraries.
        importlib.import_module(f"bench.{name}").run(console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

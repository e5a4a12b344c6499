"""``python -m bench [family ...]``: run the benchmark tables (all families by default)."""

from __future__ import annotations

import importlib
import sys

from rich.console import Console

FAMILIES = ("des", "rsa", "elgamal", "chat")


def main(argv: list[str]) -> int:
    """Run each requested family's ``run(console)``; unknown or absent families are reported."""
    console = Console()
    wanted = argv or list(FAMILIES)
    for name in wanted:
        if name not in FAMILIES:
            console.print(f"[red]unknown benchmark family {name!r}[/]; choose from {', '.join(FAMILIES)}")
            return 2
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{name}":
                raise
            if argv:
                console.print(f"[yellow]no benchmark for {name} yet[/]")
            continue
        module.run(console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

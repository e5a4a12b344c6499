"""What the command-line tests share: an exit status whatever way a command ends, one error line."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def exit_status(main: Callable[[Sequence[str]], int], argv: list[str]) -> int:
    """The exit status of ``main(argv)``, argparse's ``SystemExit`` included."""
    try:
        return main(argv)
    except SystemExit as exc:
        assert isinstance(exc.code, int)
        return exc.code


def one_line(err: str) -> str:
    """The single line of ``err``; fails if there are more, or a traceback."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]

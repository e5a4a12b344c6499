"""What the command-line tests share: a command line run in this process, one error line."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import chat.cli
import ciphers.cli

#: The console scripts ``pyproject.toml`` installs and the function each runs.
PROGRAMS: dict[str, Callable[[Sequence[str], str], int]] = {
    "ciphers": ciphers.cli.main,
    "cipherchat": chat.cli.main,
}
#: The sub-commands of ``cipherchat`` (:mod:`chat.cli`); ``ciphers`` has none of these names.
CIPHERCHAT_COMMANDS = ("server", "client", "ca")


def run(argv: list[str]) -> int:
    """The exit status of a command line run in this process, argparse's ``SystemExit`` included.

    The sub-command names the program: ``run(["ca", "init", ...])`` is ``cipherchat ca init ...``,
    ``run(["rsa", "keygen", ...])`` is ``ciphers rsa keygen ...``; each is named as its console script.
    """
    program = "cipherchat" if argv[:1] and argv[0] in CIPHERCHAT_COMMANDS else "ciphers"
    try:
        return PROGRAMS[program](argv, program)
    except SystemExit as exc:
        assert isinstance(exc.code, int)
        return exc.code


def one_line(err: str) -> str:
    """The single line of ``err``; fails if there are more, or a traceback."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]

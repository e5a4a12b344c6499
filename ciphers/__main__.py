"""``python -m ciphers``: the command line (:mod:`ciphers.cli`), also installed as ``ciphers``."""

from ciphers.cli import main

raise SystemExit(main(prog="python -m ciphers"))

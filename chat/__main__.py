"""``python -m chat``: the chat's command line (:mod:`chat.cli`), also installed as ``cipherchat``."""

from chat.cli import main

if __name__ == "__main__":
    raise SystemExit(main(prog="python -m chat"))

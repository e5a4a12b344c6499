"""``python -m chat``: the chat's command line (:mod:`chat.cli`)."""

from chat.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

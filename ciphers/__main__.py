"""``python -m ciphers``: the command line."""

from ciphers.cli import main

raise SystemExit(main())

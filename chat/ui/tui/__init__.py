"""The Textual chat client: ``python -m chat client`` on a terminal (``make chat-client``).

:func:`run` is what :mod:`chat.cli.client` calls when stdin is a terminal and neither ``--plain``
nor ``--json`` was given. Files given on the command line (``--ca``, ``--cert``) are read before
the screen opens (:func:`chat.ui.options.load_files`), so a bad one is one line on stderr, as in
every other command.
"""

from __future__ import annotations

import argparse
import sys

from chat.ui.options import ClientOptions, load_files
from chat.ui.text import printable


def run(args: argparse.Namespace) -> int:
    """Run the Textual client until the user quits; the exit status."""
    from chat.ui.tui.app import ChatApp  # Textual is imported only when the client starts

    options = ClientOptions.from_args(args)
    ca, certificate = load_files(options)
    app = ChatApp(options, ca=ca, certificate=certificate)
    result = app.run()
    for text in app.unsent_on_exit:  # nothing typed is lost silently, even on the way out
        sys.stderr.write(f"! not sent: {printable(text)}\n")
    for line in app.internal_errors[:1] if app.return_code else ():
        sys.stderr.write(f"error: {line}\n")
    return app.return_code or (result or 0)

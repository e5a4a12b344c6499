"""``make web-assets``: fetch the pinned Pyodide runtime and check it (see chat/cli/web_assets.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat.cli.web_assets import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

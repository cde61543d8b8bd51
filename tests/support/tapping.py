"""A kiosk process tapping new cards until told to stop, for tests that work beside it.

    python -m tests.support.tapping CONFIG.toml STOP_FILE

Prints `ready` once its first tap is committed, then taps a new card after another
(each tap a real Counter.tap with its commit) until STOP_FILE exists, then exits.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kiosk import config as config_module
from kiosk.service import Counter


def main(config_path: str, stop: Path) -> int:
    counter = Counter.open(config_module.load(config_path))
    try:
        card = 0
        while card == 0 or not stop.exists():
            card += 1
            counter.tap(bytes([0x04]) + card.to_bytes(6, "big"))
            if card == 1:
                print("ready", flush=True)
    finally:
        counter.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))

"""A kiosk process that taps and syncs for ever, for the crash tests to SIGKILL.

    python -m tests.support.kiosk_loop CONFIG.toml ACK_FILE SEED

Each tap goes through the real Counter (committed before it returns); the ids of its
events are then appended to ACK_FILE, one per line: those are the stamps a customer
saw, which must never be lost. After every few taps the real SyncWorker runs one round.
"""

from __future__ import annotations

import random
import sys
import uuid
from pathlib import Path

from kiosk import config as config_module
from kiosk.adapters.sync import SyncWorker
from kiosk.errors import KioskError
from kiosk.service import Counter

CARDS = 6


def main(argv: list[str]) -> int:
    config_path, ack_path, seed = argv[0], Path(argv[1]), int(argv[2])
    rng = random.Random(seed)
    config = config_module.load(config_path)
    made: list[str] = []

    def new_id() -> str:
        made.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        return made[-1]

    counter = Counter.open(config, new_id=new_id)
    worker = SyncWorker(config.central, config.kiosk.ledger_path, counter.program.tz)
    print("started", flush=True)
    with ack_path.open("a", encoding="utf-8") as acks:
        while True:
            for _ in range(rng.randint(1, 4)):
                made.clear()
                try:
                    counter.tap(bytes([0x04]) + rng.randrange(CARDS).to_bytes(6, "big"))
                except KioskError as error:
                    print(f"tap failed: {error}", file=sys.stderr, flush=True)
                    continue
                # written only after the commit: an acked id is one the customer saw
                acks.write("".join(f"{event_id}\n" for event_id in made))
                acks.flush()
            worker.sync_once()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

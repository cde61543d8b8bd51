"""A kiosk process that taps and syncs for ever, for the crash tests to SIGKILL.

    python -m tests.support.kiosk_loop CONFIG.toml ACK_FILE

The process imports everything and loads the config once, prints `ready`, then obeys
commands on stdin, one per line:

- `spawn SEED`: fork a kiosk (answers its pid). The kiosk opens the ledger like a
  restarted daemon, then taps through the real Counter and syncs with the real
  SyncWorker until it is killed;
- `kill`: SIGKILL that kiosk and reap it (answers `killed`).

Forking from a ready parent makes a restart cost milliseconds instead of a second of
imports, so the suite can afford dozens of kills. The parent has one thread, so the
fork is safe. The ids of each tap's events are appended to ACK_FILE after the tap
returns (after its commit): those are stamps a customer saw and must never be lost.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import uuid
from pathlib import Path
from typing import NoReturn

from kiosk import config as config_module
from kiosk.adapters.sync import SyncWorker
from kiosk.config import Config
from kiosk.errors import KioskError
from kiosk.service import Counter

CARDS = 6


def run_kiosk(config: Config, ack_path: Path, seed: int) -> NoReturn:
    """Tap and sync until killed."""
    rng = random.Random(seed)
    made: list[str] = []

    def new_id() -> str:
        made.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        return made[-1]

    counter = Counter.open(config, new_id=new_id)
    worker = SyncWorker(config.central, config.kiosk.ledger_path, counter.program.tz)
    with ack_path.open("a", encoding="utf-8") as acks:
        while True:
            for _ in range(rng.randint(1, 4)):
                made.clear()
                try:
                    counter.tap(bytes([0x04]) + rng.randrange(CARDS).to_bytes(6, "big"))
                except KioskError as error:
                    print(f"tap failed: {error}", file=sys.stderr, flush=True)
                    continue
                acks.write("".join(f"{event_id}\n" for event_id in made))
                acks.flush()
            worker.sync_once()


def main(argv: list[str]) -> int:
    config = config_module.load(argv[0])
    ack_path = Path(argv[1])
    child = 0
    print("ready", flush=True)
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "spawn":
            child = os.fork()
            if child == 0:
                try:
                    run_kiosk(config, ack_path, int(arg))
                finally:
                    os._exit(1)
            print(child, flush=True)
        elif command == "kill" and child:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            child = 0
            print("killed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

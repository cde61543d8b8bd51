"""The long signal run: `make soak-signals PROCESSES=20` (python -m tests.soak_signals --processes 20).

`kiosk run` processes one after the other over the simulator, each sent `--hups`
SIGHUPs in bursts at random moments, then one SIGTERM at a random moment. Prints one JSON
line (signals sent, stop time p50 and max, late stops, exit codes); exits 1 when a
process hung, exited non-zero or took a second or more to stop.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path

from tests.support.signals import storm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak_signals", description=__doc__)
    parser.add_argument("--processes", type=int, default=20)
    parser.add_argument("--hups", type=int, default=500, help="SIGHUPs sent to each process")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    seed = random.randrange(1 << 30) if args.seed is None else args.seed
    scratch = Path(tempfile.mkdtemp(prefix="kiosk-signals-"))
    try:
        report = storm(scratch, args.processes, args.hups, seed)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps({"seed": seed, **report.as_dict()}), flush=True)
    for words in report.hung:
        print(words, file=sys.stderr)
    ok = not report.hung and report.exit_codes == {0} and not report.late_stops
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

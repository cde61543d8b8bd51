"""The long crash run: `make soak N=1000` (python -m tests.soak --kills N).

A kiosk process taps and syncs to a `kiosk-central serve` process; both are SIGKILLed at
random points (the kiosk every round, the server in about a third of them, while the
kiosk may be uploading). After the last kill the server is restarted, the outbox drained
and the three records compared: ids the kiosk acknowledged, its ledger, the server's
table. Prints one JSON line; exits 1 when anything was lost or duplicated.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from central.serving import listening_socket
from central.testing import add_kiosk
from tests.support.crash import (
    KioskSpawner,
    ServerProcess,
    check,
    drain,
    kiosk_kill_loop,
    load_config,
    write_kiosk_toml,
)

KIOSK_ID = "kiosk-soak"


def _free_port() -> int:
    with listening_socket() as sock:
        return int(sock.getsockname()[1])


def soak(root: Path, kills: int, seed: int, server_kill_chance: float, max_delay: float) -> dict[str, object]:
    rng = random.Random(seed)
    server = ServerProcess(root / "central.sqlite3", _free_port())
    token_file = root / "kiosk.token"
    token_file.write_text(add_kiosk(str(server.db), KIOSK_ID) + "\n", encoding="utf-8")
    config_file = write_kiosk_toml(root / "kiosk.toml", root / "state", server.url, token_file, KIOSK_ID)
    ack_file = root / "acked.txt"
    started = time.monotonic()
    server.start()
    kiosks = KioskSpawner(config_file, ack_file)
    try:
        kiosk_kills = server_kills = 0
        while kiosk_kills + server_kills < kills:
            k, s = kiosk_kill_loop(kiosks, 1, rng, max_delay, server, server_kill_chance)
            kiosk_kills, server_kills = kiosk_kills + k, server_kills + s
            made = kiosk_kills + server_kills
            if made // 50 != (made - k - s) // 50:
                print(f"soak: {made}/{kills} kills", file=sys.stderr, flush=True)
        server.kill()  # one last kill of the server, wherever it was
        server_kills += 1
        server.start()
        config = load_config(config_file)
        drain(config)
        verdict = check(config, ack_file, server.db, kiosk_kills + server_kills)
    finally:
        kiosks.close()
        server.kill()
    return {
        "kills_survived": verdict.kills,
        "kiosk_kills": kiosk_kills,
        "server_kills": server_kills,
        "events_checked": verdict.events_checked,
        "acknowledged": verdict.acked,
        "lost": verdict.lost,
        "duplicated": verdict.duplicated,
        "phantom": verdict.phantom,
        "cache_mismatches": verdict.cache_mismatches,
        "kiosk_integrity": verdict.kiosk_integrity,
        "server_integrity": verdict.server_integrity,
        "seconds": round(time.monotonic() - started, 1),
        "seed": seed,
        "ok": verdict.ok,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__)
    parser.add_argument("--kills", type=int, default=1000, help="kills to survive (kiosk and server)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--server-kill-chance", type=float, default=0.33)
    parser.add_argument("--max-delay", type=float, default=0.4,
                        help="seconds: a kill lands at a random time up to this after start")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    scratch = tempfile.mkdtemp(prefix="kiosk-soak-")
    result = soak(Path(scratch), args.kills, seed, args.server_kill_chance, args.max_delay)
    if args.keep:
        result["dir"] = scratch
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

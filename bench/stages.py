"""Where a tap's instructions go: each stage of the kiosk's tap alone, under callgrind.

    python -m bench.stages [--calls 28] [--stage decide_and_commit ...] [--keep DIR]

`kiosk run`'s figure (bench.daemon.instructions) is one number for every thread. Here each
stage runs alone in a child under callgrind, as bench.floor runs the floor: the shipped
code on a real ledger file (WAL, synchronous=FULL, fsync), fonts and luma.oled's SSD1306
driver to a bus that only counts bytes (bench.floor's).

- decide_and_commit: `StaffSession.tap` -> `Counter.tap`: the card's HMAC, the staff
  check, the rules, one SQLite transaction (the event row, the card's state);
- outcome_screen: `Display.render_outcome` (the render thread's work: the screen's
  marks placed as the panel's lanes, the frame's bytes);
- frames: `Display.show_outcome` with that frame made (compared with the panel, the
  changed pages sliced, sent through luma), then the display's tick back to the idle
  screen (kept as a frame: compared, sent);
- outcome_frame: `Display.show_outcome` alone, from one outcome's screen to the next
  (the idle frame is `frames` minus this);
- led_pattern: `Lights.react` to a stamp and the pattern played to its end (the green
  LED's two blinks on its own thread, gpiozero's MockFactory pins as in `kiosk run`
  over the simulator; durations scaled down, the same steps).

Not here: nfcpy's part (the reader thread's round that finds the card); bench/README.md
gives it from a callgrind run with one dump per thread.

Seven cards in turn, as in bench.daemon; the first 14 taps warm the caches.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.daemon import _callgrind_total as callgrind_total

STAGES = ("decide_and_commit", "outcome_screen", "frames", "outcome_frame", "led_pattern")
# the LED pattern's durations scaled down (a stamp's 0.8 s in 8 ms): the same steps
LED_SPEED = 0.01


def serve(stage: str) -> int:
    """The child: set the kiosk's parts up, then run `stage` N times per ``go N``."""
    from bench.floor import CountingBus
    from kiosk.adapters.display import Display
    from kiosk.adapters.lights import Lights, make_pin_factory
    from kiosk.config import from_mapping
    from kiosk.service import Counter
    from kiosk.session import StaffSession

    with tempfile.TemporaryDirectory(prefix="stages-") as tmp:
        config = from_mapping({
            "kiosk": {"state_dir": tmp, "locale": "en"},
            "program": {"name": "Bench Café", "cooldown_minutes": 0},
            "display": {"driver": "virtual", "shift_every_seconds": 0, "outcome_seconds": 0.5},
        })
        counter, session = Counter.open(config), StaffSession()
        display = Display.from_config(config.display, "en", "Bench Café", bus=CountingBus())
        assert isinstance(display, Display)
        uids = [bytes([4, n, 2, 3, 4, 5, 6]) for n in range(7)]
        outcomes = [session.tap(counter, uids[n % 7], 10.0 + 100 * n) for n in range(14)]
        screens = [display.render_outcome(outcome) for outcome in outcomes]
        clock = [1000.0]
        lights = (Lights.from_config(config.lights, make_pin_factory("mock"), speed=LED_SPEED)
                  if stage == "led_pattern" else None)

        def run(n: int) -> None:
            outcome, screen = outcomes[n % 14], screens[n % 14]
            clock[0] += 100.0
            now = clock[0]
            if stage == "decide_and_commit":
                session.tap(counter, uids[n % 7], now)
            elif stage == "outcome_screen":
                display.render_outcome(outcome)
            elif stage == "outcome_frame":  # a welcome, then a stamp: two different screens
                display.show_outcome(outcomes[n % 2 * 7], now, image=screens[n % 2 * 7])
            elif lights is not None:  # a stamp's pattern, played to its end
                lights.react(outcomes[7 + n % 7])
                if not lights.wait(10.0):
                    raise RuntimeError("the LED pattern did not finish")
            else:
                display.show_outcome(outcome, now, image=screen)
                display.tick(now + 1.0)

        for n in range(14):
            run(n)
        # a full collection before the window (callgrind is switched on after "ready"), so
        # that no automatic one falls inside it: it walks every object of the process
        # (~40 M instructions here), which a kiosk pays once in many thousand taps, but
        # 28 calls would count whole whenever the allocations happened to trigger it
        gc.collect()
        print("ready", flush=True)
        for command in sys.stdin:
            words = command.split()
            if words[:1] != ["go"]:
                break
            for n in range(int(words[1])):
                run(n)
            print("done", flush=True)
        if lights is not None:
            lights.close()
        counter.close()
    return 0


def measure(stage: str, calls: int, keep: Path | None = None) -> float:
    """Million instructions per call of `stage`; `keep`: a directory to copy the callgrind
    dumps into (for `callgrind_annotate --inclusive=yes`)."""
    control = shutil.which("callgrind_control") or "callgrind_control"
    with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
        child = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--dump-instr=no",
             f"--callgrind-out-file={tmp}/callgrind.out.%p", sys.executable, "-m", "bench.stages",
             "--serve", stage],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert child.stdin is not None and child.stdout is not None

        def say(line: str) -> None:
            assert child.stdin is not None
            child.stdin.write(line + "\n")
            child.stdin.flush()

        def instrument(on: bool) -> None:
            subprocess.run([control, "-i", "on" if on else "off", str(child.pid)],
                           check=True, capture_output=True)

        try:
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError(f"the {stage} stage did not start under valgrind")
            instrument(True)
            say(f"go {calls}")
            if child.stdout.readline().strip() != "done":
                raise RuntimeError(f"the {stage} stage stopped")
            subprocess.run([control, "-d", stage, str(child.pid)], check=True, capture_output=True)
            dumps = sorted(Path(tmp).glob("callgrind.out.*.*"))
            if not dumps:
                raise RuntimeError("callgrind wrote no dump")
            total = sum(callgrind_total(dump) for dump in dumps)
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                for dump in dumps:
                    shutil.copy(dump, keep / f"{dump.name}.{stage}")
        finally:
            say("quit")
            child.wait(60)
    return total / calls / 1e6


def stages(calls: int, only: tuple[str, ...] = STAGES, keep: Path | None = None) -> dict[str, Any]:
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        return {"skipped": "valgrind (callgrind) is not installed"}
    figures = {stage: round(measure(stage, calls, keep), 3) for stage in only}
    if set(only) != set(STAGES):
        return {"calls": calls, "million_per_call": figures}
    figures["idle_frame"] = round(figures["frames"] - figures["outcome_frame"], 3)
    return {
        "method": "each stage alone in a child under callgrind (instrumentation on around "
                  "its own calls only, every thread), shipped code on a real ledger file, "
                  "luma's ssd1306 to a byte-counting bus",
        "calls": calls,
        "million_per_call": figures,
        "sum": round(sum(figures[stage] for stage in ("decide_and_commit", "outcome_screen",
                                                      "frames", "led_pattern")), 3),
        "after_the_decision": round(sum(figures[stage] for stage in ("outcome_screen", "frames",
                                                                     "led_pattern")), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stages", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=28)
    parser.add_argument("--stage", choices=STAGES, action="append",
                        help="measure this stage only (repeatable; default: all)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="copy each stage's callgrind dump into DIR")
    parser.add_argument("--serve", choices=STAGES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve)
    print(json.dumps(stages(args.calls, tuple(args.stage or STAGES), args.keep), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

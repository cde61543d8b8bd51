"""`kiosk run` as a child process over the simulator: start-up, memory, instructions per tap.

The field lives in this process (a VirtualField on a loopback UDP port), the kiosk in its
child with the shipped daemon entry point, its OLED on the virtual controller (sim.oled,
found through the kiosk.display_buses entry point) and its LEDs on gpiozero's MockFactory.
READY=1 arrives on a real unix datagram socket named by NOTIFY_SOCKET, as from systemd.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.rig import CARD_KINDS, write_config
from bench.sync import central_process
from central.testing import add_kiosk
from kiosk.adapters.ledger import Ledger
from sim.harness import free_port, wait_until
from sim.nfc import VirtualField, make_card
from sim.notify import NotifyListener
from sim.oled import WIRE_ENVIRONMENT
from sim.oled_wire import OledWire

ROOT = Path(__file__).parents[1]
SIM_PNG_NOTE = ("the virtual OLED's PNG of every frame (sim frames_dir, a viewer for people; "
                "no such thing on a Pi) is off; its cost is measured apart in sim_png")


@contextmanager
def kiosk_process(root: Path, field: VirtualField, prefix: Sequence[str] = (),
                  central: str = "", poll_interval: float = 0.01, frames: bool = True,
                  token: str = "bench-token", oled_wire: str = ""
                  ) -> Iterator[tuple[subprocess.Popen[bytes], NotifyListener, float]]:
    """`kiosk run` (under `prefix`, e.g. valgrind) on a fresh state dir; yields the process,
    the notify socket and time.monotonic() just before it was started. `frames`: the
    virtual OLED saves a PNG of every changed frame in root/frames (a viewer for people,
    which a kiosk on a Pi does not have: see SIM_PNG_NOTE). `oled_wire`: the socket of an
    `OledWire` in this process, where the virtual OLED's controller then runs (the kiosk
    only sends it each frame's bytes)."""
    root.mkdir(parents=True, exist_ok=True)
    token_file = root / "token"
    token_file.write_text(token + "\n")
    config = write_config(root / "kiosk.toml", root / "state", field.path,
                          poll_interval=poll_interval, outcome_seconds=0.5,
                          central=central, token_file=str(token_file),
                          frames_dir=str(root / "frames") if frames else "")
    notify = NotifyListener(root / "notify.sock")
    env = {**os.environ, "NOTIFY_SOCKET": str(notify.path), "PYTHONUNBUFFERED": "1"}
    env.pop("KIOSK_CONFIG", None)
    env.pop(WIRE_ENVIRONMENT, None)
    if oled_wire:
        env[WIRE_ENVIRONMENT] = oled_wire
    log = (root / "kiosk.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-m", "kiosk.cli", "--config", str(config), "run"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
    )
    try:
        yield proc, notify, started
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        notify.close()
        log.close()


def _unreachable_central() -> str:
    """A loopback URL nobody listens on: the sync worker is built and imported, as on a
    real kiosk, without a server to talk to."""
    return f"http://127.0.0.1:{free_port()}"


def startup(runs: int) -> dict[str, Any]:
    """Figure 5: process start to the idle frame on the bus and to READY=1."""
    ready: list[float] = []
    idle: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp, VirtualField() as field:
        for run in range(runs):
            root = Path(tmp) / f"run-{run}"
            wall0 = time.time()
            with kiosk_process(root, field, central=_unreachable_central()) as (proc, notify, t0):
                at = notify.wait("READY=1", 60)
                if at is None:
                    raise RuntimeError(f"no READY=1; see {root / 'kiosk.log'}")
                ready.append(at - t0)
                first = root / "frames" / "frame-00000.png"
                if wait_until(first.exists, 10):
                    # the PNG is written right after the frame's last byte reached the bus
                    idle.append(first.stat().st_mtime - wall0)

    def spread(values: list[float]) -> dict[str, float]:
        return {"min": round(min(values), 3), "median": round(statistics.median(values), 3),
                "max": round(max(values), 3)}

    worst = max(max(ready), max(idle, default=0.0))
    return {
        "method": "`kiosk run` child with virtual OLED, mock pins, sync worker to an "
                  "unreachable loopback URL; READY=1 on a NOTIFY_SOCKET datagram socket; idle "
                  "frame = mtime of the first PNG the virtual OLED saved",
        "runs": runs,
        "ready_s": spread(ready),
        "idle_frame_s": spread(idle) if idle else None,
        "target_s": 1.5,
        "met": worst <= 1.5,
    }


def _rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ":" in line
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def tap_through(field: VirtualField, kind: str, name: str, timeout: float = 30.0) -> None:
    """One customer: place, wait for anticollision, lift, wait for a full empty poll round
    (the daemon handles a tap on its reader thread before it polls again)."""
    card = field.place(make_card(kind, name=name))
    if not card.identified.wait(timeout):
        raise RuntimeError(f"the kiosk never identified the {kind}")
    field.remove()
    if not field.wait_polls(6, timeout):
        raise RuntimeError("the kiosk stopped polling")


def memory(taps: int, samples: int = 10) -> dict[str, Any]:
    """Figure 4: RSS of `kiosk run` sampled along `taps` mixed taps; peak at the end. The
    kiosk is configured as in a shop: its sync worker sends every stamp to a real
    `kiosk-central serve` on loopback at the shipped interval while the taps go on."""
    points: list[dict[str, int]] = []
    every = max(1, taps // samples)
    with tempfile.TemporaryDirectory(prefix="bench-rss-") as tmp, \
            central_process(Path(tmp) / "central.sqlite3") as url, \
            VirtualField(quick_lifted=True) as field:
        token = add_kiosk(str(Path(tmp) / "central.sqlite3"), "bench-kiosk")
        with kiosk_process(Path(tmp) / "k", field, frames=False, central=url,
                           token=token) as (proc, notify, _):
            if notify.wait("READY=1", 60) is None:
                raise RuntimeError("the kiosk did not start")
            rss, _hwm = _rss_kib(proc.pid)
            points.append({"taps": 0, "rss_kib": rss})
            for n in range(1, taps + 1):
                kind = CARD_KINDS[n % len(CARD_KINDS)]
                tap_through(field, kind, f"card-{n % max(4, taps // 5)}")
                if n % every == 0:
                    rss, _hwm = _rss_kib(proc.pid)
                    points.append({"taps": n, "rss_kib": rss})
            rss, hwm = _rss_kib(proc.pid)
            if proc.poll() is not None:
                raise RuntimeError("the kiosk died during the run")
        with Ledger.open(Path(tmp) / "k" / "state" / "ledger.sqlite3") as ledger:
            box = ledger.outbox()
    # growth after the first tenth of the run, when caches and lazy imports have settled
    settled = points[1]["rss_kib"] if len(points) > 2 else points[0]["rss_kib"]
    growth_per_1000 = (points[-1]["rss_kib"] - settled) / max(1, taps - points[1]["taps"]) * 1000
    peak_mb = round(hwm / 1024, 1)
    return {
        "method": "VmRSS/VmHWM of a `kiosk run` child from /proc while this process taps mixed "
                  "cards (NTAG213/215, MIFARE Classic, FeliCa) on its virtual field; its sync "
                  "worker talks to a `kiosk-central serve` child at the shipped interval; "
                  + SIM_PNG_NOTE,
        "taps": taps,
        "samples": points,
        "synced_events": box.synced,
        "pending_events_at_stop": box.pending,
        "peak_rss_mb": peak_mb,
        "growth_kib_per_1000_taps_after_first_tenth": round(growth_per_1000, 1),
        "target_mb": 50,
        "met": peak_mb <= 50,
    }


def _callgrind_total(path: Path) -> int:
    """The Ir total of a callgrind dump (its `totals:` or `summary:` line)."""
    text = path.read_text(errors="replace")
    match = re.search(r"^(?:totals|summary):\s*(\d+)", text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no totals in {path}")
    return int(match.group(1))


def _callgrind_window(pid: int, seconds_or_taps: Any, field: VirtualField,
                      out_dir: Path, label: str) -> tuple[int, float]:
    """Instrument the child for one window (taps or idle seconds); (instructions, wall)."""
    control = shutil.which("callgrind_control") or "callgrind_control"
    before = set(out_dir.glob("callgrind.out.*"))
    subprocess.run([control, "-i", "on", str(pid)], check=True, capture_output=True)
    t0 = time.monotonic()
    if isinstance(seconds_or_taps, list):
        for kind, name in seconds_or_taps:
            tap_through(field, kind, name, timeout=120)
    else:
        time.sleep(seconds_or_taps)  # an idle window: nothing to wait for but the clock
    wall = time.monotonic() - t0
    subprocess.run([control, "-d", label, str(pid)], check=True, capture_output=True)
    subprocess.run([control, "-i", "off", str(pid)], check=True, capture_output=True)
    subprocess.run([control, "-z", str(pid)], check=True, capture_output=True)
    dumps = sorted(set(out_dir.glob("callgrind.out.*")) - before)
    if not dumps:
        raise RuntimeError("callgrind wrote no dump")
    # one dump, or one per thread (--separate-threads=yes): the window is their sum
    return sum(_callgrind_total(dump) for dump in dumps), wall


def instructions(taps: int, keep: Path | None = None,
                 separate_threads: bool = False) -> dict[str, Any]:
    """Figure 2: instructions per tap of `kiosk run` under callgrind, minus idle polling.
    The virtual OLED's controller runs in this process (sim.oled_wire), not the kiosk's.
    `keep`: a directory to copy the callgrind dumps into (for callgrind_annotate);
    `separate_threads`: one dump per thread (`--separate-threads=yes`), to tell the reader,
    render, lights, sync and main threads apart."""
    valgrind = shutil.which("valgrind")
    if valgrind is None or shutil.which("callgrind_control") is None:
        return {"skipped": "valgrind (callgrind) is not installed", "met": None}
    with tempfile.TemporaryDirectory(prefix="bench-cg-") as tmp, \
            VirtualField(quick_lifted=True) as field, OledWire(Path(tmp) / "oled") as wire:
        out_dir = Path(tmp) / "cg"
        out_dir.mkdir()
        prefix = [valgrind, "--tool=callgrind", "--instr-atstart=no",
                  f"--callgrind-out-file={out_dir}/callgrind.out.%p",
                  *(["--separate-threads=yes"] if separate_threads else [])]
        with kiosk_process(Path(tmp) / "k", field, prefix=prefix, poll_interval=0.25,
                           frames=False, oled_wire=wire.path) as (proc, notify, _):
            if notify.wait("READY=1", 300) is None:
                raise RuntimeError("the kiosk did not start under valgrind")
            plan = [(CARD_KINDS[i % 4], f"cg-{i % 7}") for i in range(taps + 4)]
            for kind, name in plan[:4]:  # first taps of each kind: lazy imports, caches
                tap_through(field, kind, name, timeout=120)
            frames_before = wire.frames
            tapped, tap_wall = _callgrind_window(proc.pid, plan[4:], field, out_dir, "taps")
            frames = wire.frames - frames_before
            idle, idle_wall = _callgrind_window(proc.pid, min(tap_wall, 20.0), field, out_dir,
                                                "idle")
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                for dump in out_dir.glob("callgrind.out.*"):
                    shutil.copy(dump, keep / dump.name)
    if frames < taps:
        raise RuntimeError(f"{taps} taps put only {frames} frames on the virtual OLED's wire")
    idle_rate = idle / idle_wall
    per_tap = (tapped - idle_rate * tap_wall) / taps
    return {
        "method": "valgrind --tool=callgrind --instr-atstart=no on `kiosk run` (shipped "
                  "poll_interval 0.25 s); callgrind_control -i on/off around N taps, then "
                  "around an idle window; per tap = (taps window - idle rate x its wall "
                  "time) / N. All threads of the kiosk process; the virtual OLED's "
                  "controller decodes the frames in the measuring process (sim.oled_wire: "
                  "the kiosk's bus appends luma's blocks and sends one datagram per frame); "
                  + SIM_PNG_NOTE,
        "sim_png": sim_png_cost(),
        "taps": taps,
        "frames_on_the_wire": frames,
        "instructions_window": tapped,
        "window_s_under_valgrind": round(tap_wall, 1),
        "idle_instructions_per_s_under_valgrind": round(idle_rate),
        "instructions_per_tap": round(per_tap),
        "million_per_tap": round(per_tap / 1e6, 2),
        "target_million": 15,
        "met": per_tap <= 15e6,
    }


def sim_png_cost(frames: int = 40) -> dict[str, Any]:
    """CPU of the virtual OLED saving a PNG at each changed frame (its frames_dir viewer),
    measured apart: the kiosk figures run without it, a Pi has no such thing."""
    from luma.core.interface.serial import i2c
    from luma.oled.device import ssd1306

    from kiosk.core.screens import Screens
    from kiosk.core.status import KioskStatus
    from kiosk.fonts import load
    from sim.oled import VirtualOled

    screens = Screens(load(), (128, 64), "en", "Bench Café")
    pictures = [screens.idle(KioskStatus()), screens.reader_offline()]
    with tempfile.TemporaryDirectory(prefix="bench-png-") as tmp:
        bus = VirtualOled(frames_dir=tmp)
        device = ssd1306(i2c(bus=bus, address=0x3C))
        spent = 0
        for n in range(frames):
            device.display(pictures[n % 2])
            start = time.thread_time_ns()
            bus.end_frame()
            spent += time.thread_time_ns() - start
    return {"cpu_us_per_frame": round(spent / frames / 1000, 1), "frames_per_tap": 2,
            "method": "thread CPU time of sim.oled VirtualOled.end_frame with frames_dir set "
                      "(scaled view and PNG file per changed frame), in this process"}

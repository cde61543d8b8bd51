"""`python -m bench --quick` produces every figure with numbers; the sim probes it uses work.

No timing is asserted anywhere: speed lives in the bench's JSON, not in tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gpiozero import LED
from luma.core.interface.serial import i2c
from luma.oled.device import ssd1306
from PIL import Image

from sim.nfc import VirtualField
from sim.oled import VirtualOled
from sim.pins import probed_factory

ROOT = Path(__file__).parents[2]
# the quick bench runs every probe once: minutes on a busy 2-core machine, not a hang
pytestmark = pytest.mark.timeout(600)

FIGURES = ("tap_to_feedback", "instructions_per_tap", "idle_cpu", "memory", "startup", "sync",
           "central_scale", "display_bus", "storage", "history", "dashboard_overview")


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=540,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    printed = json.loads(done.stdout)
    assert json.loads(out.read_text()) == printed  # --out holds the same document
    return printed


def number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def test_the_quick_bench_reports_every_figure_with_a_target_and_a_verdict(quick_bench):
    figures = quick_bench["figures"]
    assert set(FIGURES) <= set(figures)
    for name in FIGURES:
        assert "error" not in figures[name], (name, figures[name].get("error"))
        assert "met" in figures[name], name
    for row in quick_bench["summary"]:
        assert row["met"] in (True, False, None) and row["target"]


def test_the_quick_bench_gives_numbers_for_each_figure(quick_bench):
    f = quick_bench["figures"]
    assert all(number(f["tap_to_feedback"]["feedback_ms"][k]) for k in ("p50", "p99", "max"))
    assert f["tap_to_feedback"]["taps"] == quick_bench["sizes"]["taps"]
    assert set(f["tap_to_feedback"]["by_kind"]) <= {"ntag213", "ntag215", "mifare-classic-1k",
                                                    "felica"}
    split = f["instructions_per_tap"]["split"]
    assert set(split["cpu_us_per_tap"]) == {"read", "rules", "commit", "render", "bus", "lights"}
    assert "skipped" in f["instructions_per_tap"]  # quick mode leaves callgrind out
    assert number(f["idle_cpu"]["cpu_seconds_per_minute"])
    assert number(f["memory"]["peak_rss_mb"]) and len(f["memory"]["samples"]) >= 2
    assert all(number(f["startup"]["ready_s"][k]) for k in ("min", "median", "max"))
    assert number(f["startup"]["idle_frame_s"]["median"])
    assert number(f["sync"]["backlog"]["drain_seconds"])
    assert number(f["sync"]["backlog"]["speedup_vs_one_per_request"])
    assert number(f["sync"]["central_ingest"]["events_per_second"])
    scale = f["central_scale"]
    assert all(number(run["events_per_second"]) for run in scale["ingest"]["runs"].values())
    assert set(scale["ingest"]["runs"]) == {"sqlite_x1", "sqlite_x2", "postgresql_x1",
                                            "postgresql_x2"}
    for run in scale["ingest"]["runs"].values():
        assert 0 < run["machine_busy_share"] <= 1 and run["machine_idle_us_per_event"] >= 0
    # the PostgreSQL runs count their cluster's CPU, SQLite's has none apart
    assert scale["ingest"]["runs"]["postgresql_x2"]["database_cpu_us_per_event"] > 0
    assert scale["ingest"]["runs"]["sqlite_x1"]["database_cpu_us_per_event"] == 0
    assert number(scale["ingest"]["postgresql_x2_vs_sqlite_x1_if_every_core_busy"])
    # quick mode: one pair, whose ratio is the figure
    assert scale["ingest"]["pair_ratios"] == [scale["ingest"]["postgresql_x2_vs_sqlite_x1"]]
    storm = scale["reconnect_storm"]
    assert number(storm["drain_seconds"]) and number(storm["request_latency_p99_s"])
    assert (storm["errors"], storm["lost"], storm["duplicated"]) == (0, 0, 0)
    assert all(number(run["query_ms_max"]) for run in scale["dashboard"]["runs"].values())
    overview = f["dashboard_overview"]["runs"]
    assert all(number(run["server_ms_p99"]) for run in overview.values() if "skipped" not in run)
    bus = f["display_bus"]
    assert number(bus["partial_updates_true"]["bytes_per_tap"])
    assert number(bus["partial_updates_false"]["bytes_per_tap"])
    assert number(f["storage"]["fsync_per_tap"]) and number(f["storage"]["bytes_written_per_tap"])
    ledgers = f["history"]["by_size"]
    assert [ledgers[str(n)]["ledger"]["events"] for n in quick_bench["sizes"]["history_events"]
            ] == quick_bench["sizes"]["history_events"]
    for figures in ledgers.values():
        for operation in ("tap_ms", "staff_figures_ms", "status_ms", "sync_round_ms",
                          "expiry_slice_ms", "retention_slice_ms"):
            assert number(figures[operation]["p50"]), operation
        assert number(figures["disk"]["per_tap_bytes"]) and number(figures["disk"]["per_day_mb"])
        assert number(figures["disk"]["idle_hour_bytes"])


def test_a_missed_target_says_what_limits_it(quick_bench):
    for name, figure in quick_bench["figures"].items():
        if figure.get("met") is False and "error" not in figure:
            assert figure.get("limited_by"), name


# -- the probes on the virtual devices ---------------------------------------------------

def test_the_virtual_oled_reports_each_frame_with_its_last_byte_time_and_size():
    bus = VirtualOled()
    frames: list[tuple[float, int]] = []
    device = ssd1306(i2c(bus=bus, address=0x3C))
    bus.end_frame()  # luma's init commands are a frame of their own
    bus.on_frame = lambda at, sent: frames.append((at, sent))
    device.display(Image.new("1", (128, 64), 1))
    bus.end_frame()
    bus.end_frame()  # nothing written since: no frame to report
    assert len(frames) == 1
    at, sent = frames[0]
    assert sent >= 128 * 64 // 8 and at == bus.last_write_at


def test_a_probed_pin_reports_writes_even_when_the_level_does_not_change():
    factory = probed_factory()
    seen: list[float] = []
    factory.pin(17).on_write = lambda at, value: seen.append(value)
    led = LED(17, pin_factory=factory)
    led.on()
    led.on()
    assert seen[-2:] == [1.0, 1.0]
    led.close()


def test_a_quick_lifted_field_answers_frames_for_an_absent_card_at_once():
    with VirtualField(quick_lifted=True) as quick, VirtualField() as literal:
        read_page = bytes([0x30, 0x04])
        assert quick.answer(b"106A " + read_page.hex().encode()) == b"106A"
        assert literal.answer(b"106A " + read_page.hex().encode()) is None

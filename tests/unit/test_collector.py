"""The cycle collector as a server process runs it (central.serving.tune_collector)."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.serving import COLLECT_AFTER, tune_collector


@pytest.fixture
def collector() -> Iterator[None]:
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    if enabled:
        gc.enable()


class Node:
    other: Node | None = None


def test_startup_objects_are_left_alone_and_later_cycles_are_still_collected(
        collector: None) -> None:
    tune_collector()
    assert gc.get_threshold()[0] == COLLECT_AFTER > 700
    assert gc.get_freeze_count() > 0  # what the process held then
    first, second = Node(), Node()
    first.other, second.other = second, first
    gone = weakref.ref(first)
    del first, second
    # no gc.collect(): the collector starts by itself once enough is allocated
    kept = [[] for _ in range(COLLECT_AFTER + 1)]
    assert gone() is None
    assert len(kept) > COLLECT_AFTER


def test_serve_tunes_the_collector_before_it_answers(tmp_path: Path) -> None:
    # the real `serve` on a new SQLite file, stopped where uvicorn would start serving
    script = (
        "import gc, uvicorn\n"
        "from central import cli\n"
        "def report(self, sockets=None):\n"
        "    print('threshold', gc.get_threshold()[0], 'frozen', gc.get_freeze_count() > 0)\n"
        "uvicorn.Server.run = report\n"
        f"cli.serve({str(tmp_path / 'c.sqlite3')!r}, '127.0.0.1', 0, 'error')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert f"threshold {COLLECT_AFTER} frozen True" in out

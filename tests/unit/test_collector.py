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
    kept: list[list[int]] = [[] for _ in range(COLLECT_AFTER + 1)]
    assert gone() is None
    assert len(kept) > COLLECT_AFTER


# the real `serve` (one process), or one worker process of `serve --workers N`, on a new
# SQLite file, stopped where uvicorn would start serving
_ONE_PROCESS = "from central import cli\ncli.serve({db!r}, '127.0.0.1', 0, 'error')\n"
_A_WORKER = (
    "import threading\nfrom central import serving\n"
    "serving._worker(('127.0.0.1', 0), {db!r}, serving.Limits(), 'error', threading.Semaphore())\n")


@pytest.mark.parametrize("start", [_ONE_PROCESS, _A_WORKER], ids=["serve", "worker"])
def test_a_server_process_tunes_the_collector_before_it_answers(start: str, tmp_path: Path
                                                                ) -> None:
    script = (
        "import gc, uvicorn\n"
        "def report(self, sockets=None):\n"
        "    print('threshold', gc.get_threshold()[0], 'frozen', gc.get_freeze_count() > 0)\n"
        "uvicorn.Server.run = report\n"
    ) + start.format(db=str(tmp_path / "c.sqlite3"))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert f"threshold {COLLECT_AFTER} frozen True" in out

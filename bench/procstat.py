"""CPU time from Linux's /proc: a process tree's, a PostgreSQL cluster's, the machine's.

Benchmarks read these before and after the part they measure; elsewhere than Linux every
figure is 0.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU time of a process and every descendant still running, and of the
    descendants that ended and were waited for by one of them (a PostgreSQL backend whose
    connection closed, an autovacuum worker: the postmaster's children's times)."""
    parents: dict[int, list[int]] = {}
    spent: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
        spent[int(entry.name)] = sum(int(v) for v in fields[11:15]) / _TICK
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += spent.get(pid, 0.0)
        stack.extend(parents.get(pid, []))
    return total


def machine_seconds() -> tuple[float, float]:
    """(busy, all) CPU seconds of the machine so far, every core; idle and iowait are not
    busy (whoever used the rest: this benchmark, other work, the hypervisor's steal)."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0]
    except OSError:
        return 0.0, 0.0
    counters = [int(v) for v in first.split()[1:]]
    total = sum(counters) / _TICK
    return total - (counters[3] + counters[4]) / _TICK, total


def postmaster(url: str) -> int:
    """The postmaster's pid of a cluster reached by its unix socket (tests.support.postgres
    keeps the socket beside the data directory)."""
    socket = Path(url.split("host=", 1)[1])
    return int((socket.parent / "data" / "postmaster.pid").read_text().split()[0])

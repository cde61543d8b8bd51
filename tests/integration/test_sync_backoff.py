"""Retry timing rules of the sync worker: full-jitter backoff, capped, and Retry-After."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from kiosk.adapters.sync import SyncReport, backoff_delay
from tests.support import kiosk_setup, worker_for


@given(
    failures=st.integers(1, 200),
    base=st.floats(0.01, 10),
    cap=st.floats(0.01, 3600),
    seed=st.integers(0, 2**32),
)
def test_a_backoff_delay_is_full_jitter_under_the_doubling_ceiling_and_the_cap(
    failures: int, base: float, cap: float, seed: int
) -> None:
    delay = backoff_delay(failures, base, cap, random.Random(seed))
    assert 0 <= delay <= min(cap, base * 2 ** (failures - 1))


def test_backoff_ceilings_double_until_the_cap() -> None:
    rng = random.Random(1)
    ceilings = [max(backoff_delay(n, 1.0, 10.0, rng) for _ in range(400)) for n in range(1, 7)]
    # the largest of many full-jitter draws comes close to each ceiling: 1, 2, 4, 8, 10, 10
    for seen, ceiling in zip(ceilings, [1, 2, 4, 8, 10, 10], strict=True):
        assert 0.9 * ceiling <= seen <= ceiling


@given(retry_after=st.floats(0, 10_000), failures=st.integers(0, 20))
def test_the_worker_never_retries_before_retry_after_nor_waits_past_retry_after_max(
    retry_after: float, failures: int
) -> None:
    config = kiosk_setup(Path("/nonexistent/state"), "http://127.0.0.1:9", "/nonexistent/token",
                         backoff_base=0.5, backoff_max=30, retry_after_max=600)
    worker = worker_for(config)
    worker.failures = failures
    delay = worker.next_delay(SyncReport(error="busy", retry_after=retry_after))
    assert delay >= min(retry_after, 600)
    assert delay <= max(30, min(retry_after, 600))


def test_a_good_round_resets_the_backoff_and_waits_the_interval() -> None:
    config = kiosk_setup(Path("/nonexistent/state"), "http://127.0.0.1:9", "/nonexistent/token",
                         interval=7)
    worker = worker_for(config)
    for _ in range(5):
        worker.next_delay(SyncReport(error="down"))
    assert worker.failures == 5
    assert worker.next_delay(SyncReport()) == 7 and worker.failures == 0

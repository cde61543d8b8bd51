"""Per-kiosk request rate: a token bucket. `take` is pure (the time is passed in).

A kiosk may send `burst` requests at once, then `rate` a second. Past that it is
answered 429 with Retry-After, which its sync worker honours; nothing it sent is lost.
Each server process keeps its own buckets: behind N processes a kiosk gets up to N times
the rate, which is still bounded.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Bucket:
    tokens: float
    at: float  # the monotonic time `tokens` was counted at


def take(bucket: Bucket | None, now: float, rate: float, burst: int) -> tuple[Bucket, int]:
    """Spend one request from the bucket: (the bucket after, 0) when allowed, else (the
    bucket unchanged but refilled, whole seconds to wait before the next one).

    >>> full, wait = take(None, 0.0, rate=1.0, burst=2)
    >>> wait, take(full, 0.0, 1.0, 2)[1], take(take(full, 0.0, 1.0, 2)[0], 0.0, 1.0, 2)[1]
    (0, 0, 1)
    """
    tokens = float(burst) if bucket is None else min(
        float(burst), bucket.tokens + max(0.0, now - bucket.at) * rate)
    if tokens >= 1.0:
        return Bucket(tokens - 1.0, now), 0
    return Bucket(tokens, now), max(1, math.ceil((1.0 - tokens) / rate))


class RateLimiter:
    """The buckets of every kiosk seen by this process (kiosks are authenticated first,
    so there is one bucket per registered kiosk at most)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def wait(self, kiosk_id: str, now: float) -> int:
        """0 when the kiosk may go on now, else the seconds to send in Retry-After."""
        with self._lock:
            bucket, wait = take(self._buckets.get(kiosk_id), now, self.rate, self.burst)
            self._buckets[kiosk_id] = bucket
        return wait

"""How long the workers wait before running a step again: exponential backoff with full jitter, honouring
Retry-After, capped below the broker's visibility timeout. What is retried at all: workers/failures.py."""

from __future__ import annotations

import random


def retry_delay(retries: int, error: BaseException, base: float, cap: float, rng: random.Random = random) -> float:
    """Seconds to wait before attempt `retries + 1`."""
    ceiling = min(cap, base * 2 ** min(retries, 64))  # the exponent stops before a float overflows
    backoff = rng.uniform(0, ceiling)  # full jitter (AWS architecture blog)
    hinted = getattr(error, "retry_after", None) or 0.0
    return min(cap, max(hinted, backoff))

"""What the workers retry, and how long they wait: exponential backoff with full jitter, honouring
Retry-After, capped below the broker's visibility timeout."""

from __future__ import annotations

import random

from redis.exceptions import LockError, RedisError
from sqlalchemy.exc import OperationalError

from apis.freshbooks.errors import Conflict, RateLimited, Unavailable


class OrderNotYetSeen(Exception):
    """A payment or a step for an order whose order event has not arrived yet."""


class InvoiceNotYetBooked(Exception):
    """A payment step for an order whose invoice does not exist yet."""


RETRYABLE = (RateLimited, Unavailable, Conflict, LockError, RedisError, OperationalError, OrderNotYetSeen,
             InvoiceNotYetBooked)


def retry_delay(retries: int, error: BaseException, base: float, cap: float, rng: random.Random = random) -> float:
    """Seconds to wait before attempt `retries + 1`."""
    backoff = rng.uniform(0, min(cap, base * 2 ** retries))  # full jitter (AWS architecture blog)
    hinted = getattr(error, "retry_after", None) or 0.0
    return min(cap, max(hinted, backoff))

"""The error taxonomy. Every error this project raises on purpose derives from one of two bases, which tell a
worker what to do with it; workers/failures.py is the one place that turns any exception into that decision
(third-party and unexpected exceptions included).

This module imports nothing from the project: FreshBooks, X-Cart, mapping and worker errors all build on it."""

from __future__ import annotations


class Retryable(Exception):
    """A cause that may pass (rate limit, outage, lock, an order not received yet): the step runs again with
    backoff, and ends as an `exhausted` dead letter when the retry budget is spent."""

    retry_after: float | None = None  # seconds the other side asked us to wait, when it said


class Fatal(Exception):
    """Running the step again unchanged cannot help: the event ends as a dead letter at once."""

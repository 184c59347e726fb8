"""Step exceptions on demand, for the fault suite's "step-exceptions" scenario (harness/faultsuite.py).

With XCFB_INJECT_STEP_FAULTS=FRACTION:SEED in a worker's environment (e.g. "0.1:7"), that fraction of step runs
raises an arbitrary exception (KeyError, AttributeError, ...) before the step does anything. Which runs fail
is decided by a hash of (seed, step, event, attempt), the same in every worker process. Only runs that carry
an event id are touched: those are the ones that can end as a dead letter. Unset -- always, outside the fault
suite -- this does nothing."""

from __future__ import annotations

import os
import random

VARIABLE = "XCFB_INJECT_STEP_FAULTS"
KINDS = (KeyError, AttributeError, RuntimeError, ZeroDivisionError, TypeError, IndexError)


def fault_for(step: str, event_id: str | None, attempt: int) -> Exception | None:
    """The exception this step run must raise, or None."""
    spec = os.environ.get(VARIABLE)
    if not spec or event_id is None:
        return None
    fraction, _, seed = spec.partition(":")
    rng = random.Random(f"{seed}|{step}|{event_id}|{attempt}")
    if rng.random() >= float(fraction):
        return None
    return rng.choice(KINDS)(f"injected into {step} by {VARIABLE}")

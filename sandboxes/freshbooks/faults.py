"""Faults on demand: what makes integrations fail in production, reproducible in a test.

- rate limit: more than `rate_limit` API requests in a `rate_window` seconds window answer 429, with a
  Retry-After of the rest of the window (or none, `retry_after: false`, since FreshBooks documents none);
- 5xx burst: the next `fail_next` API requests answer `fail_status`;
- outage: every API request answers 503 until `outage_seconds` from when it was set have passed;
- latency: `latency_ms` added to every API request;
- ghost create: the next `ghost_creates` creates are stored but their answer is lost, as a 500
  (`ghost_mode: "error"`) or by answering only after `ghost_delay` seconds (`ghost_mode: "timeout"`).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Switch:
    """One fault setting: how POST /_sandbox/faults reads it and how `xcfb sandbox freshbooks` offers it."""

    kind: type  # int, float, str or bool
    help: str
    metavar: str | None = None
    optional: bool = False  # None switches it off
    choices: tuple[str, ...] = ()
    option: str | None = None  # the command-line spelling, when not --name-with-dashes

    def read(self, name: str, value):
        if value is None and self.optional:
            return None
        if self.choices and value not in self.choices:
            raise ValueError(f"{name}: must be {' or '.join(map(repr, self.choices))}")
        return self.kind(value)


# Every fault switch, once: POST /_sandbox/faults and the command line both read this table.
SWITCHES = {
    "rate_limit": Switch(int, "answer 429 beyond N requests per window", "N", optional=True),
    "rate_window": Switch(float, "the rate limit's window", "SECONDS"),
    "retry_after": Switch(bool, "send a Retry-After header with a 429 (FreshBooks documents none)"),
    "fail_next": Switch(int, "answer the next N requests with the failure status", "N"),
    "fail_status": Switch(int, "the status of those failures", "STATUS"),
    "outage_seconds": Switch(float, "answer 503 for SECONDS", "SECONDS", optional=True, option="--outage"),
    "latency_ms": Switch(int, "milliseconds added to every request", "MS"),
    "ghost_creates": Switch(int, "store the next N creates but lose their answer", "N"),
    "ghost_mode": Switch(str, "lose the answer as a 500 (error) or by answering after the ghost delay (timeout)",
                         choices=("error", "timeout")),
    "ghost_delay": Switch(float, "how late a timeout ghost answers", "SECONDS"),
}


@dataclass
class FaultSettings:
    rate_limit: int | None = None
    rate_window: float = 1.0
    retry_after: bool = True
    fail_next: int = 0
    fail_status: int = 503
    outage_until: float | None = None  # time.monotonic() deadline
    latency_ms: int = 0
    ghost_creates: int = 0
    ghost_mode: str = "error"
    ghost_delay: float = 35.0


@dataclass(frozen=True)
class Verdict:
    status: int
    retry_after: int | None = None
    reason: str = ""


class Faults:
    def __init__(self, settings: FaultSettings | None = None, clock=time.monotonic):
        self.settings = settings or FaultSettings()
        self._clock = clock
        self._lock = threading.Lock()
        self._window_start = clock()
        self._window_count = 0
        self.injected: dict[str, int] = {"rate_limited": 0, "failed": 0, "outage": 0, "ghost": 0}

    def reset(self) -> None:
        """No faults, counters at zero."""
        with self._lock:
            self.settings = FaultSettings()
            self._window_start, self._window_count = self._clock(), 0
            self.injected = dict.fromkeys(self.injected, 0)

    def configure(self, changes: dict) -> dict:
        """Applies a partial update; `outage_seconds` opens (or with 0 closes) an outage window."""
        unknown = set(changes) - set(SWITCHES)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        read = {name: SWITCHES[name].read(name, value) for name, value in changes.items()}
        with self._lock:
            for name, value in read.items():
                if name != "outage_seconds":
                    setattr(self.settings, name, value)
            if "rate_limit" in read or "rate_window" in read:
                self._window_start, self._window_count = self._clock(), 0  # a new limit starts a new window
            if "outage_seconds" in read:
                seconds = read["outage_seconds"] or 0
                self.settings.outage_until = self._clock() + seconds if seconds > 0 else None
            return self.describe()

    def describe(self) -> dict:
        described = asdict(self.settings)
        until = described.pop("outage_until")
        described["outage_remaining"] = max(0.0, until - self._clock()) if until else 0.0
        described["injected"] = dict(self.injected)
        return described

    def latency(self) -> float:
        return self.settings.latency_ms / 1000.0

    def check_request(self) -> Verdict | None:
        """Decides, before an API request is served, whether it fails instead."""
        with self._lock:
            s = self.settings
            now = self._clock()
            if s.outage_until is not None:
                if now < s.outage_until:
                    self.injected["outage"] += 1
                    return Verdict(503, max(1, math.ceil(s.outage_until - now)), "outage")
                s.outage_until = None
            if s.fail_next > 0:
                s.fail_next -= 1
                self.injected["failed"] += 1
                return Verdict(s.fail_status, None, "injected failure")
            if s.rate_limit is not None:
                if now - self._window_start >= s.rate_window:
                    self._window_start, self._window_count = now, 0
                self._window_count += 1
                if self._window_count > s.rate_limit:
                    self.injected["rate_limited"] += 1
                    rest = s.rate_window - (now - self._window_start)
                    return Verdict(429, max(1, math.ceil(rest)) if s.retry_after else None, "rate limited")
            return None

    def take_ghost(self) -> str | None:
        """After a successful create: the ghost mode to apply, if a ghost create is pending."""
        with self._lock:
            if self.settings.ghost_creates <= 0:
                return None
            self.settings.ghost_creates -= 1
            self.injected["ghost"] += 1
            return self.settings.ghost_mode


"""The rules a worker runs: the version pinned to its environment (XCFB_ENVIRONMENT) in the console, else the
rules file. Re-read every few seconds, so that a promotion or a rollback needs no restart."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from mappings.rules import Rules, parse_rules
from store import rulebook

log = logging.getLogger(__name__)


class PinnedRules:
    def __init__(self, sessions: sessionmaker, environment: str, from_file: Callable[[], Rules],
                 refresh_seconds: float):
        self._sessions = sessions
        self._environment = environment
        self._from_file = from_file
        self._refresh_seconds = refresh_seconds
        self._checked_at: float | None = None
        self._version_id: int | None = None
        self._rules: Rules | None = None

    @property
    def version_id(self) -> int | None:
        """The version in use; None: the rules file."""
        return self._version_id

    def current(self) -> Rules:
        now = time.monotonic()
        if self._rules is None or self._checked_at is None or now - self._checked_at >= self._refresh_seconds:
            self._refresh()
            self._checked_at = now
        return self._rules

    def _refresh(self) -> None:
        try:
            version_id = rulebook.pinned_version_id(self._sessions, self._environment)
            if self._rules is not None and version_id == self._version_id:
                return
            text = rulebook.get_version(self._sessions, version_id).text if version_id is not None else None
        except SQLAlchemyError as exc:
            if self._rules is None:
                raise  # nothing to fall back on: the step fails and is retried like any database hiccup
            log.warning("rule pin not re-read (%s): keeping version %s", type(exc).__name__, self._version_id)
            return
        self._rules = parse_rules(text, f"rule version {version_id}") if text is not None else self._from_file()
        if version_id != self._version_id:
            log.info("rules for %s: %s", self._environment,
                     f"version {version_id}" if version_id is not None else "the rules file")
        self._version_id = version_id

"""Typed FreshBooks errors: each tells a worker what it may do next, by deriving from core.errors' Retryable
(wait and run again) or Fatal (retrying cannot help).

Messages carry the method, path, status and the API's own error text, never a header or a token.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import Fatal, Retryable


@dataclass(frozen=True)
class ApiErrorDetail:
    """One entry of FreshBooks' `response.errors` list."""

    errno: int | None
    field: str | None
    message: str
    object: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = f"{self.object}.{self.field}" if self.object and self.field else (self.field or self.object)
        prefix = f"{where}: " if where else ""
        code = f" (errno {self.errno})" if self.errno is not None else ""
        return f"{prefix}{self.message}{code}"


class FreshBooksError(Exception):
    """Base of every error the client raises."""

    def __init__(self, message: str, *, status: int | None = None,
                 details: tuple[ApiErrorDetail, ...] = ()):
        super().__init__(message)
        self.status = status
        self.details = details

    @property
    def errno(self) -> int | None:
        return self.details[0].errno if self.details else None


class RateLimited(FreshBooksError, Retryable):
    """429: wait `retry_after` seconds (None when the API gave no hint)."""

    def __init__(self, message: str, *, retry_after: float | None, status: int = 429):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class Unavailable(FreshBooksError, Retryable):
    """5xx, connection error or timeout.

    `may_have_reached_server` is True when the request may have been processed although no answer
    came back (5xx, read timeout): after a create, look the object up before creating it again.
    """

    def __init__(self, message: str, *, may_have_reached_server: bool, status: int | None = None):
        super().__init__(message, status=status)
        self.may_have_reached_server = may_have_reached_server


class ValidationFailed(FreshBooksError, Fatal):
    """400/422: the request itself is wrong; retrying it unchanged cannot help."""


class AuthFailed(FreshBooksError, Retryable):
    """401/403, or a token that could not be obtained or refreshed. Retried, with an alert: an operator who
    reconnects FreshBooks within the retry budget gets the waiting events booked without replaying them."""


class NotFound(FreshBooksError, Fatal):
    """404 or errno 1012 (unknown resource)."""


class Conflict(FreshBooksError, Retryable):
    """409: concurrent modification on FreshBooks' side; a retry is expected to succeed."""

"""Errors in FreshBooks' own shape: {"response": {"errors": [{errno, field, message, object, value}]}}."""

from __future__ import annotations

REQUIRED = 1001
ACCESS_DENIED = 1003
INVALID_VALUE = 1004
PARSE_ERROR = 1005
DELETED = 1011
NOT_FOUND = 1012
TOO_LONG = 1017

UNAUTHORIZED_MESSAGE = (
    "The server could not verify that you are authorized to access the URL requested. You either "
    "supplied the wrong credentials (e.g. a bad password), or your browser doesn't understand how to "
    "supply the credentials required."
)


class ApiError(Exception):
    def __init__(self, status: int, errno: int, message: str, *, field: str | None = None,
                 object: str | None = None, value: object = None):
        super().__init__(message)
        self.status = status
        self.errno = errno
        self.message = message
        self.field = field
        self.object = object
        self.value = value

    def body(self) -> dict:
        error = {"errno": self.errno, "field": self.field, "message": self.message, "object": self.object,
                 "value": None if self.value is None else str(self.value)}
        return {"response": {"errors": [error]}}


class ValidationError(ApiError):
    """Answered 422, or 400 when the sandbox is so configured (FreshBooks' choice is unverified)."""

    def __init__(self, errno: int, message: str, **where):
        super().__init__(422, errno, message, **where)


def not_found(obj: str, field: str, value: object) -> ApiError:
    return ApiError(404, NOT_FOUND, f"{obj.capitalize()} not found.", field=field, object=obj, value=value)


def required(obj: str, field: str) -> ValidationError:
    return ValidationError(REQUIRED, f"Field required: {field}.", field=field, object=obj)


def invalid(obj: str, field: str, value: object, why: str = "Invalid value") -> ValidationError:
    return ValidationError(INVALID_VALUE, f"{why} for field {field}.", field=field, object=obj, value=value)

"""Invalid input, reported field by field, in the words a person reads in the dead-letter queue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.errors import Fatal


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class PayloadInvalid(Fatal, ValueError):
    """Raised with every bad field at once, e.g. `data.items[2].price: not a number`."""

    def __init__(self, errors: list[FieldError], what: str = "payload"):
        self.errors = sorted(errors, key=lambda e: e.path)
        super().__init__(f"invalid {what}: " + "; ".join(str(e) for e in self.errors))

    def as_dicts(self) -> list[dict]:
        return [{"path": e.path, "message": e.message} for e in self.errors]


def flatten_messages(messages, prefix: str = "") -> list[FieldError]:
    """Turns marshmallow's nested error dict into one FieldError per bad field, with list indexes."""
    if isinstance(messages, Mapping):
        errors: list[FieldError] = []
        for key, value in messages.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            elif key == "_schema":
                path = prefix or "(root)"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            errors.extend(flatten_messages(value, path))
        return errors
    if isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            return [FieldError(prefix or "(root)", _sentence(m)) for m in messages]
        return [e for m in messages for e in flatten_messages(m, prefix)]
    return [FieldError(prefix or "(root)", _sentence(str(messages)))]


def _sentence(message: str) -> str:
    message = message.rstrip(".")
    return message[:1].lower() + message[1:]

"""Marshmallow fields for what X-Cart sends in its several shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields


class Money(fields.Field):
    """A decimal amount from a string, an int or a Decimal (JSON parsed with parse_float=Decimal).

    A Python float is refused: by the time a float exists, a cent may already be lost."""

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        if isinstance(value, bool) or isinstance(value, float):
            raise ValidationError("not a number (floats are refused: parse JSON with parse_float=Decimal)")
        if isinstance(value, Decimal | int):
            number = Decimal(value)
        elif isinstance(value, str):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                raise ValidationError(f"not a number: {value[:40]!r}") from None
        else:
            raise ValidationError("not a number")
        if not number.is_finite():
            raise ValidationError("not a finite number")
        return number


class FlexibleDateTime(fields.Field):
    """Unix seconds (int or digit string), or ISO 8601 with `Z`, `+0000` or `-05:00`; naive means UTC.
    Always returns an aware UTC datetime."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        if isinstance(value, bool):
            raise ValidationError("not a date")
        if isinstance(value, int | Decimal) or (isinstance(value, str) and value.strip().isdigit()):
            try:
                return datetime.fromtimestamp(int(value), UTC)
            except (OverflowError, OSError, ValueError):
                raise ValidationError("unix time out of range") from None
        if not isinstance(value, str):
            raise ValidationError("not a date")
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(f"not an ISO 8601 date: {value[:40]!r}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)


class Status(fields.Field):
    """`{id, code, name, customer_name}` (5.5) or a bare code (older schemas); custom statuses may lack a code."""

    def _deserialize(self, value, attr, data, **kwargs) -> dict:
        if isinstance(value, str):
            return {"code": value.strip() or None, "id": None, "name": None}
        if isinstance(value, dict):
            code = value.get("code")
            if code is not None and not isinstance(code, str):
                raise ValidationError("code: not a string")
            if code is None and value.get("id") is None and not value.get("name"):
                raise ValidationError("a status needs a code, an id or a name")
            return {"code": code or None, "id": value.get("id"), "name": value.get("name")}
        raise ValidationError("not a status")


class CurrencyCode(fields.Field):
    """`"USD"` (5.5) or `{"code": "USD", "e": 2}` (REST add-on)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if isinstance(value, dict):
            value = value.get("code")
        if not isinstance(value, str) or not value.strip():
            raise ValidationError("not a currency code")
        return value.strip().upper()

"""Marshmallow fields for what X-Cart sends in its several shapes, each refusing what X-Cart cannot send.

Bounds come from X-Cart's columns (money is decimal(14,4), ids are integers) and from the service's own
store (store/models.py): a value outside them is a bad payload, named by its path, never a crash later.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields, missing

MONEY_LIMIT = Decimal(10) ** 10  # decimal(14,4): at most 10 digits before the point
MONEY_PLACES = 4
MAX_ID = 2**31 - 1  # the store's Integer id columns (store/models.py); X-Cart ids are int(11)
MAX_ORDER_NUMBER = 64  # events.order_number, xcart_orders.order_number
MAX_QUANTITY = 10**7  # units on one order line
MAX_STOCK = 2**31 - 1
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # before X-Cart 4 existed
LATEST_AHEAD = timedelta(days=5 * 366)  # how far past now a date may lie (clocks, scheduled orders)


class XCartMap(fields.Field):
    """Base of every map-shaped X-Cart field. PHP serialises an empty associative array as `[]`, so `[]`
    means `{}`; and an empty map (or null) where the map is optional means the map is absent."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if isinstance(value, list) and not value:
            value = {}
        if (value is None or value == {}) and not self.required:
            value = missing
        return super().deserialize(value, attr, data, **kwargs)


class Map(XCartMap, fields.Dict):
    """A free-form map such as `custom_fields`: always a dict once read."""


class NestedMap(XCartMap, fields.Nested):
    """A nested X-Cart object (an address...) that may arrive as `[]`."""


def _decimal(value) -> Decimal:
    """A finite Decimal from an int, a Decimal or a numeric string; floats refused (a cent may be gone)."""
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


class Money(fields.Field):
    """An exact decimal from a string, an int or a Decimal (JSON parsed with parse_float=Decimal); with
    `places` and `limit`, at most that many decimal places (trailing zeros are fine) and below `limit`."""

    def __init__(self, *, places: int | None = None, limit: Decimal | None = None, **kwargs):
        super().__init__(**kwargs)
        self.places, self.limit = places, limit

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        number = _decimal(value)
        if self.limit is not None and abs(number) >= self.limit:
            raise ValidationError(f"out of range: {str(value)[:40]} (must be below {self.limit:,})")
        if self.places is not None and number != number.quantize(Decimal(1).scaleb(-self.places)):
            raise ValidationError(f"{number} has more than {self.places} decimal places")
        return number


def XCartMoney(**kwargs) -> Money:  # noqa: N802 - reads as a field type in the schemas
    """An X-Cart amount: decimal(14,4), so below 10**10 with at most 4 decimal places."""
    return Money(places=MONEY_PLACES, limit=MONEY_LIMIT, **kwargs)


class WholeNumber(fields.Field):
    """An integer in [low, high] from an int, an integral Decimal (`2.0`) or a string (`"2"`); `2.5` is
    refused, never cut to 2."""

    def __init__(self, low: int, high: int, **kwargs):
        super().__init__(**kwargs)
        self.low, self.high = low, high

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        try:
            number = _decimal(value)
        except ValidationError:
            raise ValidationError("not a whole number") from None
        if number != number.to_integral_value():
            raise ValidationError(f"not a whole number: {str(value)[:40]}")
        if number < self.low:
            raise ValidationError(f"must be at least {self.low}")
        if number > self.high:
            raise ValidationError(f"out of range: {str(value)[:40]} (at most {self.high})")
        return int(number)


def XCartId(**kwargs) -> WholeNumber:  # noqa: N802 - reads as a field type in the schemas
    return WholeNumber(1, MAX_ID, **kwargs)


def Quantity(**kwargs) -> WholeNumber:  # noqa: N802
    return WholeNumber(1, MAX_QUANTITY, **kwargs)


class FlexibleDateTime(fields.Field):
    """Unix seconds (int or digit string), or ISO 8601 with `Z`, `+0000` or `-05:00`; naive means UTC.
    Always returns an aware UTC datetime between 2000 and a few years from now. X-Cart writes 0 for
    "never": for an optional date that is no date."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime | None:
        moment = self._parse(value)
        if moment is None:
            return None
        if not EARLIEST <= moment <= datetime.now(UTC) + LATEST_AHEAD:
            raise ValidationError(f"out of range: {moment.isoformat()} (from {EARLIEST.year} to a few years ahead)")
        return moment

    def _parse(self, value) -> datetime | None:
        if isinstance(value, bool):
            raise ValidationError("not a date")
        if isinstance(value, int | Decimal) or (isinstance(value, str) and value.strip().isdigit()):
            try:
                seconds = int(value)
                return None if seconds == 0 and not self.required else datetime.fromtimestamp(seconds, UTC)
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
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError(f"out of range: {value[:40]!r}") from None


class Status(XCartMap):
    """`{id, code, name, customer_name}` (5.5) or a bare code (older schemas); custom statuses may lack a code."""

    def _deserialize(self, value, attr, data, **kwargs) -> dict:
        if isinstance(value, str):
            return {"code": value.strip() or None, "id": None, "name": None}
        if isinstance(value, dict):
            code, name, status_id = value.get("code"), value.get("name"), value.get("id")
            for key, text in (("code", code), ("name", name)):
                if text is not None and not isinstance(text, str):
                    raise ValidationError({key: ["not a string"]})
            if status_id is not None:
                try:
                    status_id = XCartId().deserialize(status_id)
                except ValidationError as exc:
                    raise ValidationError({"id": exc.messages}) from None
            if code is None and status_id is None and not name:
                raise ValidationError("a status needs a code, an id or a name")
            return {"code": code or None, "id": status_id, "name": name or None}
        raise ValidationError("not a status")


class CurrencyCode(XCartMap):
    """`"USD"` (5.5) or `{"code": "USD", "e": 2}` (REST add-on)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if isinstance(value, dict):
            code = value.get("code")
            if not isinstance(code, str) or not code.strip():
                raise ValidationError({"code": ["not a currency code"]})
            return code.strip().upper()
        if not isinstance(value, str) or not value.strip():
            raise ValidationError("not a currency code")
        return value.strip().upper()


class TrackingNumber(fields.Field):
    """`"1Z999"` or `{"value": "1Z999"}`."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if isinstance(value, dict):
            number = value.get("value", value.get("number"))
            if not isinstance(number, str | int) or isinstance(number, bool) or not str(number).strip():
                raise ValidationError({"value": ["not a tracking number"]})
            return str(number).strip()
        if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
            raise ValidationError("not a tracking number")
        return str(value).strip()

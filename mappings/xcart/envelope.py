"""The one reader of an X-Cart event body, shared by the ingest endpoint and the workers, so that what
ingest accepts (202) a worker can read and record.

Stricter than Python's json, which takes a UTF-8 BOM or UTF-16 from bytes, NaN and Infinity, lone
surrogates (`"\\ud800"`) and NUL characters that neither the database nor the broker can carry, and nesting
that ends in a RecursionError. Each refusal names the field."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from decimal import Decimal
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate

from mappings.errors import FieldError, PayloadInvalid, flatten_messages
from mappings.xcart.aliases import field
from mappings.xcart.fields import MAX_ID, MAX_ORDER_NUMBER, FlexibleDateTime, Map

MAX_EVENT_ID = 200  # events.id
EVENT_TYPES = ("order.created", "order.updated", "order.payment_status_changed", "customer.created",
               "customer.updated", "product.created", "product.updated", "product.deleted", "payment.created")
MAX_DEPTH = 64  # X-Cart's deepest entity nests about 5 levels; add-on extras get room to spare
MAX_INT_DIGITS = 4300  # Python's own limit on int() from a string
MAX_ERRORS = 20  # enough to fix a body; a hostile one must not make an answer of megabytes


class _Refused:
    """What the JSON parser gives for a value JSON does not allow, to be reported with its path."""

    def __init__(self, reason: str):
        self.reason = reason


def _no_control_characters(value: str) -> None:
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValidationError("control characters are not allowed")


class EnvelopeSchema(Schema):
    class Meta:
        unknown = INCLUDE

    id = fields.String(required=True, validate=[
        validate.Length(min=1, max=MAX_EVENT_ID, error="must be 1 to {max} characters"), _no_control_characters])
    type = fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    created_at = FlexibleDateTime(required=True)
    store = fields.String(required=True)
    data = Map(required=True)  # `[]` is PHP's empty object: the entity's own schema names what it lacks


_RISKY_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")  # may decode to a NUL or a (lone) surrogate
_ENVELOPE = EnvelopeSchema()  # one instance: building a schema costs more than loading an envelope with it


def read_json(raw: str | bytes) -> dict:
    """The body as a JSON object (floats as Decimal); raises PayloadInvalid naming each bad field."""
    text = _text(raw)
    refused: list[_Refused] = []

    def refuse(reason: str) -> _Refused:
        refused.append(_Refused(reason))
        return refused[-1]

    try:
        body = json.loads(text, parse_float=Decimal, parse_int=lambda digits: _int(digits, refuse),
                          parse_constant=lambda name: refuse(f"{name} is not a JSON number"))
    except RecursionError:
        raise _invalid("(body)", f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise _invalid("(body)", f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _invalid("(body)", "not a JSON object")
    if refused or not _plainly_clean(text):  # else the walk cannot find anything: ingest's hot path skips it
        errors = _problems(body)
        if errors:
            raise PayloadInvalid(errors, "event")
    return body


def _plainly_clean(text: str) -> bool:
    """True when no value of the document can hold what `_problems` looks for, seen from the text alone (in C):
    a NUL or a lone surrogate in a string comes from a `\\u0000` or `\\ud800`-`\\udfff` escape (json refuses raw
    control characters; `\\u00e8`, as PHP's json_encode writes è, is harmless) or from the text itself; nesting
    deeper than MAX_DEPTH needs more than MAX_DEPTH brackets. Anything else: the walk decides, as before."""
    if _RISKY_ESCAPE.search(text) or "\x00" in text or text.count("[") + text.count("{") > MAX_DEPTH:
        return False
    try:
        text.encode("utf-8")  # a str given by a caller may carry lone surrogates; decoded bytes cannot
    except UnicodeEncodeError:
        return False
    return True


def read_envelope(raw: str | bytes) -> dict:
    """The checked envelope (`id`, `type`, `created_at` as a UTC datetime, `store`, `data`) of a body."""
    return envelope_of(read_json(raw))


def envelope_of(body: dict) -> dict:
    """The checked envelope of a body read_json has read already (the body itself is left as it is)."""
    try:
        return _ENVELOPE.load(body)
    except ValidationError as exc:
        raise PayloadInvalid(flatten_messages(exc.messages), "event") from None


def _text(raw: str | bytes) -> str:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _invalid("(body)", f"not UTF-8 (byte {exc.start})") from None
    if raw.startswith("\ufeff"):
        raise _invalid("(body)", "starts with a byte order mark: send UTF-8 without one")
    return raw


def _int(digits: str, refuse=_Refused) -> int | _Refused:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        return refuse(f"an integer of more than {MAX_INT_DIGITS} digits")
    return int(digits)


def _problems(body: dict) -> list[FieldError]:
    """Walks the document without recursion: lone surrogates, NUL, NaN/Infinity, depth."""
    errors: list[FieldError] = []
    pending: list[tuple[Any, str, int]] = [(body, "", 1)]
    while pending and len(errors) < MAX_ERRORS:
        value, path, depth = pending.pop()
        if depth > MAX_DEPTH and isinstance(value, dict | list):  # levels of nesting: scalars add none
            errors.append(FieldError(path or "(body)", f"nested deeper than {MAX_DEPTH} levels"))
        elif isinstance(value, _Refused):
            errors.append(FieldError(path or "(body)", value.reason))
        elif isinstance(value, str):
            problem = _string_problem(value)
            if problem:
                errors.append(FieldError(path or "(body)", problem))
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = _string_problem(key)
                child = f"{path}.{key}" if path else key
                if problem:
                    errors.append(FieldError(f"{path}.(key)" if path else "(key)", f"{problem} in a key"))
                    child = f"{path}.(key)" if path else "(key)"
                pending.append((item, child, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value))
    return errors


def _string_problem(value: str) -> str | None:
    if "\x00" in value:
        return "a NUL character is not allowed"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "a lone surrogate (an unpaired \\ud800-\\udfff escape) is not text"
    return None


def _invalid(path: str, message: str) -> PayloadInvalid:
    return PayloadInvalid([FieldError(path, message)], "event")


def event_keys(event_type: str, data: dict) -> tuple[str, int | None, str | None]:
    """What the events table indexes an event by: its entity key, and for orders and payments the X-Cart
    order id and number. Values that do not fit their columns are left out (the entity schemas report
    them), so that recording an event can never fail on its content."""
    entity = event_type.split(".")[0]
    if entity == "order":
        order_id = _column_int(field(data, "order", "order_id"))
        return _key(entity, order_id), order_id, _column_str(field(data, "order", "order_number"))
    if entity == "payment":
        return (_key(entity, field(data, "payment", "transaction_id")), _column_int(data.get("order_id")),
                _column_str(data.get("order_number")))
    if entity == "customer":
        return _key(entity, field(data, "customer", "profile_id")), None, None
    return _key(entity, field(data, "product", "product_id")), None, None


def _key(entity: str, entity_id: Any) -> str:
    key = f"{entity}:{entity_id}"
    if len(key) <= 128:  # events.entity_key
        return key
    return f"{entity}:#{hashlib.sha256(key.encode('utf-8', 'backslashreplace')).hexdigest()[:32]}"


def _column_int(value: Any) -> int | None:
    """An id for an INTEGER column (32-bit on PostgreSQL), read without ever building a huge int."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    elif isinstance(value, Decimal) and value.is_finite() and value.adjusted() < 10 and value == value.to_integral():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_ID else None


def _column_str(value: Any) -> str | None:
    """An order number for a VARCHAR(64) column."""
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value)
    return text if len(text) <= MAX_ORDER_NUMBER else None

"""The invoice-number cut-over (pure): which order numbers could clash with an invoice FreshBooks held before the
service booked anything there, so that only those are searched before a first create.

FreshBooks' `invoice_number` is a string, and so is X-Cart's `order_number`; a clash is the same string. A number
is read as a prefix and its trailing run of ASCII digits ("10457" -> ("", 10457); "XC-00042" -> ("xc-", 42)); the
cut-over keeps, per prefix, the highest such value among the invoices FreshBooks held when it was read. An order
number whose value is above its prefix's mark (or whose prefix no invoice had) cannot equal any invoice held then:
equal strings split into equal prefixes and equal values. Everything else is searched: a number without trailing
digits, one at or below the mark (a renumbered store reusing old numbers, an invoice typed by hand), leading zeros
("0042" and "42" both read 42: searched, never skipped). Prefixes are compared case-folded, which can only make more
numbers searched. String order ("999" > "1000") is never used; FreshBooks' `sort=invoice_number_desc` would be it."""

from __future__ import annotations

import re
from collections.abc import Iterable

_TRAILING_DIGITS = re.compile(r"(.*?)([0-9]+)\Z", re.DOTALL)


def split(number: str) -> tuple[str, str] | None:
    """(case-folded prefix, the trailing digits without leading zeros), or None for a number not ending in an
    ASCII digit. Values stay text (compared by `_value`): no limit on their length, as JSON keeps them."""
    match = _TRAILING_DIGITS.match(number)
    if match is None:
        return None
    return match.group(1).casefold(), match.group(2).lstrip("0") or "0"


def _value(digits: str) -> tuple[int, str]:
    return len(digits), digits  # without leading zeros, the longer is the larger, else the text order is


def high_marks(numbers: Iterable[str | None]) -> dict[str, str]:
    """Per prefix, the highest value among these invoice numbers (those without trailing digits cannot clash with
    a number that has them, and a number without them is always searched)."""
    marks: dict[str, str] = {}
    for number in numbers:
        parts = split(str(number)) if number not in (None, "") else None
        if parts is not None and (parts[0] not in marks or _value(parts[1]) > _value(marks[parts[0]])):
            marks[parts[0]] = parts[1]
    return marks


def may_clash(order_number: str, marks: dict[str, str] | None) -> bool:
    """Whether an invoice held at the cut-over may carry this number: True unless the marks prove it cannot (no
    marks read: True)."""
    if marks is None:
        return True
    parts = split(order_number)
    if parts is None:
        return True
    prefix, digits = parts
    return prefix in marks and _value(digits) <= _value(marks[prefix])

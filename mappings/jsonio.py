"""JSON for X-Cart data: Decimals in, Decimals out, written digit for digit (never through a float)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

_DECIMAL = re.compile(r'"__decimal__(-?[0-9.]+(?:E[+-]?[0-9]+)?)__"')


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


def dumps(document: Any) -> str:
    def mark(value):
        if isinstance(value, Decimal):
            return f"__decimal__{value}__"
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")
    return _DECIMAL.sub(r"\1", json.dumps(document, default=mark))

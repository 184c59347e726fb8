"""List endpoints: `search[...]` filters, `sort`, and FreshBooks' paging envelope."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from werkzeug.datastructures import MultiDict

DEFAULT_PER_PAGE = 15
MAX_PER_PAGE = 100
# Filter names that differ from the field they filter.
ALIASES = {"notes": "note"}
ID_LISTS = {"ids": "id", "clientids": "id", "itemids": "id", "taxids": "id", "invoiceids": "id",
            "userids": "id", "paymentids": "id", "creditids": "id"}
DATE_FIELD = {"invoices": "create_date", "payments": "date", "credit_notes": "create_date"}


def list_page(objects: list[dict], plural: str, args: MultiDict) -> dict:
    objects = [o for o in objects if _matches(o, plural, args)]
    if not any(key.startswith("search[vis_state]") for key in args):
        objects = [o for o in objects if o.get("vis_state", 0) == 0]
    objects = _sorted(objects, args.get("sort", ""))
    per_page = min(max(_int(args.get("per_page"), DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
    page = max(_int(args.get("page"), 1), 1)
    total = len(objects)
    start = (page - 1) * per_page
    return {plural: objects[start:start + per_page], "page": page, "pages": math.ceil(total / per_page),
            "per_page": per_page, "total": total}


def _matches(obj: dict, plural: str, args: MultiDict) -> bool:
    for key in args:
        if not key.startswith("search["):
            continue
        name = key[len("search["):].split("]", 1)[0]
        values = args.getlist(key)
        if name in ID_LISTS:
            if str(obj.get(ID_LISTS[name])) not in {str(v) for v in values}:
                return False
        elif name.endswith("_like"):
            field = ALIASES.get(name[:-5], name[:-5])
            if values[0].lower() not in str(obj.get(field) or "").lower():
                return False
        elif name.endswith(("_min", "_max")):
            field = DATE_FIELD.get(plural, "") if name[:-4] == "date" else name[:-4]
            if not _in_range(obj.get(field), values[0], name.endswith("_min")):
                return False
        elif not _equals(obj.get(ALIASES.get(name, name)), values[0], name):
            return False
    return True


def _equals(actual, wanted: str, name: str) -> bool:
    if actual is None:
        return False
    if name == "email":
        return str(actual).lower() == wanted.lower()
    if isinstance(actual, dict):
        actual = actual.get("amount")
    return str(actual) == wanted


def _in_range(actual, bound: str, is_min: bool) -> bool:
    if actual is None:
        return False
    if isinstance(actual, dict):
        actual = actual.get("amount")
    try:
        left, right = Decimal(str(actual)), Decimal(bound)
    except InvalidOperation:
        left, right = str(actual), bound
    return left >= right if is_min else left <= right


def _sorted(objects: list[dict], sort: str) -> list[dict]:
    field, _, direction = sort.rpartition("_")
    if not field or direction not in ("asc", "desc"):
        return sorted(objects, key=lambda o: o["id"])
    return sorted(objects, key=lambda o: (o.get(field) is None, str(o.get(field) or "")),
                  reverse=direction == "desc")


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default

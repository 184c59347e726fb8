"""FreshBooks' limits on text (answered 422 errno 1017 beyond them; sandboxes/freshbooks/books.py mirrors
them). Display text (names, streets, descriptions) is cut to fit: a long product name must not hold up
an order. Identifiers (SKU, email, order number) are never cut: the X-Cart schemas refuse them instead,
since a cut identifier could name another object."""

from __future__ import annotations

SHORT_TEXT = 255  # names, streets, phone numbers, item descriptions


def fit(value: object, limit: int = SHORT_TEXT) -> str:
    """`value` as text (None is empty), stripped and cut to `limit` characters."""
    return ("" if value is None else str(value)).strip()[:limit]

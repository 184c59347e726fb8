"""What the simulated store's write endpoints accept, as X-Cart 5.5's API validates it (../shared/reference/xcart.md):
PUT /api/profiles/{id}, PUT /api/profiles/{id}/addresses/{address_id}, PUT /api/products/{id}.

A PUT keeps the fields it does not name (X-Cart fills them from the stored object; there is no PATCH). Profiles
carry no names: names and phones live on addresses. `login` is the email. A product's SKU is 1 to 32 characters
and unique. A refusal is 422 with API Platform's `violations` ({propertyPath, message}); an unknown field is
ignored, as Symfony's serializer does by default."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import pycountry

PROFILE_FIELDS = ("login", "status", "language", "access_level", "membership_id")
ADDRESS_TEXT = ("title", "firstname", "lastname", "phone", "address1", "address2", "address3", "city", "zipcode",
                "state_name")
ADDRESS_FLAGS = ("is_billing", "is_shipping", "is_work")
PRODUCT_TEXT = ("name", "description", "brief_description", "tax_class", "product_class")
PRODUCT_FLAGS = ("enabled", "taxable", "inventory_traceable")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_TEXT = 255
MAX_PRICE = Decimal(10) ** 10  # decimal(14,4)


class Violations(Exception):
    def __init__(self, violations: list[dict]):
        super().__init__("; ".join(f"{v['propertyPath']}: {v['message']}" for v in violations))
        self.violations = violations


def _violation(path: str, message: str) -> dict:
    return {"propertyPath": path, "message": message}


def profile_changes(given: dict, others: list[dict]) -> dict:
    """The stored fields a profile PUT changes; `others`: the store's other profiles (a login is unique)."""
    problems, changes = [], {}
    for name in PROFILE_FIELDS:
        if name in given:
            changes[name] = given[name]
    if "login" in changes:
        login = changes["login"]
        if not isinstance(login, str) or not EMAIL.match(login) or len(login) > 128:
            problems.append(_violation("login", "This value is not a valid email address."))
        elif any(p["login"].lower() == login.lower() for p in others):
            problems.append(_violation("login", "This email is already used by another profile."))
    if "status" in changes and changes["status"] not in ("E", "D"):
        problems.append(_violation("status", "The value you selected is not a valid choice (E, D)."))
    if "access_level" in changes and changes["access_level"] not in (0, 100):
        problems.append(_violation("access_level", "The value you selected is not a valid choice (0, 100)."))
    if problems:
        raise Violations(problems)
    return changes


def address_changes(given: dict, stored: dict) -> dict:
    """The stored (output-shaped) fields an address PUT changes: `address1..3` are kept as the output's `street`."""
    problems, changes = [], {}
    for name in ADDRESS_TEXT:
        if name in given:
            value = given[name]
            if value is not None and not isinstance(value, str):
                problems.append(_violation(name, "This value should be of type string."))
            elif value and len(value) > MAX_TEXT:
                problems.append(_violation(name, f"This value is too long. It should have {MAX_TEXT} characters or "
                                                 "less."))
            else:
                changes[name] = value or ""
    for name in ADDRESS_FLAGS:
        if name in given:
            if not isinstance(given[name], bool):
                problems.append(_violation(name, "This value should be of type bool."))
            else:
                changes[name] = given[name]
    if "country_code" in given:
        code = given["country_code"]
        if not isinstance(code, str) or len(code) != 2 or pycountry.countries.get(alpha_2=code.upper()) is None:
            problems.append(_violation("country_code", "This value is not a valid country."))
        else:
            changes["country_code"] = code.upper()
    if "state" in given:
        changes["state"] = given["state"]
    if "custom_fields" in given:
        changes["custom_fields"] = given["custom_fields"] or []
    if problems:
        raise Violations(problems)
    lines = (stored.get("street") or "").split("\n") + ["", "", ""]
    lines = [changes.pop(f"address{n}", lines[n - 1]) for n in (1, 2, 3)]
    if any(f"address{n}" in given for n in (1, 2, 3)):
        changes["street"] = "\n".join(line for line in lines if line)
    return changes


def product_changes(given: dict, product_id: int, others: list[dict]) -> dict:
    problems, changes = [], {}
    if "sku" in given:
        sku = given["sku"]
        if not isinstance(sku, str) or not 1 <= len(sku) <= 32:
            problems.append(_violation("sku", "The SKU must be 1 to 32 characters long."))
        elif any(p["sku"] == sku and p["product_id"] != product_id for p in others):
            problems.append(_violation("sku", "This SKU is already used by another product."))
        else:
            changes["sku"] = sku
    for name in PRODUCT_TEXT:
        if name in given:
            value = given[name]
            if not isinstance(value, str) or (name == "name" and not value.strip()):
                problems.append(_violation(name, "This value should not be blank." if name == "name"
                                           else "This value should be of type string."))
            else:
                changes[name] = value
    for name in PRODUCT_FLAGS:
        if name in given:
            if not isinstance(given[name], bool):
                problems.append(_violation(name, "This value should be of type bool."))
            else:
                changes[name] = given[name]
    for name in ("price", "weight"):
        if name in given:
            number = _decimal(given[name])
            if number is None or number < 0 or number >= MAX_PRICE or number != round(number, 4):
                problems.append(_violation(name, "This value should be a positive number with at most 4 decimals."))
            else:
                changes[name] = str(number)
    if "amount" in given:
        amount = given["amount"]
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            problems.append(_violation("amount", "This value should be a positive integer."))
        else:
            changes["amount"] = amount
    if problems:
        raise Violations(problems)
    return changes


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None

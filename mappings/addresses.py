"""Addresses standardised for FreshBooks: country names from ISO codes, state names, street lines."""

from __future__ import annotations

from dataclasses import dataclass

import pycountry

from mappings.limits import fit
from mappings.xcart.entities import Address


@dataclass(frozen=True)
class StandardAddress:
    street: str
    street2: str
    city: str
    province: str
    code: str
    country: str
    country_code: str


def country_name(code_or_name: str) -> tuple[str, str]:
    """(country name, ISO alpha-2) for a code or a name; unknown values are kept as given."""
    value = (code_or_name or "").strip()
    if not value:
        return "", ""
    try:
        country = pycountry.countries.lookup(value)
    except LookupError:
        return value, ""
    return getattr(country, "common_name", None) or country.name, country.alpha_2


def state_name(country_code: str, state: str, given_name: str = "") -> str:
    if given_name.strip():
        return given_name.strip()
    state = (state or "").strip()
    if not state or not country_code:
        return state
    subdivision = pycountry.subdivisions.get(code=f"{country_code}-{state.upper()}")
    return subdivision.name if subdivision else state


def standardise(address: Address | None) -> StandardAddress:
    if address is None:
        return StandardAddress("", "", "", "", "", "", "")
    lines = [line.strip() for line in address.street.replace("\r", "\n").split("\n") if line.strip()]
    country, alpha2 = country_name(address.country_code)
    return StandardAddress(
        street=fit(lines[0] if lines else ""), street2=fit(", ".join(lines[1:])), city=fit(address.city),
        province=fit(state_name(alpha2, address.state, address.state_name)), code=fit(address.zipcode).upper(),
        country=fit(country), country_code=alpha2)

"""Data quality beyond the schema: what an order must be for an invoice a person can send and a client
FreshBooks can reach. Pure; each finding names its field and says how bad it is:

    error    the invoice cannot be right: the totals do not add up, the currency is not the account's, the
             email is not deliverable in form (a special-use domain, no dot in the domain), the country is unknown
    warning  a phone no numbering plan has (phonenumbers), an unknown subdivision, an address missing a part
             an invoice needs (name, street, city, postcode where the country has them, the state where it
             must be given)

The rules (`validation.actions`) say per severity: flag (book it, the finding kept) or review (hold it)."""

from __future__ import annotations

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

from mappings.findings import Finding
from mappings.money import currency_places, plain, quantize
from mappings.orders import line_subtotal
from mappings.rules import Rules
from mappings.xcart.entities import Address, Order, Product, Profile

STATE_REQUIRED = frozenset({"US", "CA", "AU", "BR", "MX", "IN"})  # their postal addresses need the state
NO_POSTCODE = frozenset({"AE", "AG", "AO", "BS", "BZ", "FJ", "GD", "GH", "HK", "IE", "JM", "KI", "QA", "SC", "TV",
                         "UG", "YE", "ZW"})  # (Ireland's Eircode is not required on mail)


def validate_order(order: Order, rules: Rules) -> list[Finding]:
    findings = _email(order.email)
    for kind in ("billing_address", "shipping_address"):
        address = getattr(order, kind)
        if address is not None or kind == "billing_address":
            findings += validate_address(address, kind)
    findings += _totals(order)
    findings += _currency(order, rules)
    return findings


def validate_profile(profile: Profile) -> list[Finding]:
    """A customer: the login's form and domain, and each address as an order's would be checked."""
    findings = _email(profile.login, "login")
    for n, address in enumerate(profile.addresses):
        findings += validate_address(address, f"addresses[{n}]")
    return findings


def validate_product(product: Product) -> list[Finding]:
    """A product: what its FreshBooks item and the invoice lines need (a name, a price above nothing)."""
    findings = []
    if not (product.name or "").strip():
        findings.append(_finding("product", "name", "no name: the invoice line would have none", "warning"))
    if product.price is None or product.price <= 0:
        findings.append(_finding("product", "price", f"price {product.price}: sold for nothing", "warning"))
    return findings


def _finding(kind: str, path: str, message: str, severity: str) -> Finding:
    return Finding("validation", kind, path, message, severity)


def _email(email: str, path: str = "email") -> list[Finding]:
    try:
        validate_email(email, check_deliverability=False)  # the form and the domain's; no DNS from a worker
    except EmailNotValidError as exc:
        return [_finding("email", path, f"{email!r}: {exc}", "error")]
    return []


def validate_address(address: Address | None, path: str) -> list[Finding]:
    if address is None:
        return [_finding("address", path, "no address: the invoice has nowhere to go", "error")]
    country = (address.country_code or "").strip().upper()
    found = _country(country, path)
    if found:
        return found + _completeness(address, "", path)
    return (_subdivision(address, country, path) + _phone(address.phone, country, path)
            + _completeness(address, country, path))


def _country(code: str, path: str) -> list[Finding]:
    if not code:
        return [_finding("country", f"{path}.country_code", "no country", "error")]
    if pycountry.countries.get(alpha_2=code) is None:
        return [_finding("country", f"{path}.country_code", f"{code!r} is not an ISO 3166 country code", "error")]
    return []


def _subdivision(address: Address, country: str, path: str) -> list[Finding]:
    state = (address.state or "").strip().upper()
    if not state:
        if country in STATE_REQUIRED and not (address.state_name or "").strip():
            return [_finding("subdivision", f"{path}.state", f"no state or province (needed in {country})",
                             "warning")]
        return []
    if pycountry.subdivisions.get(code=f"{country}-{state}") is None:
        known = pycountry.subdivisions.get(country_code=country) or []
        names = {s.name.upper(): s.code for s in known}
        hint = f"; did you mean {names[state]}?" if state in names else ""
        return [_finding("subdivision", f"{path}.state", f"{state!r} is not a subdivision of {country}{hint}",
                         "warning")]
    return []


def _phone(phone: str | None, country: str, path: str) -> list[Finding]:
    if not (phone or "").strip():
        return []
    normalised = e164(phone, country)
    if normalised is None:
        return [_finding("phone", f"{path}.phone", f"{phone!r} is not a valid phone number for {country}", "warning")]
    return []


def e164(phone: str, country: str) -> str | None:
    """The number in E.164 (+12125550123), read as a national number of `country` unless it starts with +;
    None when no numbering plan has it."""
    try:
        parsed = phonenumbers.parse(phone, country or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _completeness(address: Address, country: str, path: str) -> list[Finding]:
    missing = []
    if not ((address.firstname or "").strip() or (address.lastname or "").strip() or (address.company or "").strip()):
        missing.append("name")
    for part, value in (("street", address.street), ("city", address.city)):
        if not (value or "").strip():
            missing.append(part)
    if country and country not in NO_POSTCODE and not (address.zipcode or "").strip():
        missing.append("zipcode")
    if not missing:
        return []
    return [_finding("address", f"{path}.{missing[0] if len(missing) == 1 else ''}".rstrip("."),
                     f"missing {', '.join(missing)}: not enough for an invoice", "warning")]


def _totals(order: Order) -> list[Finding]:
    places = currency_places(order.currency)
    items = sum((line_subtotal(i, places) for i in order.items), order.sub_total * 0)
    found = []
    if items != order.sub_total:
        found.append(_finding("totals", "sub_total", f"the items add up to {plain(items)}, sub_total says "
                                                     f"{plain(order.sub_total)}", "error"))
    added = sum((quantize(s.value, places) for s in order.surcharges if s.available and not s.include),
                order.sub_total * 0)
    if order.sub_total + added != order.total:
        found.append(_finding("totals", "total", f"sub_total {plain(order.sub_total)} and surcharges {plain(added)} "
                                                 f"make {plain(order.sub_total + added)}, total says "
                                                 f"{plain(order.total)}", "error"))
    return found


def _currency(order: Order, rules: Rules) -> list[Finding]:
    if rules.currency_policy == "convert":
        try:
            rules.rates.rate(order.currency, rules.account_currency)
        except LookupError as exc:
            return [_finding("currency", "currency", f"{exc} (currency.rates)", "error")]
        return []
    known = rules.validation.currencies
    if known and order.currency not in (*known, rules.account_currency):
        return [_finding("currency", "currency", f"{order.currency} is not a currency of the FreshBooks account "
                                                 f"({', '.join(sorted({rules.account_currency, *known}))}; "
                                                 "validation.currencies)", "error")]
    return []

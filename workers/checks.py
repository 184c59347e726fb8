"""The assistants' check, first in the order chain (check_order, or the first booking step when the chain leaves
that out: workers/orders.idle_steps): the data-quality check (mappings/validation.py) and the
anomaly check (mappings/anomalies.py, learned from the store's history in store/assistants.py). Their
findings are kept beside the order (`xcfb events show`); the rules say per kind or severity whether the order
is booked with its flags or held for a person (a review dead letter naming each field). Each check is
switched on and off in the rules (`validation.enabled`, `anomalies.enabled`)."""

from __future__ import annotations

from mappings import anomalies
from mappings.findings import Finding, HeldForReview
from mappings.rules import Rules
from mappings.validation import validate_order, validate_product, validate_profile
from mappings.xcart.entities import Product, Profile
from store import assistants
from workers.order_reads import check_key, checks_on, load_checked_order, transactions_of
from workers.ports import StepPorts


def check_order(svc: StepPorts, order_id: int, event_id: str | None = None) -> list[Finding]:
    """Checks the order, records what it found and what it observed; raises HeldForReview when a finding the
    rules hold has not been accepted by a person. Running it again gives the same answer."""
    rules = svc.rules
    if not checks_on(rules):
        return []
    order, version, checked = load_checked_order(svc, order_id, event_id)
    transactions = transactions_of(svc, order_id) if rules.anomalies.enabled else []
    key = check_key(rules, version, order, transactions)
    if checked == key:  # passed as it is (a payment's event brings no new version): the same answer, not re-learned
        kept = assistants.kept_findings(svc.sessions, order_id)
        if not any(row.holds_the_order for _, row in kept):
            return [finding for finding, _ in kept]
    findings = validate_order(order, rules) if rules.validation.enabled else []
    with svc.locks.order(order_id):
        if rules.anomalies.enabled:
            catalogue = assistants.catalogue_prices(svc.sessions, (item.sku for item in order.items))
            with assistants.SqlHistory(svc.sessions, order_id, rules.anomalies.window,
                                       anomalies.history_questions(order)) as history:
                examination = anomalies.examine(order, transactions, catalogue, history, rules.anomalies)
            observed = examination.observations
            findings += examination.findings
        else:
            observed = None
        # kept as passed with the findings unless one holds the order: the steps book it then (workers/orders.py)
        rows = assistants.record_check(svc.sessions, order_id, order.create_date, observed, findings,
                                       [action(f, rules) for f in findings], check_key=key)
    held = [f for f, row in zip(findings, rows, strict=True) if row.holds_the_order]
    if held:
        raise HeldForReview(held)
    return findings


def action(finding: Finding, rules: Rules) -> str:
    if finding.source == "anomaly":
        return rules.anomalies.kinds[finding.kind].action
    return rules.validation.actions.get(finding.severity, "flag")


def check_product(svc: StepPorts, product: Product) -> list[Finding]:
    """Keeps the catalogue price unit prices are checked against; a product's findings (a price that jumped
    tenfold, no name, no price) are kept beside it and flagged, never held: the orders are checked on their own."""
    findings = []
    if svc.rules.validation.enabled:
        findings += validate_product(product)
    if product.sku and product.price is not None:
        previous = assistants.remember_price(svc.sessions, product.sku, product.price)
        jump = anomalies.catalogue_change(product.sku, previous, product.price)
        if jump and svc.rules.anomalies.enabled:
            findings.append(jump)
    assistants.record_entity_findings(svc.sessions, "product", product.sku, findings)
    return findings


def check_profile(svc: StepPorts, profile: Profile) -> list[Finding]:
    """A customer's data quality, kept beside it and flagged (its orders are checked on their own)."""
    findings = validate_profile(profile) if svc.rules.validation.enabled else []
    assistants.record_entity_findings(svc.sessions, "customer", profile.login.strip().lower(), findings)
    return findings

"""X-Cart payment and fulfilment statuses -> what the FreshBooks invoice becomes."""

from __future__ import annotations

from mappings.rules import Rules
from mappings.xcart.entities import StatusRef


def invoice_action(payment: StatusRef, fulfilment: StatusRef, rules: Rules) -> str:
    """draft | sent | paid | void | credit | review. Fulfilment overrides win; custom statuses without a
    code are matched by id, then by name."""
    return (_lookup(rules.fulfilment_status, fulfilment) or _lookup(rules.payment_status, payment)
            or rules.unknown_status)


def _lookup(table: dict[str, str], status: StatusRef) -> str | None:
    for key in (status.code, None if status.id is None else str(status.id), status.name):
        if key and key in table:
            return table[key]
    return None

"""What the assistants say about an order: a finding (anomaly or data-quality problem) with the field it is
about, how bad it is and why; and the review an order is held for when the rules say a person must look."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mappings.orders import NeedsReview

SOURCES = ("anomaly", "validation")
ACTIONS = ("flag", "review")  # flag: book the order and keep the finding beside it | review: hold it for a person


@dataclass(frozen=True)
class Finding:
    source: str  # anomaly | validation
    kind: str  # anomaly: unit_price, order_total, discount, tax_rate, quantity, refunds; validation: email, ...
    path: str  # the field it is about, e.g. items[2].price, billing_address.phone
    message: str
    severity: str  # validation: error | warning | info; anomaly: anomaly
    score: Decimal = Decimal(0)  # anomaly: how far out, in robust standard deviations; validation: 0
    value: str = ""  # anomaly: the field's value it judged (its message also quotes the history, which moves)

    @property
    def judged(self) -> str:
        """What a person who accepts the finding accepts: the value judged (a validation finding's message says
        it). A later version with another value under the same field is judged again, not covered."""
        return self.value or self.message

    def as_dict(self) -> dict:
        return {"path": self.path, "message": f"{self.source} {self.kind}: {self.message}"}


class HeldForReview(NeedsReview):
    """The rules hold the order for a person because of these findings; each names its field."""

    def __init__(self, findings: list[Finding]):
        self.findings = findings
        super().__init__([f"{f.path}: {f.message}" for f in findings])

    @property
    def details(self) -> list[dict]:
        return [f.as_dict() for f in self.findings]

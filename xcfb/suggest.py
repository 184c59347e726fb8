"""`xcfb suggest`: mapping rules proposed from the X-Cart store (REST: catalogue, recent orders and their
payments) and the FreshBooks account (items, taxes, clients), each with its confidence and evidence
(mappings/suggestions.py); `--apply` writes them into a new rules file beside the old one, where a person set
nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from mappings.rules import DEFAULT_RULES, parse_rules
from mappings.suggestions import BooksData, StoreData, Suggestion, apply, suggest
from mappings.xcart.schemas import OrderSchema, PaymentTransactionSchema, ProductSchema, load
from runtime.bootstrap import Services
from store import binder, ledger
from xcfb.operations import OperatorError

EVERYTHING = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Outcome:
    suggestions: list[Suggestion]
    applied: list[Suggestion]
    written: Path | None
    bound: list[Suggestion] = field(default_factory=list)


def run(svc: Services, *, min_confidence: float, do_apply: bool, days: int, limit: int, out: Path | None,
        now: datetime | None = None) -> Outcome:
    if svc.xcart is None:
        raise OperatorError("X-Cart is not connected (xcfb connect xcart, or XCART_API_URL): nothing to learn from")
    source = Path(svc.settings.rules_path or DEFAULT_RULES)
    text = source.read_text(encoding="utf-8")
    rules = parse_rules(text, str(source))
    document = yaml.safe_load(text) or {}
    store = read_store(svc.xcart, (now or datetime.now(UTC)) - timedelta(days=days), limit)
    books = BooksData(svc.freshbooks.list_items(), svc.freshbooks.list_taxes(), svc.freshbooks.list_clients())
    suggestions = suggest(store, books, rules, document)
    if not do_apply:
        return Outcome(suggestions, [], None)
    new, applied = apply(document, suggestions, min_confidence)
    target = out or source.with_name(f"{source.stem}.suggested.yaml")
    if target.resolve() == source.resolve():
        raise OperatorError(f"{target} is the rules file in use: the suggestions go into a new file beside it")
    written = _header(source, min_confidence, applied) + yaml.safe_dump(new, sort_keys=False, allow_unicode=True)
    parse_rules(written, str(target))  # what is written is a valid rules file, or nothing is
    target.write_text(written, encoding="utf-8")
    return Outcome(suggestions, applied, target, bind(svc, suggestions, min_confidence))


def bind(svc: Services, suggestions: list[Suggestion], min_confidence: float) -> list[Suggestion]:
    """X-Cart objects bound to the existing FreshBooks object suggested for them, where nothing is bound yet (a
    binding the service made, or a person's, is never changed)."""
    bound = []
    for s in suggestions:
        if s.binding is None or s.confidence < min_confidence:
            continue
        kind, external_id, freshbooks_id = s.binding
        if binder.lookup(svc.sessions, kind, external_id) is None:
            binder.bind(svc.sessions, kind, external_id, freshbooks_id)
            ledger.audit(svc.sessions, "bind", kind, freshbooks_id, f"xcfb suggest --apply: {s.proposal}")
            bound.append(s)
    return bound


def read_store(xcart, since: datetime, limit: int) -> StoreData:
    """The catalogue, the latest `limit` orders changed since `since`, and their payment transactions."""
    orders = sorted(xcart.orders_changed_since(since), key=lambda o: str(o.get("update_date")), reverse=True)[:limit]
    loaded = [load(OrderSchema, o) for o in orders]
    transactions = {o.id: [load(PaymentTransactionSchema, t) for t in xcart.payment_transactions(o.id)]
                    for o in loaded}
    products = [load(ProductSchema, p) for p in xcart.products_changed_since(EVERYTHING)]
    return StoreData(loaded, transactions, products)


def _header(source: Path, min_confidence: float, applied: list[Suggestion]) -> str:
    lines = [f"# Written by `xcfb suggest --apply` from {source} at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC:",
             f"# {len(applied)} suggested rules of confidence {min_confidence} or more added; every rule set in",
             "# that file is kept as it was. Review, then point XCFB_RULES at this file and restart the workers."]
    lines += [f"#   {s.proposal} ({s.confidence:.2f}: {s.evidence})" for s in applied]
    return "\n".join(lines) + "\n"


def report(outcome: Outcome, min_confidence: float) -> list[str]:
    rows = [f"{'conf':>5}  {'kind':<12} {'changes':<7}  proposal / evidence"]
    for s in sorted(outcome.suggestions, key=lambda s: (s.kind, -s.confidence, s.subject)):
        mark = "" if s.confidence >= min_confidence else "  (below --min-confidence)"
        how = "" if s.applicable or s.binding else "  (reported: no rule for it)"
        rows.append(f"{s.confidence:>5.2f}  {s.kind:<12} {'yes' if s.changes_booking else 'no':<7}  "
                    f"{s.proposal}{mark}{how}")
        rows.append(f"{'':>5}  {'':<12} {'':<7}    {s.evidence}")
    if outcome.written:
        rows.append(f"wrote {outcome.written}: {len(outcome.applied)} rules added; point XCFB_RULES at it to use it")
        rows += [f"bound {s.binding[1]} to FreshBooks {s.binding[0]} {s.binding[2]}" for s in outcome.bound]
    return rows

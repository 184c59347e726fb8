"""Rule versions from save to production: what each environment runs, the dry run that must come before a
promotion, the promotion itself (dev -> qa -> prod) and the rollback. The console and `xcfb rules` both
call these; every change is written to the audit trail with who made it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from mappings import jsonio
from mappings.errors import PayloadInvalid
from mappings.orders import InvoicePlan, NeedsReview, map_order
from mappings.rules import DEFAULT_RULES, Rules, parse_rules
from mappings.xcart.entities import Order
from mappings.xcart.schemas import OrderSchema, load
from store import binder, ledger, rulebook
from store.models import OrderSnapshot, RuleVersion
from store.rulebook import ENVIRONMENTS

DRY_RUN_ORDERS = 50  # how many of the newest orders a promotion is tried on by default
MAX_FIELDS_SHOWN = 12  # differing fields kept per order in a report


class PromotionRefused(Exception):
    pass


@dataclass(frozen=True)
class Running:
    """What an environment runs: a pinned version, or the rules file."""

    environment: str
    version_id: int | None
    text: str

    @property
    def label(self) -> str:
        return f"version {self.version_id}" if self.version_id is not None else "the rules file"


def running(svc, environment: str) -> Running:
    version_id = rulebook.pinned_version_id(svc.sessions, environment)
    if version_id is not None:
        return Running(environment, version_id, rulebook.get_version(svc.sessions, version_id).text)
    return Running(environment, None, file_text(svc))


def file_text(svc) -> str:
    """The rules file (XCFB_RULES, else the shipped defaults): what runs where nothing is pinned."""
    return (svc.settings.rules_path or DEFAULT_RULES).read_text(encoding="utf-8")


def save(svc, text: str, author: str, comment: str, parent_id: int | None) -> RuleVersion:
    """A new immutable version; the text must be valid rules (RulesInvalid names each bad path)."""
    parse_rules(text, "the new rules")
    version = rulebook.save_version(svc.sessions, text, author, comment.strip(), parent_id)
    ledger.audit(svc.sessions, "save", "rules", None, f"version {version.id}: {comment.strip()}", actor=author)
    return version


# -- the dry run ---------------------------------------------------------------------------------------------

def recent_orders(svc, limit: int) -> list[Order]:
    """The newest orders received, readable ones only (an unreadable one is a dead letter already)."""
    with svc.sessions() as session:
        payloads = list(session.scalars(select(OrderSnapshot.payload).order_by(OrderSnapshot.update_date.desc())
                                        .limit(limit)))
    orders = []
    for payload in payloads:
        try:
            orders.append(load(OrderSchema, jsonio.loads(payload)))
        except (PayloadInvalid, ValueError):
            continue
    return orders


def known_skus(svc, order: Order, rules: Rules) -> set[str] | None:
    """What `map_order` is told at invoice time: every SKU gets an item when the rules create missing ones."""
    if rules.create_missing_items:
        return None
    return {item.sku for item in order.items if binder.bound_id(svc.sessions, "item", item.sku) is not None}


def booking(svc, order: Order, rules: Rules) -> dict:
    """What would be booked for the order under the rules, as plain JSON values: the invoice, or review."""
    try:
        plan = map_order(order, rules, known_skus(svc, order, rules))
    except NeedsReview as held:
        return {"outcome": "review", "reasons": held.reasons}
    return {"outcome": plan.action, "total": str(plan.total), "currency": plan.currency, "invoice": plan.body(0)}


def plan_or_reasons(svc, order: Order, rules: Rules) -> InvoicePlan | list[str]:
    try:
        return map_order(order, rules, known_skus(svc, order, rules))
    except NeedsReview as held:
        return held.reasons


def compare(before: dict, after: dict) -> list[dict]:
    """Fields of a booking that differ, by path (invoice.lines.2.unit_cost.amount)."""
    flat_before, flat_after = _flatten(before), _flatten(after)
    return [{"path": path, "before": flat_before.get(path), "after": flat_after.get(path)}
            for path in sorted(set(flat_before) | set(flat_after)) if flat_before.get(path) != flat_after.get(path)]


def _flatten(value, path: str = "") -> dict:
    if isinstance(value, dict):
        return {k: v for key, item in value.items()
                for k, v in _flatten(item, f"{path}.{key}" if path else str(key)).items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flatten(item, f"{path}.{i}").items()}
    return {path: str(value) if isinstance(value, Decimal) else value}


def dry_run(svc, version_id: int, environment: str, actor: str, orders: int = DRY_RUN_ORDERS):
    """Runs the version over the newest orders next to what the environment runs now; keeps the report."""
    version = rulebook.get_version(svc.sessions, version_id)
    if version is None:
        raise PromotionRefused(f"no rule version {version_id}")
    now = running(svc, environment)
    old, new = parse_rules(now.text, now.label), parse_rules(version.text, f"version {version_id}")
    differences = []
    checked = recent_orders(svc, orders)
    for order in checked:
        fields = compare(booking(svc, order, old), booking(svc, order, new))
        if fields:
            differences.append({"order": order.order_number, "order_id": order.id, "fields": fields[:MAX_FIELDS_SHOWN],
                                "more": max(0, len(fields) - MAX_FIELDS_SHOWN)})
    report = rulebook.keep_report(svc.sessions, version_id, environment, now.label, len(checked), differences, actor)
    ledger.audit(svc.sessions, "dry-run", "rules", None,
                 f"version {version_id} against {environment} ({now.label}): {len(checked)} orders, "
                 f"{len(differences)} booked differently (report {report.id})", actor=actor)
    return report


# -- promotion and rollback ----------------------------------------------------------------------------------

def may_promote_to(svc, version_id: int, environment: str) -> None:
    """dev takes any version; qa only the one dev runs, prod only the one qa runs."""
    if environment not in ENVIRONMENTS:
        raise PromotionRefused(f"environment: must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}")
    if rulebook.get_version(svc.sessions, version_id) is None:
        raise PromotionRefused(f"no rule version {version_id}")
    index = ENVIRONMENTS.index(environment)
    if index > 0:
        before = ENVIRONMENTS[index - 1]
        if rulebook.pinned_version_id(svc.sessions, before) != version_id:
            raise PromotionRefused(f"version {version_id} is not what {before} runs: promote it to {before} first")
    if rulebook.pinned_version_id(svc.sessions, environment) == version_id:
        raise PromotionRefused(f"{environment} runs version {version_id} already")


def promote(svc, version_id: int, environment: str, report_id: int, expected_orders: set[str], actor: str):
    """Pins the version to the environment, given a dry run of it against what the environment runs now in
    which every order booked differently is one the person expected to change."""
    may_promote_to(svc, version_id, environment)
    report = rulebook.get_report(svc.sessions, report_id)
    if report is None or report.version_id != version_id or report.environment != environment:
        raise PromotionRefused(f"report {report_id} is not a dry run of version {version_id} against {environment}")
    if report.baseline != running(svc, environment).label:
        raise PromotionRefused(f"{environment} changed since report {report_id} was made: run the dry run again")
    unexpected = [d["order"] for d in report.differences if d["order"] not in expected_orders]
    if unexpected:
        raise PromotionRefused(f"orders booked differently and not marked expected: {', '.join(unexpected)}")
    pin = rulebook.pin(svc.sessions, environment, version_id, "promote", actor, report_id)
    ledger.audit(svc.sessions, "promote", "rules", None,
                 f"version {version_id} to {environment} (dry run report {report_id}, "
                 f"{len(report.differences)} expected differences)", actor=actor)
    return pin


def history(svc, environment: str) -> list[int]:
    """The versions an environment has run that a rollback can go back to, oldest first; the last is current.
    A promotion adds one, a rollback takes the last away."""
    stack: list[int] = []
    for pin in reversed(rulebook.pins(svc.sessions, environment)):
        if pin.action == "rollback":
            stack.pop()
        else:
            stack.append(pin.version_id)
    return stack


def rollback(svc, environment: str, actor: str) -> int:
    """Re-pins the version the environment ran before the current one; returns it."""
    if environment not in ENVIRONMENTS:
        raise PromotionRefused(f"environment: must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}")
    stack = history(svc, environment)
    if len(stack) < 2:
        raise PromotionRefused(f"{environment} has no earlier version to roll back to")
    current, previous = stack[-1], stack[-2]
    rulebook.pin(svc.sessions, environment, previous, "rollback", actor)
    ledger.audit(svc.sessions, "rollback", "rules", None, f"{environment} from version {current} to {previous}",
                 actor=actor)
    return previous

"""What an operator does from the shell: look at dead letters and events, replay, discard."""

from __future__ import annotations

import json
from collections.abc import Callable

from mappings.errors import PayloadInvalid
from mappings.xcart.envelope import event_keys, read_envelope
from runtime.bootstrap import Services
from store import assistants, binder, ledger
from store.models import as_utc


class OperatorError(Exception):
    pass


def list_dead_letters(svc: Services, status: str | None = "open") -> list[str]:
    rows = [f"{'id':>5}  {'kind':<9} {'status':<10} {'created (UTC)':<19}  event / reason"]
    for letter in ledger.dead_letters(svc.sessions, status):
        rows.append(f"{letter.id:>5}  {letter.kind:<9} {letter.status:<10} "
                    f"{as_utc(letter.created_at):%Y-%m-%d %H:%M:%S}  {letter.event_id}: {letter.reason[:100]}")
    return rows


def show_dead_letter(svc: Services, letter_id: int) -> list[str]:
    letter = ledger.get_dead_letter(svc.sessions, letter_id)
    if letter is None:
        raise OperatorError(f"no dead letter {letter_id}")
    event = ledger.get_event(svc.sessions, letter.event_id)
    lines = [f"dead letter {letter.id}: {letter.kind}, {letter.status}, parked by {letter.task} at "
             f"{as_utc(letter.created_at).isoformat()}",
             f"event {letter.event_id} ({event.type if event else '?'}), attempts: {event.attempts if event else '?'}",
             f"reason: {letter.reason}"]
    lines += [f"  {error['path']}: {error['message']}" for error in letter.errors]
    if event and event.order_id is not None and letter.status == "open":
        lines += _held_now(svc, letter.id, event.order_id)
    if event:
        lines += ["payload:", _readable(event.payload)]
    return lines


def _held_now(svc: Services, letter_id: int, order_id: int) -> list[str]:
    """The order's findings that hold it now (a version checked since the letter was parked may hold it for
    others), and how to accept exactly these."""
    findings = assistants.findings_for_order(svc.sessions, order_id)
    held = [f for f in findings if f.holds_the_order]
    if not held:
        return []
    return (["held now by:"] + [f"  {f.source} {f.kind} {f.path}: {f.message}" for f in held]
            + [f"accept exactly these: xcfb dlq replay {letter_id} --accept --seen {assistants.held_token(findings)}"])


def _readable(payload: str) -> str:
    try:
        shown = json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
        shown.encode("utf-8")  # a lone surrogate cannot be printed
        return shown
    except (ValueError, RecursionError):  # an unreadable body: shown as it was kept
        return payload


def replay(svc: Services, letter_id: int, send: Callable[[str, list], None], payload: str | None = None) -> str:
    """Runs a parked event again (after the rules or the payload were fixed)."""
    letter = ledger.get_dead_letter(svc.sessions, letter_id)
    if letter is None or letter.status != "open":
        raise OperatorError(f"no open dead letter {letter_id}")
    if payload is not None:
        try:
            edited = read_envelope(payload)  # the reader ingest and the workers use
        except PayloadInvalid as exc:
            raise OperatorError(f"the edited payload cannot be replayed: {exc}") from None
        if edited["id"] != letter.event_id:
            raise OperatorError(f"the edited payload must keep the event id {letter.event_id!r}")
        ledger.replace_payload(svc.sessions, letter.event_id, payload, *event_keys(edited["type"], edited["data"]))
    ledger.resolve_dead_letter(svc.sessions, letter_id, "replayed")
    ledger.reopen(svc.sessions, letter.event_id)
    send("xcfb.handle_event", [letter.event_id])
    return letter.event_id


def discard(svc: Services, letter_id: int) -> str:
    """Closes the letter and skips the events it holds (an order's review may hold several); returns its event."""
    held = ledger.discard_dead_letter(svc.sessions, letter_id, f"discarded by an operator (dead letter {letter_id})")
    if held is None:
        raise OperatorError(f"no open dead letter {letter_id}")
    return held[0]


def show_order(svc: Services, reference: str) -> list[str]:
    events = ledger.events_for_order(svc.sessions, reference)
    if not events:
        raise OperatorError(f"no event for order {reference} (give the order number or the X-Cart order id)")
    order_id = next(e.order_id for e in events if e.order_id is not None)
    invoice = binder.lookup(svc.sessions, "invoice", str(order_id))
    lines = [f"order {events[0].order_number} (X-Cart id {order_id}); FreshBooks invoice: "
             + (f"{invoice.freshbooks_id} (version {invoice.version})" if invoice and invoice.freshbooks_id
                else "none")]
    lines.append("events:")
    for event in events:
        took = (f", {(as_utc(event.finished_at) - as_utc(event.received_at)).total_seconds():.2f}s"
                if event.finished_at else "")
        lines.append(f"  {as_utc(event.received_at):%Y-%m-%d %H:%M:%S}  {event.id}  {event.type:<28} "
                     f"{event.status:<10} attempts {event.attempts}{took}"
                     + (f"  ({event.last_error})" if event.last_error else ""))
    lines += findings_lines(svc, order_id)
    lines.append("changes in FreshBooks:")
    for entry in ledger.audit_for_order(svc.sessions, order_id):
        lines.append(f"  {as_utc(entry.at):%Y-%m-%d %H:%M:%S}  {entry.action:<7} {entry.object:<8} "
                     f"{entry.freshbooks_id or '':<8} {entry.detail}" + (f" (by {entry.actor})" if entry.actor else ""))
    return lines


def findings_lines(svc: Services, order_id: int) -> list[str]:
    """The assistants' findings about the order (workers/checks.py): what, where, and what the rules did."""
    found = assistants.findings_for_order(svc.sessions, order_id)
    if not found:
        return []
    lines = ["findings:"]
    for f in found:
        what = {"flag": "booked, flagged", "review": "held for review"}[f.action]
        if f.status == "accepted":
            what = "accepted by a person"
        score = f", score {f.score}" if f.source == "anomaly" else ""
        lines.append(f"  {f.source} {f.kind} ({f.severity}{score}) {f.path}: {f.message} [{what}]")
    return lines


def accept_findings(svc: Services, letter_id: int, seen: str | None = None) -> int:
    """Before a replay: the order's held findings are accepted by the person replaying, so that the check lets
    the order through this time (flags stay visible). Returns how many were accepted. `seen`: the findings the
    person was shown (assistants.held_token); refused when the order's held findings are others now."""
    letter = ledger.get_dead_letter(svc.sessions, letter_id)
    if letter is None or letter.status != "open":
        raise OperatorError(f"no open dead letter {letter_id}")
    event = ledger.get_event(svc.sessions, letter.event_id)
    if event is None or event.order_id is None:
        raise OperatorError(f"dead letter {letter_id} is not about an order: nothing to accept")
    try:
        return assistants.accept_findings(svc.sessions, event.order_id, seen)
    except assistants.FindingsChanged as exc:
        raise OperatorError(f"dead letter {letter_id}: {exc} (another version was checked): look at them again, "
                            "then accept what is held now") from None


def list_findings(svc: Services) -> list[str]:
    """Every finding the assistants keep: orders (held or flagged), then customers and products."""
    lines = [f"{'what':<24} {'source':<10} {'kind':<15} {'severity':<8} {'done':<9} path: message"]
    for order_id, found in assistants.flagged_orders(svc.sessions).items():
        for f in found:
            done = "accepted" if f.status == "accepted" else {"flag": "flagged", "review": "held"}[f.action]
            lines.append(f"{'order ' + str(order_id):<24} {f.source:<10} {f.kind:<15} {f.severity:<8} {done:<9} "
                         f"{f.path}: {f.message}")
    for f in assistants.entity_findings(svc.sessions):
        lines.append(f"{(f.entity + ' ' + f.entity_key)[:24]:<24} {f.source:<10} {f.kind:<15} {f.severity:<8} "
                     f"{'flagged':<9} {f.path}: {f.message}")
    return lines


def readable_payload(payload: str) -> str:
    """A kept payload as a person reads and edits it: indented JSON, or the text as kept when unreadable."""
    return _readable(payload)

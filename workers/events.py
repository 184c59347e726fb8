"""Taking an X-Cart event in: record it once, read it, and do what needs no order chain."""

from __future__ import annotations

import hashlib

from mappings import jsonio
from mappings.errors import PayloadInvalid
from mappings.xcart.entities import Order, PaymentTransaction, Product, Profile
from mappings.xcart.envelope import envelope_of, event_keys, read_json
from mappings.xcart.schemas import OrderSchema, load, parse_event
from store import ledger, snapshots
from store.ledger import TERMINAL
from store.models import Event
from workers import two_way
from workers.catalogue import delete_item, upsert_client, upsert_item
from workers.checks import check_product, check_profile
from workers.failures import OrderNotYetSeen, UnknownEvent
from workers.order_reads import remember_order
from workers.ports import StepPorts

FRESHBOOKS = "freshbooks."  # the type prefix of recorded FreshBooks callbacks


def receive(svc: StepPorts, raw: str) -> tuple[str, bool]:
    """Records the raw event before anything else; returns its id and whether it still needs processing
    (False: a redelivery of an event already dealt with, or a body that cannot be read)."""
    event_id, needed, _ = _take_in(svc, raw, started=False)
    return event_id, needed


def take_in(svc: StepPorts, raw: str) -> tuple[str, bool, dict | None]:
    """receive, for a caller that handles the event at once (process_event): an event it has just recorded is
    recorded as started (its first attempt, in the same write), and its body is given, so that `handle` need not
    read the event back and parse it again (None: a redelivery, or unreadable; the recorded text is then the one
    read, and `handle` starts the attempt)."""
    return _take_in(svc, raw, started=True)


def _take_in(svc: StepPorts, raw: str, started: bool) -> tuple[str, bool, dict | None]:
    try:
        body = read_json(raw)
        envelope = envelope_of(body)  # the reader ingest checked the body with
    except PayloadInvalid as exc:
        return _record_unreadable(svc, raw, exc), False, None
    event_id, event_type = envelope["id"], envelope["type"]
    entity_key, order_id, order_number = event_keys(event_type, envelope["data"])
    if ledger.record_event(svc.sessions, event_id, event_type, entity_key, raw, order_id, order_number,
                           started=started):
        return event_id, True, body
    known = ledger.get_event(svc.sessions, event_id)
    return event_id, known.status not in TERMINAL, None


def recorded(svc: StepPorts, event_id: str) -> Event:
    event = ledger.get_event(svc.sessions, event_id)
    if event is None:
        raise UnknownEvent(f"no event {event_id!r} has been recorded "
                           "(`xcfb events show ORDER` lists an order's events)")
    return event


def _record_unreadable(svc: StepPorts, raw: str, problem: PayloadInvalid) -> str:
    """A body no worker can read (ingest refuses these; an older or hand-sent message may bring one) is
    kept as text under an id derived from its bytes and dead-lettered as invalid, naming the problem:
    visible in `xcfb dlq list`, never dropped. The same body again finds it recorded."""
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
    event_id = f"unreadable:{digest}"
    printable = raw.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    if ledger.record_event(svc.sessions, event_id, "unreadable", f"unreadable:{digest[:32]}", printable):
        ledger.dead_letter(svc.sessions, event_id, "invalid", "xcfb.process_event", str(problem),
                           problem.as_dicts())
    return event_id


def handle(svc: StepPorts, event_id: str, body: dict | None = None) -> int | None:
    """Processes a recorded event; returns the X-Cart order id whose chain must run, or None when done.
    `body`: the X-Cart event take_in has just recorded, as started, and read (else it is read back from the
    database, and its attempt started here)."""
    rerun = False  # handled before: a replay, the stuck-event sweep's re-run, a redelivery
    if body is None:
        kept = recorded(svc, event_id)
        rerun = kept.attempts > 0
        if kept.type.startswith(FRESHBOOKS):
            return _freshbooks_changed(svc, kept)
        body = read_json(kept.payload)
        ledger.start_attempt(svc.sessions, event_id)
    event = parse_event(body)
    data = event.data
    as_sent = jsonio.dumps(body["data"])  # snapshots keep X-Cart's own words
    if isinstance(data, Order):
        if not snapshots.keep_order_if_newer(svc.sessions, data.id, data.order_number, data.update_date, as_sent,
                                             event.created_at):
            if rerun:  # a replay of the order's review (which may name this event), a stuck or redelivered one:
                return data.id  # the chain runs on the newest version, and ends this event with it
            ledger.finish(svc.sessions, event_id, "synced", "superseded by a newer version of the order")
            return None
        remember_order(as_sent, data)  # the snapshot's text, parsed: the chain's steps read it
        return data.id
    if isinstance(data, PaymentTransaction):
        snapshots.keep_payment(svc.sessions, data.id, data.order_id, as_sent)
        if snapshots.order_payload(svc.sessions, data.order_id) is None:
            _fetch_order(svc, data)
        return data.order_id
    outcome = None
    if event.entity == "customer":
        if isinstance(data, Profile):
            check_profile(svc, data)
        outcome = upsert_client(svc, data, event_id).outcome
    elif event.type == "product.deleted":
        delete_item(svc, int(data["id"]), event_id)
    else:
        if isinstance(data, Product):
            check_product(svc, data)
        outcome = upsert_item(svc, data, event_id).outcome
    ledger.finish(svc.sessions, event_id, "synced", outcome)
    return None


def _freshbooks_changed(svc: StepPorts, event: Event) -> None:
    """A FreshBooks callback (workers/tasks.freshbooks_event recorded its form): carried to X-Cart by ownership."""
    ledger.start_attempt(svc.sessions, event.id)
    fields = jsonio.loads(event.payload)
    outcome = two_way.freshbooks_changed(svc, str(fields["name"]), int(fields["object_id"]), event.id)
    ledger.finish(svc.sessions, event.id, "synced", outcome)


def _fetch_order(svc: StepPorts, payment: PaymentTransaction) -> None:
    """A payment seen before its order: the order is read from X-Cart and synced first."""
    if svc.xcart is None:
        raise OrderNotYetSeen(f"payment {payment.id} is for order {payment.order_id}, not received yet")
    order = svc.xcart.order(payment.order_id)
    parsed = load(OrderSchema, order)
    snapshots.keep_order_if_newer(svc.sessions, parsed.id, parsed.order_number, parsed.update_date,
                                  jsonio.dumps(order))

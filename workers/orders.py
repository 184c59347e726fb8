"""The order chain's steps, as plain functions of (services, order id): resolve client -> sync items ->
create invoice -> reconcile payment. Each step is idempotent and can be run alone (celery CLI)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from functools import partial

from apis.freshbooks.errors import ValidationFailed
from mappings import payments, refunds
from mappings.customers import client_from_order
from mappings.orders import InvoicePlan, NeedsReview, map_order
from mappings.refunds import CreditNotePlan
from mappings.taxes import percent_label
from mappings.xcart.entities import Order
from store import binder, ledger, snapshots
from store.models import Binding
from workers import checks, cut_over
from workers.duplicates import client_look_up
from workers.exporter import ensure
from workers.failures import ChecksKeepChanging, InvoiceNotYetBooked
from workers.order_reads import (
    check_key,
    checks_on,
    load_checked_order,
    load_versioned_order,
    may_book,
    read_order,
    transactions_and_check,
    transactions_of,
    version_of,
)
from workers.ports import StepPorts

# How long what FreshBooks answered an invoice's create or update stands in for reading the invoice in the
# payment step right after: the chain's next task normally runs within milliseconds; a person editing or paying
# the new invoice by hand within seconds is not credible. Older (a backlog, a retry): the step reads FreshBooks.
ANSWER_FRESH = timedelta(seconds=10)


def idle_steps(svc: StepPorts, order_id: int) -> set[str]:
    """The chain's steps with nothing to do for the order's newest version, left out of the chain sent for it
    (workers/tasks.order_chain): resolve_client when the client's email is bound, sync_items when every SKU is
    (both would only find their bindings), create_invoice when the invoice is booked from this very version (the
    chain only reconciles), and check_order ahead of the booking steps alone, when one of them checks first:
    - it passed this very version under these rules and refunds (it would only read what it found: a payment's
      event), or
    - create_invoice comes first and the check has not seen this version or these rules: create_invoice checks
      the version it books before anything else (may_book, _check_again) and holds the order as the step would,
      and a task cost more than the check. Not for refunds alone (may_book books a version refunded since; the
      check, which may hold a refund, goes first), nor ahead of reconcile_payment alone, which plans the invoice
      before it checks.
    A binding that goes in the moment between is made up for by create_invoice, which resolves an unbound client
    and syncs unbound items itself; a newer version or rules that come in after, by create_invoice and
    reconcile_payment, which check the order themselves when what they book is not what the checks passed, and
    bring the invoice up to the version; a refund, by reconcile_payment, which checks it before it books a credit
    note."""
    stored = snapshots.order_payload_and_check(svc.sessions, order_id)
    if stored is None:
        return set()
    payload, checked = stored
    order = read_order(payload)
    version = version_of(order, payload)
    email, skus = order.email.strip().lower(), [item.sku for item in order.items]
    bound = binder.bound_versions(svc.sessions, {"client": [email], "item": skus, "invoice": [str(order_id)]})
    idle = set()
    if ("client", email) in bound:
        idle.add("resolve_client")
    if all(("item", sku) in bound for sku in skus):
        idle.add("sync_items")
    if bound.get(("invoice", str(order_id))) == version:
        idle.add("create_invoice")
    # Only ahead of the booking steps. resolve_client and sync_items check the version they make things from too, but
    # where they run the check stays a step of its own: an order it holds is held before anything is made for it.
    if {"resolve_client", "sync_items"} <= idle and (
            _checked_as_it_is(svc, order, version, checked)
            or ("create_invoice" not in idle and not may_book(svc.rules, checked, version))):
        idle.add("check_order")
    return idle


def _checked_as_it_is(svc: StepPorts, order: Order, version: str, checked: str | None) -> bool:
    if not checks_on(svc.rules):
        return True
    if not may_book(svc.rules, checked, version):
        return False
    transactions = transactions_of(svc, order.id) if svc.rules.anomalies.enabled else []
    return checked == check_key(svc.rules, version, order, transactions)


def resolve_client(svc: StepPorts, order_id: int, event_id: str | None = None, *, checked_again: int = 0) -> int:
    """The order's FreshBooks client, found or made from a version of the order the checks passed."""
    order, version, checked = load_checked_order(svc, order_id, event_id)
    if not may_book(svc.rules, checked, version):  # came in after the chain's check: checked here first
        return _check_again(svc, order_id, event_id, checked_again, resolve_client)
    email = order.email.strip().lower()
    fb = svc.freshbooks
    body = client_from_order(order)
    # No client with the email: perhaps the same customer under another one (workers/duplicates.py)
    with svc.locks.order(order_id), client_look_up(svc, email, body, event_id=event_id, order_id=order_id) as find:
        client_id, _ = ensure(svc, "client", email, find, lambda: fb.create_client(body), event_id=event_id,
                              order_id=order_id)
        return client_id


def sync_items(svc: StepPorts, order_id: int, event_id: str | None = None, *, checked_again: int = 0) -> list[str]:
    """Binds every SKU of the order to a FreshBooks item, made from a version of the order the checks passed;
    returns the SKUs FreshBooks knows."""
    order, version, checked = load_checked_order(svc, order_id, event_id)
    if not may_book(svc.rules, checked, version):  # came in after the chain's check: checked here first
        return _check_again(svc, order_id, event_id, checked_again, sync_items)
    fb = svc.freshbooks
    known = []
    with svc.locks.order(order_id):
        bound = binder.bound_ids(svc.sessions, "item", [item.sku for item in order.items])
        for item in order.items:
            if item.sku in bound:
                known.append(item.sku)
                continue
            found = None
            if not svc.rules.create_missing_items:
                found = fb.find_item_by_sku(item.sku)
                if found is None:
                    continue  # unmapped: the rules' unmapped-item policy decides at invoice time
            ensure(svc, "item", item.sku, lambda sku=item.sku, found=found: found or fb.find_item_by_sku(sku),
                   lambda item=item: fb.create_item({"name": item.name, "sku": item.sku, "description": item.name,
                                                     "unit_cost": {"amount": str(item.price),
                                                                   "code": order.currency}}),
                   event_id=event_id, order_id=order_id)
            known.append(item.sku)
    return known


def plan_invoice(svc: StepPorts, order: Order) -> InvoicePlan:
    known = set(binder.bound_ids(svc.sessions, "item", [item.sku for item in order.items]))
    return map_order(order, svc.rules, known_skus=known)


def create_invoice(svc: StepPorts, order_id: int, event_id: str | None = None, *, checked_again: int = 0
                   ) -> int | None:
    """Creates the order's invoice, or brings it up to date with a newer order version; None when the
    order was cancelled before anything was booked."""
    order, version, checked = load_checked_order(svc, order_id, event_id)
    if not may_book(svc.rules, checked, version):
        # before anything is made for it in FreshBooks (its client, items, taxes): see _check_again
        return _check_again(svc, order_id, event_id, checked_again, create_invoice)
    known = set(binder.bound_ids(svc.sessions, "item", [item.sku for item in order.items]))
    if svc.rules.create_missing_items and any(item.sku not in known for item in order.items):
        known = set(sync_items(svc, order_id, event_id))  # run alone, or the chain left it out and a binding went
    plan = map_order(order, svc.rules, known_skus=known)
    client_id = binder.bound_id(svc.sessions, "client", order.email.strip().lower())
    if client_id is None:  # run alone, or without the chain's resolve_client
        client_id = resolve_client(svc, order_id, event_id)
    ensure_taxes(svc, plan, event_id)
    try:
        return _book_invoice(svc, plan, version, client_id, event_id)
    except _ChecksBehind:
        return _check_again(svc, order_id, event_id, checked_again, create_invoice)


# times a step checks the order itself before it gives up for now (retried with backoff); the first may be the
# chain's only check (idle_steps left check_order out)
CHECKED_AGAIN = 4


def _check_again(svc: StepPorts, order_id: int, event_id: str | None, times: int, step):
    """What the step is about to book was not checked (the chain left check_order out), came in after its chain's
    check (a version, a refund), or the checks' rules changed: the step checks the order itself, which holds it
    (HeldForReview) as the chain's check would, then runs again. Again and again only while what is checked keeps
    changing under it (versions arriving, two rule versions in flight): then it is retried later."""
    if times >= CHECKED_AGAIN:
        raise ChecksKeepChanging(f"order {order_id}: what its checks passed changed {times} times during one step")
    checks.check_order(svc, order_id, event_id)
    return step(svc, order_id, event_id, checked_again=times + 1)


def _book_invoice(svc: StepPorts, plan: InvoicePlan, version: str, client_id: int, event_id: str | None) -> int | None:
    """Under the order's lock: the invoice created, adopted or brought up to `version`, which the checks passed."""
    order_id, fb = plan.order_id, svc.freshbooks
    with svc.locks.order(order_id):
        if not may_book(svc.rules, snapshots.checked_version(svc.sessions, order_id), version):
            raise _ChecksBehind  # read under the lock: a check of the order holding it meanwhile clears it
        binding = binder.lookup(svc.sessions, "invoice", str(order_id))
        if binding is not None and binding.freshbooks_id is not None:
            if binding.version == version:  # the snapshot never goes back, so any other version is older
                return binding.freshbooks_id
            return _bring_up_to_date(svc, plan, binding.freshbooks_id, version, event_id)
        # committed before the create; `binding`, read under the lock, is an earlier attempt's intent or None
        first_attempt = binding is None and binder.record_intent(svc.sessions, "invoice", str(order_id))
        # Only an earlier attempt (an intent without a binding) can have reached FreshBooks: look up then, whatever
        # the rules; and, when the rules ask to look for invoices with the number booked another way, when an
        # invoice FreshBooks held at the cut-over, or another order's, may carry the number (workers/cut_over.py).
        look_up = not first_attempt or (svc.rules.look_up_invoices_first
                                        and cut_over.may_be_taken(svc, plan.invoice_number, order_id))
        found = fb.find_invoice_by_number(plan.invoice_number) if look_up else None
        if found is not None:  # booked by an attempt whose answer was lost: adopt it, then update it
            return _adopt(svc, found, plan, client_id, version, event_id)
        if plan.action == "void" and not _collected_anything(svc, plan):
            ledger.audit(svc.sessions, "skip", "invoice", None, "order cancelled before it was booked", event_id,
                         order_id)
            return None
        try:
            created = fb.create_invoice(plan.body(client_id))
        except ValidationFailed as refused:
            # The number taken after all (FreshBooks keeping numbers unique; an invoice typed in by hand after the
            # cut-over): the invoice with it is this order's (adopted) or a clash for a person, never a second one.
            taken = None if look_up or not _number_refused(refused) else fb.find_invoice_by_number(plan.invoice_number)
            if taken is None:
                raise
            return _adopt(svc, taken, plan, client_id, version, event_id)
        binder.bind(svc.sessions, "invoice", str(order_id), int(created["id"]), version, _figures(created))
        ledger.audit(svc.sessions, "create", "invoice", int(created["id"]), _summary(plan), event_id, order_id)
        return int(created["id"])


def _adopt(svc: StepPorts, found: dict, plan: InvoicePlan, client_id: int, version: str, event_id: str | None) -> int:
    _check_it_is_ours(found, plan, client_id)
    binder.bind(svc.sessions, "invoice", str(plan.order_id), int(found["id"]))
    ledger.audit(svc.sessions, "adopt", "invoice", int(found["id"]), f"invoice {plan.invoice_number}", event_id,
                 plan.order_id)
    return _bring_up_to_date(svc, plan, int(found["id"]), version, event_id)


def _number_refused(error: ValidationFailed) -> bool:
    return any(detail.field == "invoice_number" for detail in error.details)


def _check_it_is_ours(found: dict, plan: InvoicePlan, client_id: int) -> None:
    """An invoice with the order's number is adopted only when this service wrote it for this order (the
    po_number marker) for the expected client; another order's, or one typed in by hand, is a conflict
    for a person, and nothing is written."""
    marker, customer = str(found.get("po_number") or ""), str(found.get("customerid") or "")
    if marker == plan.po_number and customer == str(client_id):
        return
    amount = found.get("amount") or {}
    raise NeedsReview([
        f"invoice number {plan.invoice_number} is taken in FreshBooks by invoice {found.get('id')} "
        f"(po_number {marker!r}, client {customer or '?'}, {amount.get('amount', '?')} {amount.get('code', '')}) "
        f"which is not this order's (po_number {plan.po_number!r}, client {client_id}, {plan.total} {plan.currency}); "
        "nothing was written: renumber one of them, then replay"])


def ensure_taxes(svc: StepPorts, plan: InvoicePlan, event_id: str | None = None) -> None:
    """Each tax the invoice carries exists in FreshBooks under its name ("Sales Tax 7.25%"), found or created
    once, so that the store's tax reports list it."""
    fb = svc.freshbooks
    for tax in plan.taxes:
        ensure(svc, "tax", tax.name, lambda name=tax.name: fb.find_tax_by_name(name),
               lambda tax=tax: fb.create_tax({"name": tax.name, "amount": percent_label(tax.percent)}),
               event_id=event_id, order_id=plan.order_id)


def _bring_up_to_date(svc: StepPorts, plan: InvoicePlan, invoice_id: int, version: str, event_id: str | None) -> int:
    fb = svc.freshbooks
    if plan.action == "void" and not _collected_anything(svc, plan, invoice_id):
        fb.delete_invoice(invoice_id)
        ledger.audit(svc.sessions, "delete", "invoice", invoice_id, "order cancelled", event_id, plan.order_id)
        answer = None
    else:
        body = plan.body(0)
        changes = {k: v for k, v in body.items() if k not in ("customerid", "invoice_number", "status")}
        updated = fb.update_invoice(invoice_id, changes)
        ledger.audit(svc.sessions, "update", "invoice", invoice_id, _summary(plan), event_id, plan.order_id)
        answer = _figures(updated)
    binder.bind(svc.sessions, "invoice", str(plan.order_id), invoice_id, version, answer)
    return invoice_id


def _collected_anything(svc: StepPorts, plan: InvoicePlan, invoice_id: int | None = None) -> bool:
    """Whether a cancelled order was paid first, by X-Cart's transactions or by what its invoice shows paid:
    a paid invoice stays (accountants do not delete paid invoices) and the payment is credited instead."""
    if any(t.succeeded and t.is_sale and t.value > 0 for t in transactions_of(svc, plan.order_id)):
        return True
    if invoice_id is None:
        return False
    invoice = _figures(svc.freshbooks.get_invoice(invoice_id))
    return not invoice["deleted"] and Decimal(invoice["paid"]) > 0


def _figures(invoice: dict) -> dict:
    """What the payment step needs of an invoice, as JSON keeps it (money as text)."""
    if invoice.get("vis_state") == 1:
        return {"deleted": True}
    return {"amount": str(invoice["amount"]["amount"]), "paid": str(invoice["paid"]["amount"]), "deleted": False}


def reconcile_payment(svc: StepPorts, order_id: int, event_id: str | None = None, *,
                      invoice_brought_up: bool = False, checked_again: int = 0) -> Decimal:
    """Books what X-Cart collected and FreshBooks does not have yet (mappings/payments.py decides), then what it
    gave back as credit notes (mappings/refunds.py); returns the amount of payment booked. What needs a person
    (more collected than invoiced, a refund beyond what was paid...) goes to review after whatever may be
    booked is."""
    order, version = load_versioned_order(svc, order_id, event_id)
    plan = plan_invoice(svc, order)
    binding = binder.lookup(svc.sessions, "invoice", str(order_id))
    invoice_id = binding.freshbooks_id if binding else None
    if not invoice_brought_up and _invoice_behind(svc, plan, binding, version):
        create_invoice(svc, order_id, event_id)  # booked or brought up first, then the payment decided against it
        return reconcile_payment(svc, order_id, event_id, invoice_brought_up=True, checked_again=checked_again)
    if invoice_id is None:
        if plan.action == "void":
            return Decimal(0)
        raise InvoiceNotYetBooked(f"order {order.order_number} has no invoice yet")
    client_id = binder.bound_id(svc.sessions, "client", order.email.strip().lower())
    if client_id is None:  # run alone: the credit notes go to the invoice's client
        client_id = resolve_client(svc, order_id, event_id)
    try:
        return _settle(svc, order, plan, version, invoice_id, client_id, event_id)
    except _ChecksBehind:  # a refund or rules the check has not seen (a version is create_invoice's)
        return _check_again(svc, order_id, event_id, checked_again,
                            partial(reconcile_payment, invoice_brought_up=invoice_brought_up))


def _settle(svc: StepPorts, order: Order, plan: InvoicePlan, version: str, invoice_id: int, client_id: int,
            event_id: str | None) -> Decimal:
    """The payment and credit notes owed, booked under the order's lock, from the transactions read under it."""
    order_id = order.id
    with svc.locks.order(order_id):
        # Read under the lock: a sale stored by a concurrent chain is seen, not a refund without its sale; and what
        # the checks passed, which a check holding the order meanwhile clears.
        transactions, checked = transactions_and_check(svc, order_id)
        if checks_on(svc.rules) and checked != check_key(svc.rules, version, order, transactions):
            raise _ChecksBehind
        # Right after the create or update, what FreshBooks answered it; otherwise (a retry, a redelivery, a
        # payment event, an answer too old or for another version) the invoice as FreshBooks has it now.
        invoice = (binder.take_answer(svc.sessions, "invoice", str(order_id), version, ANSWER_FRESH)
                   or _figures(svc.freshbooks.get_invoice(invoice_id)))
        if invoice["deleted"]:
            return Decimal(0)  # a cancelled order's invoice was deleted
        paid = Decimal(invoice["paid"])
        waiting = refunds.refunded_before_its_transactions(order, plan, transactions, paid, svc.rules)
        if waiting:
            raise NeedsReview([waiting])
        money = payments.collected_and_refunded(order, plan, transactions, paid)
        decision = payments.decide(plan, money, Decimal(invoice["amount"]), paid, invoice_id, order.order_number)
        if decision.book:
            _book_payment(svc, order, plan, invoice_id, decision.book, transactions, event_id)
        owed = refunds.plan_credit_notes(order, plan, transactions, paid + decision.book, svc.rules)
        for credit_note in owed.credit_notes:
            _book_credit_note(svc, order.id, credit_note, client_id, event_id)
    if decision.reasons or owed.reasons:
        raise NeedsReview(list(decision.reasons + owed.reasons))
    return decision.book


class _ChecksBehind(Exception):  # a signal within this module, never raised out of it
    """What the step is about to book has not passed the order's checks."""


def _invoice_behind(svc: StepPorts, plan: InvoicePlan, binding: Binding | None, version: str) -> bool:
    """Whether the invoice must be booked or brought up before the payment step decides: a newer version of the
    order came in after this chain's create_invoice (its own chain is on its way); or no invoice is bound though one
    is owed (not cancelled, or cancelled after money came in): the chain was sent without create_invoice (booked
    from this version then, idle_steps) and a repair forgot the invoice deleted in FreshBooks since
    (workers/reconcile.py), or the step runs alone."""
    if binding is not None and binding.freshbooks_id is not None:
        return binding.version != version
    return plan.action != "void" or _collected_anything(svc, plan)


def _book_payment(svc, order, plan, invoice_id, amount, transactions, event_id) -> None:
    payment = svc.freshbooks.create_payment({
        "invoiceid": invoice_id, "amount": {"amount": str(amount), "code": plan.currency},
        "date": payments.payment_date(order, transactions).isoformat(), "type": payments.payment_type(transactions),
        "note": f"X-Cart order {order.order_number}"
                + (f", transactions {', '.join(str(t.id) for t in transactions)}" if transactions else "")})
    ledger.audit(svc.sessions, "payment", "payment", int(payment["id"]), f"{amount} {plan.currency}", event_id,
                 order.id)


def _book_credit_note(svc: StepPorts, order_id: int, note: CreditNotePlan, client_id: int,
                      event_id: str | None) -> None:
    """Books one credit note exactly once (workers/exporter.ensure: intent, look-up by its number, binding), and
    keeps it at the amount owed: the binding's version is the amount booked, so a credit note whose amount the
    order no longer calls for (a cancellation later refunded by transactions) is updated, or removed at 0."""
    fb = svc.freshbooks
    key = f"{order_id}:{note.credit_number}"
    binding = binder.lookup(svc.sessions, "credit_note", key)
    if note.amount == 0:
        if binding is not None and binding.version not in (None, "0"):
            _withdraw_credit_note(svc, key, binding.freshbooks_id, note, event_id, order_id)
        return
    credit_id, how = ensure(svc, "credit_note", key,
                            lambda: _ours(fb.find_credit_note_by_number(note.credit_number), note, client_id),
                            lambda: fb.create_credit_note(note.body(client_id)), event_id=event_id, order_id=order_id)
    booked = binding.version if binding is not None and how == "bound" else None
    if how == "create":
        booked = str(note.amount)
    elif booked != str(note.amount):  # adopted (its lines may be another attempt's), or the amount owed moved
        fb.update_credit_note(credit_id, {"lines": note.body(client_id)["lines"], "notes": note.notes,
                                          "vis_state": 0})
        ledger.audit(svc.sessions, "update", "credit_note", credit_id,
                     f"credit note {note.credit_number}: {note.amount} {note.currency}", event_id, order_id)
    binder.bind(svc.sessions, "credit_note", key, credit_id, str(note.amount))


def _ours(found: dict | None, note: CreditNotePlan, client_id: int) -> dict | None:
    """A credit note with the number is adopted only when it is for the invoice's client; another's is a
    conflict for a person, and nothing is written."""
    if found is None or str(found.get("clientid")) == str(client_id):
        return found
    raise NeedsReview([f"credit note number {note.credit_number} is taken in FreshBooks by credit note "
                       f"{found.get('id')} of client {found.get('clientid')}, not this order's client {client_id}; "
                       "nothing was written: renumber it, then replay"])


def _withdraw_credit_note(svc: StepPorts, key: str, credit_id: int | None, note: CreditNotePlan,
                          event_id: str | None, order_id: int) -> None:
    fb = svc.freshbooks
    if credit_id is None:  # an attempt whose answer was lost: the look-up says whether it was booked
        found = fb.find_credit_note_by_number(note.credit_number)
        if found is None:
            return
        credit_id = int(found["id"])
    try:
        fb.update_credit_note(credit_id, {"vis_state": 1})
    except ValidationFailed as exc:
        if not any(d.errno == 1011 for d in exc.details):  # deleted already (a retry after the delete): done
            raise
    binder.bind(svc.sessions, "credit_note", key, credit_id, "0")
    ledger.audit(svc.sessions, "delete", "credit_note", credit_id,
                 f"credit note {note.credit_number}: nothing is owed back under it any more", event_id, order_id)


def _summary(plan: InvoicePlan) -> str:
    flags = f"; flags: {'; '.join(plan.flags)}" if plan.flags else ""
    rate = plan.conversion
    converted = (f"; converted from {rate.original_total} {rate.from_currency} at {rate.rate} {rate.to_currency} "
                 f"per {rate.from_currency} ({rate.source})") if rate else ""
    return f"invoice {plan.invoice_number}: {plan.total} {plan.currency}, {len(plan.lines)} lines{flags}{converted}"

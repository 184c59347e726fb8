"""Invalid payloads and orders held for review land in the dead-letter store with their reasons by field,
and are booked once replayed after the fix; operators do it with `xcfb dlq` and `xcfb events show`."""

import dataclasses
import json
from datetime import timedelta

import pytest

from core import redis_keys
from store import ledger
from store.models import utcnow
from tests.e2e.pipeline import simulated_store
from workers import events, orders
from workers.failures import OrderNotYetSeen
from workers.tasks import sweep_stuck_events
from xcfb.cli import main


def bookable_order_event(store, count=4):
    """An order.created event of an order that must end as an invoice (not cancelled, not refunded)."""
    return next(e for e in store.place_orders(count)
                if e["type"] == "order.created" and e["data"]["payment_status"]["code"] in ("P", "Q", "A", "PP"))


def deliver(pipeline, events):
    report = pipeline.sender().deliver_all(events)
    assert report.delivered == len(events)
    return pipeline.settle()


def test_invalid_payload_is_dead_lettered_then_replayed_after_a_fix(pipeline_factory, fb_sandbox, tmp_path, capsys):
    pipeline = pipeline_factory()
    _, store = simulated_store(seed=5)
    order_event = bookable_order_event(store)
    broken = json.loads(json.dumps(order_event, default=str))
    broken["data"]["items"][0]["price"] = "twelve"
    broken["data"]["currency"] = "XYZ"
    counts = deliver(pipeline, [broken])
    assert counts == {"dead": 1}

    assert main(["dlq", "list"]) == 0
    listing = capsys.readouterr().out
    assert "invalid" in listing and broken["id"] in listing
    letter = ledger.dead_letters(pipeline.services.sessions)[0]
    assert letter.kind == "invalid" and letter.task == "xcfb.process_event"
    assert {e["path"] for e in letter.errors} == {"data.items[0].price", "data.currency"}
    assert main(["dlq", "show", str(letter.id)]) == 0
    shown = capsys.readouterr().out
    assert "data.items[0].price: not a number: 'twelve'" in shown
    assert "data.currency: unknown currency 'XYZ'" in shown

    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(order_event, default=str))
    assert main(["dlq", "replay", str(letter.id), "--payload", str(fixed)]) == 0
    assert pipeline.settle() == {"synced": 1}
    invoices = [i for i in fb_sandbox.books.all("invoice") if i["vis_state"] == 0]
    assert [i["invoice_number"] for i in invoices] == [order_event["data"]["order_number"]]
    assert ledger.get_dead_letter(pipeline.services.sessions, letter.id).status == "replayed"

    assert main(["events", "show", order_event["data"]["order_number"]]) == 0
    history = capsys.readouterr().out
    assert "synced" in history and "create  invoice" in history


def test_unmapped_sku_under_the_review_policy_waits_for_the_rules(pipeline_factory, fb_sandbox, capsys):
    pipeline = pipeline_factory()
    svc = pipeline.services
    strict = dataclasses.replace(svc.rules, create_missing_items=False, unmapped_item="review")
    svc.__dict__["rules"] = strict  # the rules file a finance person set up
    _, store = simulated_store(seed=8)
    order_event = bookable_order_event(store)
    counts = deliver(pipeline, [order_event])
    assert counts == {"review": 1}
    letter = ledger.dead_letters(svc.sessions)[0]
    assert letter.kind == "review" and "has no FreshBooks item" in letter.reason
    assert not fb_sandbox.books.all("invoice")

    svc.__dict__["rules"] = dataclasses.replace(strict, create_missing_items=True)  # the rule is fixed
    assert main(["dlq", "replay", str(letter.id)]) == 0
    assert pipeline.settle() == {"synced": 1}
    assert len(fb_sandbox.books.all("invoice")) == 1


def test_discard_closes_a_dead_letter(pipeline_factory, fb_sandbox, capsys):
    pipeline = pipeline_factory()
    _, store = simulated_store(seed=9)
    event = next(e for e in store.place_orders(1) if e["type"] == "order.created")
    event = json.loads(json.dumps(event, default=str))
    event["data"]["email"] = "nobody"
    deliver(pipeline, [event])
    letter = ledger.dead_letters(pipeline.services.sessions)[0]
    assert main(["dlq", "discard", str(letter.id)]) == 0
    assert ledger.dead_letters(pipeline.services.sessions) == []
    assert ledger.counts_by_status(pipeline.services.sessions) == {"skipped": 1}
    assert main(["dlq", "replay", str(letter.id)]) == 2
    assert "no open dead letter" in capsys.readouterr().err


STEPS = [  # (task, module, function, what it raises): event handling, then each step of the order chain
    ("xcfb.process_event", events, "handle", KeyError("items")),
    ("xcfb.resolve_client", orders, "resolve_client", AttributeError("'list' object has no attribute 'get'")),
    ("xcfb.sync_items", orders, "sync_items", RuntimeError("a bug")),
    ("xcfb.create_invoice", orders, "create_invoice", ZeroDivisionError("division by zero")),
    ("xcfb.reconcile_payment", orders, "reconcile_payment", TypeError("unsupported operand")),
]


@pytest.mark.parametrize(("task", "module", "function", "error"), STEPS, ids=[s[0] for s in STEPS])
def test_an_exception_in_any_step_ends_as_a_failed_dead_letter_then_replays(pipeline_factory, fb_sandbox, monkeypatch,
                                                                              capsys, task, module, function, error):
    pipeline = pipeline_factory()
    svc = pipeline.services
    _, store = simulated_store(seed=21)
    order_event = bookable_order_event(store)

    def broken(*args, **kwargs):
        raise error
    monkeypatch.setattr(module, function, broken)
    assert deliver(pipeline, [order_event]) == {"dead": 1}  # not `processing`: settle() would time out
    [letter] = ledger.dead_letters(svc.sessions)
    assert (letter.kind, letter.task) == ("failed", task)
    assert letter.reason == f"{task} raised {type(error).__name__}: {str(error)}"
    alert = svc.redis.get(redis_keys.ALERT.format(key=f"failed:{order_event['id']}"))
    assert alert is not None and letter.reason in alert.decode()

    monkeypatch.undo()  # the bug is fixed: the operator replays the dead letter
    assert main(["dlq", "replay", str(letter.id)]) == 0
    assert pipeline.settle() == {"synced": 1}
    invoices = [i for i in fb_sandbox.books.all("invoice") if i["vis_state"] == 0]
    assert [i["invoice_number"] for i in invoices] == [order_event["data"]["order_number"]]


def test_a_stuck_event_is_dead_lettered_after_its_re_runs_then_replays(pipeline_factory, fb_sandbox, capsys):
    pipeline = pipeline_factory(max_requeues=0)
    svc = pipeline.services
    _, store = simulated_store(seed=22)
    order_event = bookable_order_event(store)
    entity = f"order:{order_event['data']['id']}"
    ledger.record_event(svc.sessions, order_event["id"], order_event["type"], entity, json.dumps(order_event,
                                                                                                 default=str))
    ledger.start_attempt(svc.sessions, order_event["id"])  # a worker took it and died: nothing else will run it
    assert sweep_stuck_events(svc, lambda event_id: pytest.fail("re-run beyond XCFB_MAX_REQUEUES"),
                              utcnow() + timedelta(seconds=1)) == 0
    [letter] = ledger.dead_letters(svc.sessions)
    assert letter.kind == "stuck" and "after 0 re-runs by the stuck-event sweep" in letter.reason

    assert main(["dlq", "replay", str(letter.id)]) == 0
    assert pipeline.settle() == {"synced": 1}
    assert len([i for i in fb_sandbox.books.all("invoice") if i["vis_state"] == 0]) == 1


def test_create_invoice_and_the_payment_step_each_have_their_own_retry_budget_in_one_task(pipeline_factory, fb_sandbox,
                                                                                           monkeypatch):
    """A chain runs create_invoice and reconcile_payment as one task (workers/tasks.invoice_and_payment): retries the
    first step spent do not come out of the payment step's, and the payment step's retry runs it alone."""
    pipeline = pipeline_factory(max_retries=2)
    svc = pipeline.services
    _, store = simulated_store(seed=21)
    order_event = bookable_order_event(store)
    calls = {"create_invoice": 0, "reconcile_payment": 0}

    def failing_first(function, times):
        def run(*args, **kwargs):
            calls[function.__name__] += 1
            if calls[function.__name__] <= times:
                raise OrderNotYetSeen(f"{function.__name__} not yet")  # retryable
            return function(*args, **kwargs)
        return run
    monkeypatch.setattr(orders, "create_invoice", failing_first(orders.create_invoice, 2))  # its whole budget
    monkeypatch.setattr(orders, "reconcile_payment", failing_first(orders.reconcile_payment, 1))
    assert deliver(pipeline, [order_event]) == {"synced": 1}, ledger.dead_letters(svc.sessions)
    assert calls == {"create_invoice": 3, "reconcile_payment": 2}  # the payment's retry ran it alone
    counted = {field.decode(): int(n) for field, n in svc.redis.hgetall(redis_keys.METRICS).items()
               if field.startswith(b"tasks|")}
    assert counted == {"tasks|outcome=done,task=xcfb.process_event": 1, "tasks|outcome=done,task=xcfb.check_order": 1,
                       "tasks|outcome=done,task=xcfb.resolve_client": 1, "tasks|outcome=done,task=xcfb.sync_items": 1,
                       "tasks|outcome=done,task=xcfb.create_invoice": 1,
                       "tasks|outcome=done,task=xcfb.reconcile_payment": 1}
    invoices = [i for i in fb_sandbox.books.all("invoice") if i["vis_state"] == 0]
    assert [i["invoice_number"] for i in invoices] == [order_event["data"]["order_number"]]

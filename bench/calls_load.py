"""FreshBooks calls per order, client and items bound, at the default rules, counted where they arrive: the
sandbox's request counter (`GET /_sandbox/stats`, every API request by method and resource).

Run on the chain bench's stage after its rounds (the worker, broker, database and sandbox as they are): an order
the store placed and the service booked (its client, items and taxes bound; the invoice cut-over read) is placed
again under new ids and a number above every other, unpaid (payment status Q) or paid (P, the payment in the
order), one order.created event at a time through the worker's whole chain. The minimum: 1 call unpaid (the
invoice's create), 2 paid (and the payment). A run is refused unless each order ends synced."""

from __future__ import annotations

import copy
import time

import requests

from harness.stage import Stage
from mappings.jsonio import dumps as to_json
from store import binder, ledger

MINIMUM = {"unpaid": 1, "paid": 2}


def measure(stage: Stage, orders: int = 10, timeout: float = 60) -> dict:
    template = _booked_order(stage)
    envelope = next(e for e in stage.store.events if e["type"] == "order.created" and e["data"]["id"] == template["id"])
    per_order: dict[str, list[dict[str, int]]] = {"unpaid": [], "paid": []}
    for n in range(orders):
        kind = "unpaid" if n % 2 == 0 else "paid"
        order = copy.deepcopy(template) | {"id": 90_000_000 + n, "order_number": str(90_000_000 + n),
                                           "payment_status": {"id": 4, "code": "P", "name": "Paid",
                                                              "customer_name": "Paid"} if kind == "paid" else
                                           {"id": 2, "code": "Q", "name": "Awaiting payment",
                                            "customer_name": "Awaiting payment"}}
        event = envelope | {"id": f"evt_bench_calls_{n}", "data": order}
        before = _requests(stage)
        settled = _settled(stage)
        stage.send("xcfb.process_event", [to_json(event)])
        _wait(stage, settled + 1, timeout)
        ended = [e.status for e in ledger.events_for_order(stage.services.sessions, order["order_number"])]
        if ended != ["synced"] or binder.bound_id(stage.services.sessions, "invoice", str(order["id"])) is None:
            raise RuntimeError(f"bench order {order['order_number']} was not booked: its event ended {ended}")
        after = _requests(stage)
        per_order[kind].append({call: after[call] - before.get(call, 0) for call in after
                                if after[call] != before.get(call, 0)})
    return {kind: {"calls_per_order": sum(sum(c.values()) for c in calls) / len(calls), "orders": len(calls),
                   "minimum": MINIMUM[kind], "by_order": calls} for kind, calls in per_order.items()}


def _booked_order(stage: Stage) -> dict:
    """A registered customer's order, booked in full (synced), with no refund: its client, items, taxes bound."""
    sessions = stage.services.sessions
    for order in stage.store.orders.values():
        if order.get("customer_id") and order["payment_status"]["code"] in ("P", "Q") \
                and binder.bound_id(sessions, "invoice", str(order["id"])) is not None \
                and all(e.status == "synced" for e in ledger.events_for_order(sessions, str(order["id"]))):
            return order
    raise RuntimeError("no booked order of a registered customer to place again")


def _requests(stage: Stage) -> dict[str, int]:
    return requests.get(f"{stage.freshbooks_server.url}/_sandbox/stats", timeout=5).json()["requests"]["by_call"]


def _settled(stage: Stage) -> int:
    counts = ledger.counts_by_status(stage.services.sessions)
    return sum(counts.get(s, 0) for s in ledger.TERMINAL)


def _wait(stage: Stage, settled: int, timeout: float) -> None:
    started = time.monotonic()
    while _settled(stage) < settled:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"a bench order did not settle within {timeout} s")
        time.sleep(0.05)

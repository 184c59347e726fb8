"""An order's events taken in while its chain waits in the queue ride on that chain (store/coalescing.py): they
send no chain of their own, and end with the one that covers them -- synced when it runs through, parked with it
when it is dead-lettered, and replayable from there."""

from mappings.jsonio import dumps as to_json
from runtime import bootstrap
from store import ledger
from store.models import Event
from tests.e2e.pipeline import Pipeline, run_pipeline, settings_for, simulated_store
from workers import orders
from workers.tasks import process_event
from xcfb.cli import main


def _an_order_with_later_events(store):
    events = store.place_orders(12)
    by_order = {}
    for event in events:
        if event["type"].startswith(("order.", "payment.")):
            data = event["data"]
            by_order.setdefault(data.get("order_id") or data["id"], []).append(event)
    return next(its for its in by_order.values()
                if len(its) >= 2 and its[0]["type"] == "order.created"
                and its[0]["data"]["payment_status"]["code"] in ("P", "Q", "A", "PP"))


def _taken_in_with_the_worker_stopped(tmp_path, redis_url, database_url, redis_client, fb_server, seed):
    """The order's events taken in (process_event run here) while no worker runs: the first one's chain waits
    in the broker, the later ones ride on it."""
    settings = settings_for(tmp_path, redis_url, database_url, fb_server.url)
    services, _ingest, worker = run_pipeline(settings, redis_client)
    _, store = simulated_store(seed=seed)
    its = _an_order_with_later_events(store)
    for event in its:
        process_event.apply(args=[to_json(event)])
    return Pipeline(services, "", services.freshbooks), worker, its


def _statuses(sessions, its):
    with sessions() as session:
        return {e["id"]: (session.get(Event, e["id"]).status, session.get(Event, e["id"]).last_error) for e in its}


def test_later_events_ride_on_the_waiting_chain_and_are_synced_with_it(tmp_path, redis_url, database_url,
                                                                      redis_client, sessions, fb_server, fb_sandbox):
    pipeline, worker, its = _taken_in_with_the_worker_stopped(tmp_path, redis_url, database_url, redis_client,
                                                              fb_server, seed=41)
    try:
        svc = pipeline.services
        assert ledger.counts_by_status(svc.sessions) == {"processing": len(its)}
        assert redis_client.hget("xcfb:metrics", "events_coalesced|") == str(len(its) - 1).encode()
        assert redis_client.llen("xcfb.chain") == 1  # one chain's first step waits, not one per event
        with worker:
            assert pipeline.settle() == {"synced": len(its)}
        statuses = _statuses(svc.sessions, its)
        assert statuses[its[0]["id"]] == ("synced", None)
        assert all(status == "synced" and f"chain of event {its[0]['id']}" in outcome
                   for status, outcome in (statuses[e["id"]] for e in its[1:]))
        invoices = [i for i in fb_sandbox.books.all("invoice") if i["vis_state"] == 0]
        assert [i["invoice_number"] for i in invoices] == [its[0]["data"]["order_number"]]
        assert not redis_client.keys("xcfb:chain:*")
    finally:
        bootstrap.use(None)


def test_when_the_covering_chain_is_dead_lettered_its_events_are_too_and_a_replay_books_the_order(
        tmp_path, redis_url, database_url, redis_client, sessions, fb_server, fb_sandbox, monkeypatch, capsys):
    pipeline, worker, its = _taken_in_with_the_worker_stopped(tmp_path, redis_url, database_url, redis_client,
                                                              fb_server, seed=43)
    try:
        svc = pipeline.services

        def broken(*args, **kwargs):
            raise ZeroDivisionError("division by zero")
        monkeypatch.setattr(orders, "create_invoice", broken)
        with worker:
            assert pipeline.settle() == {"dead": len(its)}  # every event parked, none left processing
            letters = {letter.event_id: letter for letter in ledger.dead_letters(svc.sessions)}
            assert set(letters) == {e["id"] for e in its}
            assert all(letter.kind == "failed" and letter.task == "xcfb.create_invoice" for letter in letters.values())
            assert all(f"with event {its[0]['id']}" in letters[e["id"]].reason for e in its[1:])
            assert not fb_sandbox.books.all("invoice")

            monkeypatch.undo()  # fixed: the order's latest event is replayed, then the rest
            assert main(["dlq", "replay", str(letters[its[-1]["id"]].id)]) == 0
            assert pipeline.settle()["synced"] == 1
            for event in its[:-1]:
                assert main(["dlq", "replay", str(letters[event["id"]].id)]) == 0
            assert pipeline.settle() == {"synced": len(its)}
        invoices = [i for i in fb_sandbox.books.all("invoice") if i["vis_state"] == 0]
        assert [i["invoice_number"] for i in invoices] == [its[0]["data"]["order_number"]]
        assert not ledger.dead_letters(svc.sessions)
    finally:
        bootstrap.use(None)

"""The assistants in the real pipeline (ingest, broker, a Celery worker, the FreshBooks sandbox): injected
anomalies are flagged, those the rules hold wait in review naming their field while everything else is booked to
the cent, and a held order a person accepts is booked once replayed."""

from harness.books_check import check_books, held_as_duplicates
from store import assistants, ledger
from tests.e2e.pipeline import simulated_store
from workers.app import app as celery_app
from xcfb import operations


def held_orders(sessions) -> set[int]:
    return {order_id for order_id, found in assistants.flagged_orders(sessions, "anomaly").items()
            if any(f.action == "review" and f.status == "open" for f in found)}


def test_anomalies_are_flagged_held_and_booked_once_accepted(pipeline_factory, fb_sandbox):
    pipeline = pipeline_factory()
    _, store = simulated_store(seed=2, anomalies=0.2, anomalies_after=60)  # 10 anomalies, 6 kinds held
    events = list(store.events) + store.place_orders(100)
    pipeline.sender().deliver_all(events)
    pipeline.settle(timeout=180)
    sessions = pipeline.services.sessions
    labels = store.labels()
    held = held_orders(sessions)
    assert held and held <= set(labels)  # only injected anomalies are held
    found = [kind for kind, ids in store.incidents if any(i in assistants.flagged_orders(sessions) for i in ids)]
    assert len(found) >= 0.6 * len(store.incidents)  # the worker's order of processing differs from placement
    books = check_books(store, fb_sandbox, pipeline.services.rules, held_as_duplicates(sessions), held_anomalies=held)
    assert books.correct, books
    letters = {ledger.get_event(sessions, letter.event_id).order_id: letter
               for letter in ledger.dead_letters(sessions) if letter.kind == "review"}
    one = sorted(held)[0]
    assert any(e["message"].startswith("anomaly ") and e["path"] != "(order)" for e in letters[one].errors)

    assert operations.accept_findings(pipeline.services, letters[one].id) >= 1
    operations.replay(pipeline.services, letters[one].id, lambda name, args: celery_app.send_task(name, args=args))
    pipeline.settle(timeout=120)
    assert held_orders(sessions) == held - {one}
    books = check_books(store, fb_sandbox, pipeline.services.rules, held_as_duplicates(sessions),
                        held_anomalies=held - {one})
    assert books.correct, books

"""An order's review and its events' status move together (store/ledger.py): an event in review always has its
order's open review letter, whatever a chain of the same order that ends synced does meanwhile."""

import threading

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from store import ledger, snapshots
from store.models import DeadLetter, Event, utcnow

ORDER_ID = 5012


def held_without_their_letter(sessions) -> list[str]:
    with sessions() as session:
        held = session.scalars(select(Event.id).where(Event.order_id == ORDER_ID, Event.status == "review")).all()
        open_reviews = session.scalars(select(DeadLetter.id).join(Event, Event.id == DeadLetter.event_id).where(
            Event.order_id == ORDER_ID, DeadLetter.kind == "review", DeadLetter.status == "open")).all()
    return list(held) if held and not open_reviews else []


def test_a_review_written_as_the_order_settles_is_settled_with_it_or_stands(sessions):
    """A later event's chain holds the order (its review joins the open one) while an earlier chain of the order
    ends synced, which settles the order's reviews; the settling starts in the middle of the review's transaction
    (another worker thread, here from the review's flush). Before, it could resolve the letter between the
    review's read and its write, or between its commit and its events' status: events stayed in review with their
    letter resolved, out of the dead-letter queue, found by nobody."""
    snapshots.keep_order_if_newer(sessions, ORDER_ID, "A-5012", utcnow(), "{}")
    for event_id in ("e1", "e2", "e3"):
        ledger.record_event(sessions, event_id, "order.updated", f"order:{ORDER_ID}", "{}", order_id=ORDER_ID)
    ledger.dead_letter(sessions, "e1", "review", "xcfb.check_order", "unit price 10x the catalogue's")

    other_chain = threading.Thread(target=lambda: ledger.finish_synced(sessions, "e3", [], ORDER_ID))

    def the_other_chain_ends_synced_meanwhile(session, *_):
        if not other_chain.is_alive() and other_chain.ident is None:
            other_chain.start()
            other_chain.join(timeout=1)  # done at once without the order's lock; waits for it with the lock

    event.listen(Session, "before_flush", the_other_chain_ends_synced_meanwhile)
    try:
        ledger.dead_letter(sessions, "e2", "review", "xcfb.check_order", "quantity 40x the usual")
    finally:
        event.remove(Session, "before_flush", the_other_chain_ends_synced_meanwhile)
    other_chain.join(timeout=60)

    assert not other_chain.is_alive() and held_without_their_letter(sessions) == []
    with sessions() as session:
        statuses = dict(session.execute(select(Event.id, Event.status)).all())
        letters = session.execute(select(DeadLetter.event_id, DeadLetter.status)).all()
    assert statuses == {"e1": "synced", "e2": "synced", "e3": "synced"}  # the review came first: settled with it
    assert letters == [("e2", "resolved")]

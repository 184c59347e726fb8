"""An order's review and its events' status move together (store/ledger.py): an event in review always has its
order's open review letter, whatever a chain of the same order that ends synced does meanwhile."""

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from store import ledger
from store.models import DeadLetter, Event

ORDER_ID = 5012


def held_without_their_letter(sessions) -> list[str]:
    with sessions() as session:
        held = session.scalars(select(Event.id).where(Event.order_id == ORDER_ID, Event.status == "review")).all()
        open_reviews = session.scalars(select(DeadLetter.id).join(Event, Event.id == DeadLetter.event_id).where(
            Event.order_id == ORDER_ID, DeadLetter.kind == "review", DeadLetter.status == "open")).all()
    return list(held) if held and not open_reviews else []


def test_a_review_written_as_the_order_settles_is_settled_with_it_or_stands(sessions):
    """A later event's chain holds the order (its review joins the open one) while an earlier chain of the order
    ends synced, which settles the order's reviews: the synced chain's settling comes right after the review's
    transaction commits. Before, the held event's status was written after that commit, so it stayed in review
    with its letter resolved: out of the dead-letter queue, found by nobody."""
    for event_id in ("e1", "e2", "e3"):
        ledger.record_event(sessions, event_id, "order.updated", f"order:{ORDER_ID}", "{}", order_id=ORDER_ID)
    ledger.dead_letter(sessions, "e1", "review", "xcfb.check_order", "unit price 10x the catalogue's")

    settled = []

    def the_other_chain_ends_synced(session):
        if not settled:
            settled.append(True)
            ledger.finish_synced(sessions, "e3", [], ORDER_ID)

    event.listen(Session, "after_commit", the_other_chain_ends_synced)
    try:
        ledger.dead_letter(sessions, "e2", "review", "xcfb.check_order", "quantity 40x the usual")
    finally:
        event.remove(Session, "after_commit", the_other_chain_ends_synced)

    assert settled and held_without_their_letter(sessions) == []
    with sessions() as session:
        statuses = dict(session.execute(select(Event.id, Event.status)).all())
    assert statuses == {"e1": "synced", "e2": "synced", "e3": "synced"}  # settled together

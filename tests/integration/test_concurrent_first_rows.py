"""Two workers writing the same first row at once (two catch-up runs after a broker restart, a payment seen by
its webhook and by catch-up): the one whose insert loses on the key updates the winner's row instead of
failing its step (seen as `catch_up raised IntegrityError: UNIQUE constraint failed: checkpoints.name`)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from store import snapshots, sync_state
from store.models import Checkpoint, PaymentSnapshot, SyncState

EARLIER = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def another_worker_inserts_first(sessions):
    """Right before this session's insert reaches the database, another connection commits the same row."""
    rival_rows = []

    def insert_the_rival_row(session, _context, _instances):
        if rival_rows:
            row = rival_rows.pop()
            with Session(session.get_bind()) as rival, rival.begin():
                rival.add(row)

    event.listen(Session, "before_flush", insert_the_rival_row)
    yield rival_rows.append
    event.remove(Session, "before_flush", insert_the_rival_row)


def test_the_checkpoint_advances_when_another_run_inserted_it_first(sessions, another_worker_inserts_first):
    another_worker_inserts_first(Checkpoint(name="xcart:orders", reached=EARLIER, updated_at=EARLIER))
    later = EARLIER + timedelta(hours=1)
    snapshots.advance_checkpoint(sessions, "xcart:orders", later)
    assert snapshots.checkpoint(sessions, "xcart:orders") == later


def test_a_payment_kept_twice_at_once_is_stored_once_with_the_last_payload(sessions, another_worker_inserts_first):
    another_worker_inserts_first(PaymentSnapshot(transaction_id=7, order_id=1, payload='{"status": "P"}'))
    snapshots.keep_payment(sessions, 7, 1, '{"status": "S"}')
    assert snapshots.payment_payloads(sessions, 1) == ['{"status": "S"}']


def test_a_client_fingerprint_saved_twice_at_once_is_stored_once_with_the_last_fields(sessions,
                                                                                      another_worker_inserts_first):
    another_worker_inserts_first(SyncState(kind="client", freshbooks_id=13, xcart_id=5, fields={"groups": {"a": 1}},
                                           updated_at=EARLIER))
    sync_state.save(sessions, "client", sync_state.Synced(13, 5, {"a": 2}))
    assert sync_state.load(sessions, "client", 13).groups == {"a": 2}

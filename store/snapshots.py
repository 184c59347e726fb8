"""The newest X-Cart data seen, so that every step works on the latest order whatever the delivery order."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from store.db import engine_of, reads_of
from store.models import Checkpoint, OrderSnapshot, PaymentSnapshot, as_utc, utcnow

# The chain's statements, built once (store/db.engine_of): building one costs more than running it.
ORDERS, PAYMENTS = OrderSnapshot.__table__, PaymentSnapshot.__table__
_THE_ORDER = ORDERS.c.order_id == bindparam("order_id")
_ORDER_PAYLOAD = select(ORDERS.c.payload).where(_THE_ORDER)
_PAYLOAD_AND_CHECK = select(ORDERS.c.payload, ORDERS.c.checked_version).where(_THE_ORDER)
_CHECKED = select(ORDERS.c.checked_version).where(_THE_ORDER)
_STORED_VERSION = select(ORDERS.c.version, ORDERS.c.update_date).where(_THE_ORDER).with_for_update()
_NEW_ORDER, _NEWER_ORDER = insert(ORDERS), update(ORDERS).where(ORDERS.c.order_id == bindparam("the_order_id"))
_PAYMENTS = (select(PAYMENTS.c.payload).where(PAYMENTS.c.order_id == bindparam("order_id"))
             .order_by(PAYMENTS.c.transaction_id))
_NUMBERED_ELSEWHERE = select(ORDERS.c.order_id).where(
    ORDERS.c.order_number == bindparam("order_number"), ORDERS.c.order_id != bindparam("order_id")).limit(1)
_THE_PAYMENT = PAYMENTS.c.transaction_id == bindparam("the_transaction_id")
_HAS_PAYMENT = select(PAYMENTS.c.transaction_id).where(_THE_PAYMENT)
_NEW_PAYMENT = insert(PAYMENTS)
_NEW_PAYLOAD = update(PAYMENTS).where(_THE_PAYMENT).values(payload=bindparam("new_payload"))


def version_key(update_date: datetime, emitted_at: datetime, payload: str) -> str:
    """Orders versions as X-Cart's update_date, then when the event was emitted, then the content: an
    edit does not always move update_date (absent, or the same second), and two contents of one instant
    must still settle on the same one whatever the order they arrive in. Sorts as text."""
    digest = hashlib.sha256(payload.encode()).hexdigest()[:16]
    return f"{as_utc(update_date):%Y-%m-%dT%H:%M:%S.%f}|{as_utc(emitted_at):%Y-%m-%dT%H:%M:%S.%f}|{digest}"


def keep_order_if_newer(sessions: sessionmaker, order_id: int, order_number: str, update_date: datetime,
                        payload: str, emitted_at: datetime | None = None) -> bool:
    """Stores the order unless a newer version is stored; True when this version is the newest.
    `emitted_at`: when X-Cart sent it (the event's created_at); now for an order just read from X-Cart."""
    version = version_key(update_date, emitted_at or utcnow(), payload)
    values = {"order_number": order_number, "update_date": update_date, "payload": payload, "version": version}
    for _ in range(2):  # a concurrent first insert of the same order: read it back and compare
        try:
            with engine_of(sessions).begin() as connection:
                stored = connection.execute(_STORED_VERSION, {"order_id": order_id}).first()
                if stored is None:
                    connection.execute(_NEW_ORDER, {"order_id": order_id, **values})
                    return True
                if (stored.version or version_key(stored.update_date, stored.update_date, "")) > version:
                    return False
                connection.execute(_NEWER_ORDER, {"the_order_id": order_id, **values})
                return True
        except IntegrityError:
            continue
    return False


def order_payload(sessions: sessionmaker, order_id: int) -> str | None:
    with reads_of(sessions).connect() as connection:
        return connection.scalar(_ORDER_PAYLOAD, {"order_id": order_id})


def order_payload_and_check(sessions: sessionmaker, order_id: int) -> tuple[str, str | None] | None:
    """The order's newest payload and the version its checks last passed (None: not passed, or never checked)."""
    with reads_of(sessions).connect() as connection:
        stored = connection.execute(_PAYLOAD_AND_CHECK, {"order_id": order_id}).first()
    return (stored.payload, stored.checked_version) if stored is not None else None


def checked_version(sessions: sessionmaker, order_id: int) -> str | None:
    """What the order's checks last passed (workers/order_reads.check_key); None: not passed, or never checked."""
    with reads_of(sessions).connect() as connection:
        return connection.scalar(_CHECKED, {"order_id": order_id})


def payments_and_check(sessions: sessionmaker, order_id: int) -> tuple[list[str], str | None]:
    """The order's payment transactions as received, and what its checks last passed, read together (one after the
    other: the caller's order lock keeps them consistent; store/db.reads_of)."""
    with reads_of(sessions).connect() as connection:
        payloads = list(connection.scalars(_PAYMENTS, {"order_id": order_id}))
        return payloads, connection.scalar(_CHECKED, {"order_id": order_id})


def numbered_elsewhere(sessions: sessionmaker, order_number: str, order_id: int) -> bool:
    """Whether another order the service has received carries this order number (a store renumbered, a test
    order, two stores in one account): its invoice may carry the number."""
    with reads_of(sessions).connect() as connection:
        return connection.scalar(_NUMBERED_ELSEWHERE, {"order_number": order_number, "order_id": order_id}) is not None


def order_version(sessions: sessionmaker, order_id: int) -> datetime | None:
    with sessions() as session:
        stored = session.get(OrderSnapshot, order_id)
        return as_utc(stored.update_date) if stored else None


def keep_payment(sessions: sessionmaker, transaction_id: int, order_id: int, payload: str) -> None:
    """Inserts the transaction, or replaces its payload. Two workers may insert the same first row at once (a
    webhook and catch-up with the same payment): the loser's insert fails on the key, and it updates instead."""
    for attempt in range(2):
        try:
            with engine_of(sessions).begin() as connection:
                changed = connection.execute(_NEW_PAYLOAD, {"the_transaction_id": transaction_id,
                                                             "new_payload": payload})
                if changed.rowcount == 0:
                    connection.execute(_NEW_PAYMENT, {"transaction_id": transaction_id, "order_id": order_id,
                                                          "payload": payload})
            return
        except IntegrityError:
            if attempt:
                raise


def has_payment(sessions: sessionmaker, transaction_id: int) -> bool:
    with reads_of(sessions).connect() as connection:
        return connection.scalar(_HAS_PAYMENT, {"the_transaction_id": transaction_id}) is not None


def payment_payloads(sessions: sessionmaker, order_id: int) -> list[str]:
    with reads_of(sessions).connect() as connection:
        return list(connection.scalars(_PAYMENTS, {"order_id": order_id}))


def checkpoint(sessions: sessionmaker, name: str) -> datetime | None:
    with sessions() as session:
        stored = session.get(Checkpoint, name)
        return as_utc(stored.reached) if stored else None


def advance_checkpoint(sessions: sessionmaker, name: str, reached: datetime) -> None:
    """Moves the checkpoint forward, never back."""
    def forward(stored: Checkpoint) -> None:
        if as_utc(stored.reached) < reached:
            stored.reached, stored.updated_at = reached, utcnow()
    _put(sessions, Checkpoint, name, lambda: Checkpoint(name=name, reached=reached, updated_at=utcnow()), forward)


def set_checkpoint(sessions: sessionmaker, name: str, reached: datetime) -> None:
    """Puts the checkpoint at `reached`, back or forward: connecting X-Cart chooses where polling starts."""
    def move(stored: Checkpoint) -> None:
        stored.reached, stored.updated_at = reached, utcnow()
    _put(sessions, Checkpoint, name, lambda: Checkpoint(name=name, reached=reached, updated_at=utcnow()), move)


def _put(sessions: sessionmaker, model, key, new: Callable, change: Callable) -> None:
    """Inserts the row, or changes the stored one. Two workers may insert the same first row at once (two
    catch-up runs after a broker restart, a webhook and catch-up with the same payment): the loser's insert
    fails on the key, and it changes the row the winner wrote instead of failing the step."""
    for attempt in range(2):
        try:
            with sessions.begin() as session:
                stored = session.get(model, key, with_for_update=True)
                if stored is None:
                    session.add(new())
                else:
                    change(stored)
            return
        except IntegrityError:
            if attempt:
                raise

"""Tables of the SQL store. Every change goes through an alembic migration in store/migrations."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; everything the store keeps is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class OAuthToken(Base):
    """The FreshBooks token pair, Fernet-encrypted; one row per FreshBooks connection."""

    __tablename__ = "oauth_tokens"

    connection: Mapped[str] = mapped_column(String(64), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class Connection(Base):
    """A connection set up with `xcfb connect` (FreshBooks account, X-Cart API, webhook secrets): a
    Fernet-encrypted JSON document, replaced whole."""

    __tablename__ = "connections"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class Event(Base):
    """Every X-Cart event a worker took in, with its fate: received -> processing -> synced | dead | review."""

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    entity_key: Mapped[str] = mapped_column(String(128), nullable=False, index=True)  # order:5012, product:17
    order_id: Mapped[int | None] = mapped_column(Integer, index=True)
    order_number: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True, default="received")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    requeues: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # re-runs by the stuck-event sweep
    requeued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # last sweep re-run or replay


class OrderSnapshot(Base):
    """The newest version of each X-Cart order seen (by `version`): reordered deliveries never go back."""

    __tablename__ = "xcart_orders"

    order_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    order_number: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    update_date: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[str | None] = mapped_column(String(96))  # see store.snapshots.version_key


class PaymentSnapshot(Base):
    __tablename__ = "xcart_payments"

    transaction_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    order_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    payload: Mapped[str] = mapped_column(Text, nullable=False)


class Binding(Base):
    """X-Cart id <-> FreshBooks id. A row without freshbooks_id is the intent written before a create."""

    __tablename__ = "bindings"
    __table_args__ = (UniqueConstraint("kind", "external_id", name="uq_bindings_kind_external"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # client | item | invoice
    external_id: Mapped[str] = mapped_column(String(255), nullable=False)
    freshbooks_id: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[str | None] = mapped_column(String(64))  # what was synced, e.g. the order's update_date
    # An invoice's amount and paid as FreshBooks answered the create or update, for the chain's next step
    # (reconcile) to use instead of reading the invoice again: taken once, while fresh (store/binder.py).
    answer: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class DeadLetter(Base):
    """An event that needs a person: invalid, held for review, refused, out of retries, failed or stuck."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # workers/failures.py lists the kinds
    task: Mapped[str] = mapped_column(String(64), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    errors: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True, default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Every change the service made in FreshBooks."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    event_id: Mapped[str | None] = mapped_column(String(200), index=True)
    order_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(32), nullable=False)  # create | update | delete | payment | adopt
    object: Mapped[str] = mapped_column(String(16), nullable=False)
    freshbooks_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")
    actor: Mapped[str | None] = mapped_column(String(254))  # who, for a person's action in the console


class Checkpoint(Base):
    """How far catch-up sync has read each X-Cart collection (by lastRenewDate)."""

    __tablename__ = "checkpoints"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    reached: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


# -- the web console (console/): its users and sessions, the versions of the rules and where each is pinned -----

class User(Base):
    """A person who signs in to the console. The password is kept as a scrypt hash (store/users.py)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)  # viewer | operator | admin
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class ConsoleSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is kept here."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class RuleVersion(Base):
    """One saved version of the mapping rules (the YAML text), never changed once written."""

    __tablename__ = "rule_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    author: Mapped[str] = mapped_column(String(254), nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    parent_id: Mapped[int | None] = mapped_column(Integer)  # the version it was edited from
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class RulePin(Base):
    """Which rule version an environment (dev, qa, prod) runs: every pin ever made, the newest one current."""

    __tablename__ = "rule_pins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)  # promote | rollback
    actor: Mapped[str] = mapped_column(String(254), nullable=False)
    report_id: Mapped[int | None] = mapped_column(Integer)  # the dry run the promotion relied on
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class DryRunReport(Base):
    """A rule version run over recent real orders next to the rules an environment runs now: what would
    be booked differently, order by order. Kept, so that a promotion can point at the report it relied on."""

    __tablename__ = "rule_dry_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    environment: Mapped[str] = mapped_column(String(16), nullable=False)
    baseline: Mapped[str] = mapped_column(String(64), nullable=False)  # "version 3" or "the rules file"
    orders: Mapped[int] = mapped_column(Integer, nullable=False)
    differences: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    actor: Mapped[str] = mapped_column(String(254), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)

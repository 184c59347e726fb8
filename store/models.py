"""Tables of the SQL store. Every change goes through an alembic migration in store/migrations."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, Index, Integer, LargeBinary, String, Text, UniqueConstraint
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
    # what the order's checks last passed (workers.order_reads.check_key: version, rules, refunds); the steps book
    # only that
    checked_version: Mapped[str | None] = mapped_column(String(96))


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


class ReconcileRun(Base):
    """One reconciliation report (`xcfb reconcile`, or beat's daily run): the counts per class, the totals per
    currency and the orders that differ."""

    __tablename__ = "reconcile_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ran_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    since: Mapped[str] = mapped_column(String(10), nullable=False)  # YYYY-MM-DD, the window's first day
    until: Mapped[str] = mapped_column(String(10), nullable=False)  # its last day
    trigger: Mapped[str] = mapped_column(String(16), nullable=False)  # cli | beat | repair
    matched: Mapped[bool] = mapped_column(Boolean, nullable=False)
    counts: Mapped[dict] = mapped_column(JSON, nullable=False)
    totals: Mapped[dict] = mapped_column(JSON, nullable=False)
    mismatches: Mapped[list] = mapped_column(JSON, nullable=False)


class ExchangeRate(Base):
    """The ECB's euro reference rates as fetched (runtime/exchange_rates.py): units of `currency` one euro buys on
    `day`, kept as the ECB wrote it (text, never a float)."""

    __tablename__ = "exchange_rates"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    per_euro: Mapped[str] = mapped_column(String(32), nullable=False)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class Checkpoint(Base):
    """How far catch-up sync has read each X-Cart collection (by lastRenewDate)."""

    __tablename__ = "checkpoints"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    reached: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class InvoiceCutOver(Base):
    """The invoice numbers a FreshBooks account held when the service first needed to know (read once per account,
    never updated): per number prefix, the highest trailing value (mappings/invoice_numbers.py). An order number
    above it is created without a search before; see workers/cut_over.py."""

    __tablename__ = "invoice_cut_overs"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    marks: Mapped[dict] = mapped_column(JSON, nullable=False)  # prefix -> digits, as text
    invoices_read: Mapped[int] = mapped_column(Integer, nullable=False)
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class ClientMatch(Base):
    """What was decided for an email that matched no FreshBooks client (mappings/duplicates.py scored it): bound
    to an existing client by the rules (`auto`) or by a person (`use`), held for a person (`review`), or a new
    client by a person's choice (`new`). A person's choice is never asked again."""

    __tablename__ = "client_matches"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)  # auto | review | use | new
    client_id: Mapped[int | None] = mapped_column(Integer)  # the client used, or the candidate under review
    score: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    event_id: Mapped[str | None] = mapped_column(String(200), index=True)  # the event held for review
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class SyncState(Base):
    """The last state synced between a FreshBooks client or item and its X-Cart profile or product, field by field
    (mappings/ownership.py): a webhook or callback reporting only this state is the echo of our own write."""

    __tablename__ = "sync_states"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # client | item
    freshbooks_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    xcart_id: Mapped[int | None] = mapped_column(Integer, index=True)  # profile or product id
    fields: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class Observation(Base):
    """What the anomaly check read off an order, metric by metric (mappings/anomalies.py): the store's history
    it learns from. One row per order, metric, key and field; a check run again replaces its order's rows.
    Values are kept as exact decimal text (the same on SQLite and PostgreSQL)."""

    __tablename__ = "observations"
    __table_args__ = (UniqueConstraint("order_id", "metric", "key", "subject", name="uq_observations_order_metric"),
                      Index("ix_observations_metric_key", "metric", "key", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    metric: Mapped[str] = mapped_column(String(32), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)  # currency, tax code, customer email, store
    subject: Mapped[str] = mapped_column(String(64), nullable=False)  # the field: items[2].price
    value: Mapped[str] = mapped_column(String(48), nullable=False)
    anomalous: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # kept out of the baseline
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)  # the order's date


class CataloguePrice(Base):
    """The X-Cart catalogue's price of each SKU, as product events brought it (unit prices are checked against it)."""

    __tablename__ = "catalogue_prices"

    sku: Mapped[str] = mapped_column(String(255), primary_key=True)
    price: Mapped[str] = mapped_column(String(48), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class OrderFinding(Base):
    """A finding of the assistants about an order (anomaly or data quality), with what the rules did about it:
    flag (booked, the finding kept here) or review (held). `accepted`: a person looked and let it be booked."""

    __tablename__ = "order_findings"
    __table_args__ = (UniqueConstraint("order_id", "source", "kind", "path", name="uq_order_findings"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # anomaly | validation
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    path: Mapped[str] = mapped_column(String(128), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    score: Mapped[str] = mapped_column(String(24), nullable=False, default="0")
    message: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)  # flag | review
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")  # open | accepted
    # Finding.judged: what an acceptance covers; another value under the same field opens the finding again
    judged: Mapped[str | None] = mapped_column(Text, nullable=True)  # None: kept before 0014 (its message stands)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)

    @property
    def holds_the_order(self) -> bool:
        """The rules hold the order for this finding, and no person has accepted it yet."""
        return self.action == "review" and self.status != "accepted"


class EntityFinding(Base):
    """A data-quality finding about an X-Cart customer or product (checked as its event arrives; flagged, never
    held: the orders that use it are checked on their own)."""

    __tablename__ = "entity_findings"
    __table_args__ = (UniqueConstraint("entity", "entity_key", "source", "kind", "path", name="uq_entity_findings"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(16), nullable=False)  # customer | product
    entity_key: Mapped[str] = mapped_column(String(255), nullable=False)  # the login, the SKU
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    path: Mapped[str] = mapped_column(String(128), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
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

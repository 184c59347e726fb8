"""The mapping rules: everything a finance person may want to change, in one YAML file.

`load_rules(path)` validates the file with marshmallow at start-up and names every bad setting by its
path (e.g. `status.payment.P: must be one of: draft, sent, paid, void, credit, review`).
The shipped defaults are in mappings/default_rules.yaml, with a comment on every setting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from mappings.errors import FieldError, PayloadInvalid, flatten_messages
from mappings.money import is_known_currency
from mappings.xcart.fields import Money

DEFAULT_RULES = Path(__file__).parent / "default_rules.yaml"
ACTIONS = ("draft", "sent", "paid", "void", "credit", "review")
ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}
REFUND_POLICIES = ("credit_note", "review", "ignore")


class RulesInvalid(PayloadInvalid):
    pass


@dataclass(frozen=True)
class TaxRule:
    """How an X-Cart tax is named in FreshBooks. The rate and whether shipping is taxed are read from each
    order unless set here: `percent` and `shipping` are explicit overrides."""

    name: str
    percent: Decimal | None = None
    shipping: bool | None = None


@dataclass(frozen=True)
class ItemOverride:
    name: str | None = None
    description: str | None = None


class RateProvider(Protocol):
    def rate(self, source: str, target: str, on: date | None = None) -> tuple[Decimal, str]:
        """The rate that turns one unit of `source` into `target` on the day `on` (None: the latest), and where
        it comes from (with its date, for the invoice's notes)."""


@dataclass(frozen=True)
class FixedRates:
    """An offline table of rates, e.g. {"EUR/USD": 1.085}; inverse pairs are derived."""

    table: dict[tuple[str, str], Decimal]
    source: str

    def rate(self, source: str, target: str, on: date | None = None) -> tuple[Decimal, str]:
        if source == target:
            return Decimal(1), "same currency"
        if (source, target) in self.table:
            return self.table[(source, target)], self.source
        if (target, source) in self.table:
            return (Decimal(1) / self.table[(target, source)]).quantize(Decimal("1e-10")), f"{self.source} (inverse)"
        raise LookupError(f"no exchange rate {source}->{target} in the rate table")


@dataclass(frozen=True)
class AnomalyKind:
    """What to do with one kind of anomaly, and how far out (robust standard deviations) it starts."""

    action: str = "flag"  # flag: book it and keep the flag | review: hold the order for a person
    threshold: Decimal = Decimal(8)


ANOMALY_KINDS = {"unit_price": AnomalyKind("review", Decimal(8)), "order_total": AnomalyKind("flag", Decimal(6)),
                 "discount": AnomalyKind("review", Decimal(8)), "quantity": AnomalyKind("review", Decimal(8)),
                 "tax_rate": AnomalyKind("review", Decimal(0)), "refunds": AnomalyKind("flag", Decimal(3))}


@dataclass(frozen=True)
class AnomalySettings:
    """The anomaly check (mappings/anomalies.py): learned per store, switchable as a step."""

    enabled: bool = True
    warm_up: int = 30  # values a metric must have seen before it flags anything
    refund_warm_up: int = 10  # refunded orders seen before a refund spree is flagged
    window: int = 500  # the latest values each metric learns from
    refund_window_days: int = 30
    refund_orders: int = 5  # a refund spree: refunded orders among the customer's latest this many
    material_share: Decimal = Decimal("0.1")  # a discount below this share of the usual order is not flagged
    kinds: dict[str, AnomalyKind] = field(default_factory=lambda: dict(ANOMALY_KINDS))


SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class ValidationSettings:
    """The data-quality check (mappings/validation.py): what to do per severity, switchable as a step."""

    enabled: bool = True
    actions: dict[str, str] = field(default_factory=lambda: {"error": "review", "warning": "flag", "info": "flag"})
    currencies: tuple[str, ...] = ()  # the currencies the FreshBooks account invoices in; empty: any ISO 4217


@dataclass(frozen=True)
class Rules:
    account_currency: str = "USD"
    currency_policy: str = "keep"
    rates: FixedRates = field(default_factory=lambda: FixedRates({}, "none"))
    payment_status: dict[str, str] = field(default_factory=dict)
    fulfilment_status: dict[str, str] = field(default_factory=dict)
    unknown_status: str = "review"
    taxes: dict[str, TaxRule] = field(default_factory=dict)
    unmapped_tax: str = "book"
    tax_shipping: bool | None = None  # None: read from each order
    sku_overrides: dict[str, ItemOverride] = field(default_factory=dict)
    create_missing_items: bool = True
    unmapped_item: str = "line"
    unmapped_item_name: str = "Unmapped Item"
    create_as: str = "sent"
    look_up_invoices_first: bool = True
    due_offset_days: int = 0
    shipping_line_name: str = "Shipping"
    adjustment_line_name: str = "Rounding adjustment"
    adjustment_review_above: Decimal = Decimal("1.00")
    rounding: str = ROUND_HALF_UP
    store_timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    refund_policy: str = "credit_note"  # a refund X-Cart made: credit_note | review | ignore
    cancelled_after_payment: str = "credit_note"  # an order cancelled or declined once money was collected
    rates_from: str = "table"  # ecb: the ECB's reference rates (runtime/exchange_rates.py), the table overriding
    duplicates: DuplicateRules = field(default_factory=lambda: DuplicateRules())
    # Which system is right about each group of fields (mappings/ownership.py): xcart | freshbooks | newest.
    ownership: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_OWNERSHIP))
    anomalies: AnomalySettings = field(default_factory=AnomalySettings)
    validation: ValidationSettings = field(default_factory=ValidationSettings)


DEFAULT_OWNERSHIP = {"contact": "newest", "billing_address": "newest", "shipping_address": "xcart",
                     "item_text": "xcart", "price": "xcart", "stock": "xcart"}


@dataclass(frozen=True)
class DuplicateRules:
    """When an order's email matches no client: a candidate scoring `auto_match` or more is the customer; from
    `review` up to it a person decides; below, a new client is created (mappings/duplicates.py scores)."""

    auto_match: float = 0.9
    review: float = 0.5
    enabled: bool = True  # false: an email no client has is a new client, as before duplicates were looked for


_DICT_VALUE = re.compile(r"^((?:status\.payment|status\.fulfilment|taxes\.map|items\.sku_overrides|currency\.rates"
                         r"|anomalies\.kinds|validation\.actions)"
                         r"\..+?)\.value(?=\.[a-z_]+$|$)")  # keys may hold dots: CDEV.STAX.1


def _without_dict_value_level(error: FieldError) -> FieldError:
    """marshmallow files a bad dict value under `<key>.value`; a person wrote `status.payment.P`."""
    return FieldError(_DICT_VALUE.sub(r"\1", error.path), error.message)


class _DecimalLoader(yaml.SafeLoader):
    """Reads YAML numbers with a fraction (8.875) as Decimal, straight from their text, never via float."""


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", lambda loader, node: Decimal(loader.construct_scalar(node)))


# -- the file's schema ---------------------------------------------------------------------------------------

def _policy(*choices: str) -> validate.OneOf:
    return validate.OneOf(choices, error="must be one of: {choices}")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class CurrencySection(_Strict):
    account_currency = fields.String(load_default="USD")
    policy = fields.String(load_default="keep", validate=_policy("keep", "convert"))
    rate_source = fields.String(load_default="fixed table")
    rates = fields.Dict(keys=fields.String(), values=Money(), load_default=dict)
    rates_from = fields.String(load_default="table", validate=_policy("ecb", "table"))

    @validates("account_currency")
    def known(self, value, **kwargs):
        if not is_known_currency(value):
            raise ValidationError(f"unknown currency {value!r}")

    @validates("rates")
    def pairs(self, value, **kwargs):
        bad = [k for k in value if len(k.split("/")) != 2 or not all(is_known_currency(c) for c in k.split("/"))]
        if bad:
            raise ValidationError(f"rate keys are FROM/TO currency codes, e.g. EUR/USD: {', '.join(bad)}")
        if any(v <= 0 for v in value.values()):
            raise ValidationError("rates must be positive")


class StatusSection(_Strict):
    payment = fields.Dict(keys=fields.String(), values=fields.String(validate=_policy(*ACTIONS)), load_default=dict)
    fulfilment = fields.Dict(keys=fields.String(), values=fields.String(validate=_policy(*ACTIONS)),
                             load_default=dict)
    unknown = fields.String(load_default="review", validate=_policy(*ACTIONS))


class _AutoOrBoolean(fields.Field):
    """`auto` (read from each order), `true` or `false`."""

    def _deserialize(self, value, attr, data, **kwargs) -> bool | None:
        if value == "auto":
            return None
        if isinstance(value, bool):
            return value
        raise ValidationError("must be one of: auto, true, false")


class TaxRuleSchema(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    percent = Money(load_default=None, validate=validate.Range(min=0, max=100, min_inclusive=False))
    shipping = _AutoOrBoolean(load_default=None)


class TaxSection(_Strict):
    map = fields.Dict(keys=fields.String(), values=fields.Nested(TaxRuleSchema), load_default=dict)
    unmapped = fields.String(load_default="book", validate=_policy("book", "review"))
    tax_shipping = _AutoOrBoolean(load_default=None)


class ItemOverrideSchema(_Strict):
    name = fields.String(load_default=None)
    description = fields.String(load_default=None)


class ItemSection(_Strict):
    sku_overrides = fields.Dict(keys=fields.String(), values=fields.Nested(ItemOverrideSchema), load_default=dict)
    create_missing = fields.Boolean(load_default=True)
    unmapped = fields.String(load_default="line", validate=_policy("line", "review"))
    unmapped_item_name = fields.String(load_default="Unmapped Item")


class InvoiceSection(_Strict):
    create_as = fields.String(load_default="sent", validate=_policy("draft", "sent"))
    look_up_first = fields.Boolean(load_default=True)
    due_offset_days = fields.Integer(load_default=0, validate=validate.Range(min=0, max=365))
    shipping_line_name = fields.String(load_default="Shipping")
    adjustment_line_name = fields.String(load_default="Rounding adjustment")
    adjustment_review_above = Money(load_default=Decimal("1.00"), validate=validate.Range(min=0))
    rounding = fields.String(load_default="half_up", validate=_policy(*ROUNDING))
    store_timezone = fields.String(load_default="UTC")

    @validates("store_timezone")
    def zone(self, value, **kwargs):
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"unknown time zone {value!r}") from None


class RefundSection(_Strict):
    refund = fields.String(load_default="credit_note", validate=_policy(*REFUND_POLICIES))
    cancelled_after_payment = fields.String(load_default="credit_note", validate=_policy(*REFUND_POLICIES))


class DuplicatesSection(_Strict):
    enabled = fields.Boolean(load_default=True)
    auto_match = fields.Float(load_default=0.9, validate=validate.Range(min=0, max=1))
    review = fields.Float(load_default=0.5, validate=validate.Range(min=0, max=1))

    @validates_schema
    def ordered(self, data, **kwargs):
        if data["review"] > data["auto_match"]:
            raise ValidationError("must not be above auto_match", "review")


class ClientSection(_Strict):
    duplicates = fields.Nested(DuplicatesSection, load_default=lambda: DuplicatesSection().load({}))


class OwnershipSection(_Strict):
    contact = fields.String(load_default="newest", validate=_policy("xcart", "freshbooks", "newest"))
    billing_address = fields.String(load_default="newest", validate=_policy("xcart", "freshbooks", "newest"))
    shipping_address = fields.String(load_default="xcart", validate=_policy("xcart", "freshbooks", "newest"))
    item_text = fields.String(load_default="xcart", validate=_policy("xcart", "freshbooks", "newest"))
    price = fields.String(load_default="xcart", validate=_policy("xcart", "freshbooks", "newest"))
    stock = fields.String(load_default="xcart", validate=_policy("xcart", "freshbooks", "newest"))


class SyncSection(_Strict):
    ownership = fields.Nested(OwnershipSection, load_default=lambda: OwnershipSection().load({}))


class AnomalyKindSchema(_Strict):
    action = fields.String(required=True, validate=_policy("flag", "review"))
    threshold = Money(load_default=None, validate=validate.Range(min=0))


class AnomalySection(_Strict):
    enabled = fields.Boolean(load_default=True)
    warm_up = fields.Integer(load_default=30, validate=validate.Range(min=3))
    refund_warm_up = fields.Integer(load_default=10, validate=validate.Range(min=3))
    window = fields.Integer(load_default=500, validate=validate.Range(min=10, max=100_000))
    refund_window_days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=3650))
    refund_orders = fields.Integer(load_default=5, validate=validate.Range(min=2, max=100))
    material_share = Money(load_default=Decimal("0.1"), validate=validate.Range(min=0, max=1))
    kinds = fields.Dict(keys=fields.String(validate=_policy(*ANOMALY_KINDS)), values=fields.Nested(AnomalyKindSchema),
                        load_default=dict)

    @post_load
    def build(self, data: dict, **kwargs) -> AnomalySettings:
        kinds = dict(ANOMALY_KINDS)
        for name, given in data.pop("kinds").items():
            kinds[name] = AnomalyKind(given["action"], kinds[name].threshold if given["threshold"] is None
                                      else given["threshold"])
        return AnomalySettings(**data, kinds=kinds)


class ValidationSection(_Strict):
    enabled = fields.Boolean(load_default=True)
    actions = fields.Dict(keys=fields.String(validate=_policy(*SEVERITIES)),
                          values=fields.String(validate=_policy("flag", "review")), load_default=dict)
    currencies = fields.List(fields.String(), load_default=list)

    @validates("currencies")
    def known(self, value, **kwargs):
        bad = [code for code in value if not is_known_currency(code)]
        if bad:
            raise ValidationError(f"unknown currency {', '.join(bad)}")

    @post_load
    def build(self, data: dict, **kwargs) -> ValidationSettings:
        return ValidationSettings(enabled=data["enabled"], actions={**ValidationSettings().actions, **data["actions"]},
                                  currencies=tuple(data["currencies"]))


class RulesSchema(_Strict):
    version = fields.Integer(required=True, validate=validate.Equal(1, error="only version 1 exists"))
    currency = fields.Nested(CurrencySection, load_default=lambda: CurrencySection().load({}))
    status = fields.Nested(StatusSection, load_default=lambda: StatusSection().load({}))
    taxes = fields.Nested(TaxSection, load_default=lambda: TaxSection().load({}))
    items = fields.Nested(ItemSection, load_default=lambda: ItemSection().load({}))
    invoice = fields.Nested(InvoiceSection, load_default=lambda: InvoiceSection().load({}))
    refunds = fields.Nested(RefundSection, load_default=lambda: RefundSection().load({}))
    clients = fields.Nested(ClientSection, load_default=lambda: ClientSection().load({}))
    sync = fields.Nested(SyncSection, load_default=lambda: SyncSection().load({}))
    anomalies = fields.Nested(AnomalySection, load_default=AnomalySettings)
    validation = fields.Nested(ValidationSection, load_default=ValidationSettings)

    @post_load
    def build(self, data: dict, **kwargs) -> Rules:
        currency, status, taxes, items, invoice = (data[k] for k in ("currency", "status", "taxes", "items",
                                                                       "invoice"))
        rates = {tuple(pair.split("/")): rate for pair, rate in currency["rates"].items()}
        return Rules(
            account_currency=currency["account_currency"], currency_policy=currency["policy"],
            rates=FixedRates(rates, currency["rate_source"]),
            payment_status=status["payment"], fulfilment_status=status["fulfilment"], unknown_status=status["unknown"],
            taxes={key: TaxRule(**rule) for key, rule in taxes["map"].items()}, unmapped_tax=taxes["unmapped"],
            tax_shipping=taxes["tax_shipping"],
            sku_overrides={sku: ItemOverride(**o) for sku, o in items["sku_overrides"].items()},
            create_missing_items=items["create_missing"], unmapped_item=items["unmapped"],
            unmapped_item_name=items["unmapped_item_name"],
            create_as=invoice["create_as"], look_up_invoices_first=invoice["look_up_first"],
            due_offset_days=invoice["due_offset_days"],
            shipping_line_name=invoice["shipping_line_name"], adjustment_line_name=invoice["adjustment_line_name"],
            adjustment_review_above=invoice["adjustment_review_above"], rounding=ROUNDING[invoice["rounding"]],
            store_timezone=ZoneInfo(invoice["store_timezone"]),
            refund_policy=data["refunds"]["refund"],
            cancelled_after_payment=data["refunds"]["cancelled_after_payment"], rates_from=currency["rates_from"],
            duplicates=DuplicateRules(**data["clients"]["duplicates"]),
            ownership=dict(data["sync"]["ownership"]),
            anomalies=data["anomalies"], validation=data["validation"],
        )


def parse_rules(text: str, source: str = "rules") -> Rules:
    try:
        document = yaml.load(text, Loader=_DecimalLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise RulesInvalid([FieldError("(file)", f"not valid YAML: {exc}")], source) from None
    if not isinstance(document, dict):
        raise RulesInvalid([FieldError("(file)", "the rules file must be a mapping")], source)
    try:
        return RulesSchema().load(document)
    except ValidationError as exc:
        raise RulesInvalid([_without_dict_value_level(e) for e in flatten_messages(exc.messages)], source) from None


def load_rules(path: str | Path | None = None) -> Rules:
    path = Path(path or DEFAULT_RULES)
    return parse_rules(path.read_text(encoding="utf-8"), str(path))

"""The marshmallow schemas that read X-Cart's payloads into the entities (mappings/xcart/entities.py).

The 5.5 API output shape comes first; the 5.x REST add-on's variations are accepted too: money as
strings or numbers, dates as unix ints or ISO with or without a colon in the offset, statuses as bare
codes, `currency` as an object, `profile_id`/`product_id` for `id`. Keys added by add-ons are kept in
`extra`, never rejected. PHP's empty array `[]` is read as an empty map wherever a map belongs, and a
null as the value left out. What X-Cart cannot send (amounts beyond decimal(14,4), fractional quantities,
ids beyond the store's columns, dates outside 2000..now+5y, identifiers longer than their columns) is
refused with the field's path (mappings/xcart/fields.py).
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from mappings.errors import FieldError, PayloadInvalid, flatten_messages
from mappings.money import currency_places, is_known_currency
from mappings.xcart import aliases
from mappings.xcart.entities import (
    Address,
    Coupon,
    Event,
    Order,
    OrderItem,
    PaymentTransaction,
    Product,
    Profile,
    StatusRef,
    Surcharge,
)
from mappings.xcart.envelope import EVENT_TYPES, EnvelopeSchema, read_json
from mappings.xcart.fields import (
    MAX_ORDER_NUMBER,
    MAX_STOCK,
    CurrencyCode,
    FlexibleDateTime,
    Map,
    NestedMap,
    Quantity,
    Status,
    TrackingNumber,
    WholeNumber,
    XCartId,
    XCartMoney,
)

# Identifiers longer than the store's columns (store/models.py) or FreshBooks' (255) are refused, never cut:
# a cut identifier could name another object. Display text (names, streets) is cut by the FreshBooks mappers.
MAX_SKU = 255  # FreshBooks item sku, bindings.external_id
MAX_EMAIL = 254  # RFC 5321


# -- schemas ------------------------------------------------------------------------------------------------

class _Base(Schema):
    """Keeps unknown keys (add-ons add their own) and hands them over as `extra`. Other X-Cart versions'
    names for a field (`alias_entity`: mappings/xcart/aliases.py) and shapes (`fold`) are read as ours; a null for an
    optional field is the same as the field left out (a null for a required one is an error)."""

    class Meta:
        unknown = INCLUDE

    entity: type = dict
    alias_entity: str | None = None  # its other field names: mappings/xcart/aliases.py

    @pre_load
    def read_variants(self, data, **kwargs):
        if not isinstance(data, dict):
            return data
        data = self.fold(aliases.renamed(data, self.alias_entity) if self.alias_entity else data)
        optional = {f.data_key or name for name, f in self.load_fields.items() if not f.required}
        return {k: v for k, v in data.items() if v is not None or k not in optional}

    def fold(self, data: dict) -> dict:
        return data

    @post_load
    def build(self, data: dict, **kwargs):
        known = {name for name in self.fields}
        extra = {k: v for k, v in data.items() if k not in known}
        values = {k: v for k, v in data.items() if k in known}
        if "extra" in self.entity.__dataclass_fields__:
            values["extra"] = extra
        return self.entity(**values)


def _text(**kwargs) -> fields.Field:
    return fields.String(load_default="", **kwargs)


def _email(**kwargs) -> fields.Field:
    return fields.Email(validate=validate.Length(max=MAX_EMAIL, error="longer than {max} characters"),
                        error_messages={"invalid": "not a valid email address"}, **kwargs)


def _sku(**kwargs) -> fields.Field:
    return fields.String(validate=validate.Length(min=1, max=MAX_SKU, error="must be 1 to {max} characters"),
                         **kwargs)


def _order_number(**kwargs) -> fields.Field:
    return fields.String(validate=validate.Length(min=1, max=MAX_ORDER_NUMBER, error="must be 1 to {max} characters"),
                         **kwargs)


class AddressSchema(_Base):
    entity = Address
    alias_entity = "address"
    firstname = _text()
    lastname = _text()
    phone = _text()
    street = _text()
    city = _text()
    zipcode = _text()
    country_code = _text()
    state = _text()
    state_name = _text()
    company = _text()
    id = XCartId(load_default=None)
    is_billing = fields.Boolean(load_default=False)
    is_shipping = fields.Boolean(load_default=False)
    custom_fields = Map(load_default=dict)

    def fold(self, data):
        if isinstance(data.get("street"), list):
            data["street"] = "\n".join(str(s) for s in data["street"] if s is not None)
        state = data.get("state")
        if isinstance(state, dict | list):  # {"code": "NY", "state": "New York"}, or [] for none
            state = state or {}
            data["state"] = state.get("code") or ""
            if not data.get("state_name"):
                data["state_name"] = state.get("state") or state.get("name") or ""
        elif isinstance(state, int) and not isinstance(state, bool):  # a state id
            data["state"] = str(state)
        return data


class SurchargeSchema(_Base):
    entity = Surcharge
    type = fields.String(required=True, validate=validate.OneOf(("shipping", "tax", "discount", "handling")))
    value = XCartMoney(required=True)
    code = _text()
    name = _text()
    include = fields.Boolean(load_default=False)
    available = fields.Boolean(load_default=True)
    surcharge_class = _text(data_key="class")


class OrderItemSchema(_Base):
    entity = OrderItem
    alias_entity = "item"
    sku = _sku(required=True)
    name = fields.String(required=True)
    price = XCartMoney(required=True)
    amount = Quantity(required=True)
    id = XCartId(load_default=None, data_key="item_id")
    product_id = XCartId(load_default=None)
    item_net_price = XCartMoney(load_default=None)
    discounted_subtotal = XCartMoney(load_default=None)
    surcharges = fields.List(fields.Nested(SurchargeSchema), load_default=tuple)

    def fold(self, data):
        if "product_id" not in data and isinstance(data.get("object"), dict):
            data["product_id"] = data["object"].get("product_id")
        return data

    @post_load
    def build(self, data, **kwargs):
        data["surcharges"] = tuple(data.get("surcharges", ()))
        return super().build(data)


class CouponSchema(_Base):
    entity = Coupon
    code = fields.String(required=True)
    value = XCartMoney(required=True)
    type = _text()
    id = XCartId(load_default=None)
    coupon_id = XCartId(load_default=None)


class OrderSchema(_Base):
    entity = Order
    alias_entity = "order"
    id = XCartId(required=True, data_key="order_id")
    order_number = _order_number(required=True)
    create_date = FlexibleDateTime(required=True)
    update_date = FlexibleDateTime(load_default=None)
    total = XCartMoney(required=True)
    sub_total = XCartMoney(required=True)
    currency = CurrencyCode(required=True)
    email = _email(required=True)
    payment_status = Status(required=True)
    shipping_status = Status(load_default=lambda: {"code": None, "id": None, "name": None})
    items = fields.List(fields.Nested(OrderItemSchema), required=True,
                        validate=validate.Length(min=1, error="an order has at least one item"))
    surcharges = fields.List(fields.Nested(SurchargeSchema), load_default=list)
    used_coupons = fields.List(fields.Nested(CouponSchema), load_default=list)
    billing_address = NestedMap(AddressSchema, load_default=None)
    shipping_address = NestedMap(AddressSchema, load_default=None)
    customer_id = XCartId(load_default=None)
    order_profile_id = XCartId(load_default=None)
    shipping_method_name = _text()
    notes = _text()
    tracking_numbers = fields.List(TrackingNumber(), load_default=list)

    def fold(self, data):
        if isinstance(data.get("order_number"), int) and not isinstance(data["order_number"], bool):
            data["order_number"] = str(data["order_number"])
        if isinstance(data.get("email"), str):
            data["email"] = data["email"].strip()
        return data

    @validates_schema(skip_on_field_errors=False)
    def check_currency_and_places(self, data, **kwargs):
        currency = data.get("currency")
        if currency is None:
            return
        if not is_known_currency(currency):
            raise ValidationError(f"unknown currency {currency!r}", "currency")
        check_places(data, currency)

    @post_load
    def build(self, data, **kwargs):
        data["update_date"] = data.get("update_date") or data["create_date"]
        for key in ("items", "surcharges", "used_coupons", "tracking_numbers"):
            data[key] = tuple(data.get(key) or ())
        for key in ("payment_status", "shipping_status"):
            data[key] = StatusRef(**data[key])
        return super().build(data)


def check_places(data: dict, currency: str) -> None:
    """The order's total and sub_total are rounded to the currency's places (trailing zeros are fine).
    Prices and surcharges are decimal(14,4) and may carry more (a 0.333 unit price is valid X-Cart)."""
    places = currency_places(currency)
    errors = {key: [f"{data[key]} has more decimal places than {currency} allows ({places})"]
              for key in ("total", "sub_total")
              if data.get(key) is not None and data[key] != data[key].quantize(Decimal(1).scaleb(-places))}
    if errors:
        raise ValidationError(errors)


class ProfileSchema(_Base):
    entity = Profile
    alias_entity = "customer"
    id = XCartId(required=True, data_key="profile_id")
    login = _email(required=True)
    addresses = fields.List(fields.Nested(AddressSchema), load_default=list)
    added = FlexibleDateTime(load_default=None)
    updated = FlexibleDateTime(load_default=None)
    status = _text()

    @post_load
    def build(self, data, **kwargs):
        data["addresses"] = tuple(data.get("addresses") or ())
        return super().build(data)


class ProductSchema(_Base):
    entity = Product
    alias_entity = "product"
    id = XCartId(required=True, data_key="product_id")
    sku = _sku(required=True)
    name = fields.String(required=True)
    price = XCartMoney(required=True)
    amount = WholeNumber(0, MAX_STOCK, load_default=None)
    description = _text()
    enabled = fields.Boolean(load_default=True)
    currency = CurrencyCode(load_default=None)
    updated = FlexibleDateTime(load_default=None)


class PaymentTransactionSchema(_Base):
    entity = PaymentTransaction
    alias_entity = "payment"
    id = XCartId(required=True, data_key="transaction_id")
    order_id = XCartId(required=True)
    value = XCartMoney(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("I", "P", "S", "W", "F", "C", "V")))
    type = fields.String(required=True)
    order_number = _order_number(load_default=None)
    date = FlexibleDateTime(load_default=None)
    currency = CurrencyCode(load_default=None)
    method_name = _text()
    note = _text()
    public_id = _text()

    def fold(self, data):
        if isinstance(data.get("order_number"), int) and not isinstance(data["order_number"], bool):
            data["order_number"] = str(data["order_number"])
        return data

    @validates_schema
    def check_currency(self, data, **kwargs):
        currency = data.get("currency")
        if currency and not is_known_currency(currency):
            raise ValidationError(f"unknown currency {currency!r}", "currency")


DATA_SCHEMAS: dict[str, type[Schema]] = {
    "order": OrderSchema, "customer": ProfileSchema, "product": ProductSchema, "payment": PaymentTransactionSchema,
}


def parse_event(raw: str | bytes | dict) -> Event:
    """Reads a webhook event and its entity; raises PayloadInvalid naming every bad field, envelope and
    entity together."""
    body = _json_object(raw)
    errors: list[FieldError] = []
    try:
        envelope = _instance(EnvelopeSchema).load(body)
    except ValidationError as exc:
        errors.extend(flatten_messages(exc.messages))
        envelope = None
    data: Any = body.get("data")
    if data == []:  # PHP's empty array
        data = {}
    event_type = body.get("type")
    if event_type == "product.deleted" and isinstance(data, dict):
        key = "id" if data.get("id") is not None else "product_id"
        try:
            data = {"id": XCartId(required=True).deserialize(data.get(key))}
        except ValidationError as exc:
            errors.extend(flatten_messages(exc.messages, f"data.{key}"))
    elif event_type in EVENT_TYPES and isinstance(data, dict):
        try:
            data = load(DATA_SCHEMAS[event_type.split(".")[0]], data, prefix="data")
        except PayloadInvalid as exc:
            errors.extend(exc.errors)
    if errors or envelope is None:
        raise PayloadInvalid(errors, "event")
    return Event(envelope["id"], envelope["type"], envelope["created_at"], envelope["store"], data)


def load(schema: type[Schema], data: Any, prefix: str = ""):
    try:
        return _instance(schema).load(data)
    except ValidationError as exc:
        raise PayloadInvalid(flatten_messages(exc.messages, prefix), schema.__name__.removesuffix("Schema").lower()
                             ) from None


@functools.cache
def _instance(schema: type[Schema]) -> Schema:
    """One instance a schema, shared by threads: a load keeps no state on it, and building one (its nested
    schemas' fields deep-copied) cost as much as the load itself."""
    return schema()


def _json_object(raw: str | bytes | dict) -> dict:
    return raw if isinstance(raw, dict) else read_json(raw)  # the reader ingest uses too

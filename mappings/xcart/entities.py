"""X-Cart entities as the service sees them: frozen dataclasses, money in Decimal, times in UTC. The
schemas (mappings/xcart/schemas.py) build them from any of X-Cart's shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

SALE_TYPES = ("sale", "capture", "capturePart", "captureMulti")  # transaction types that collect money


@dataclass(frozen=True)
class StatusRef:
    code: str | None
    id: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class Address:
    firstname: str = ""
    lastname: str = ""
    phone: str = ""
    street: str = ""
    city: str = ""
    zipcode: str = ""
    country_code: str = ""
    state: str = ""
    state_name: str = ""
    company: str = ""
    id: int | None = None
    is_billing: bool = False
    is_shipping: bool = False
    custom_fields: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Surcharge:
    type: str
    value: Decimal
    code: str = ""
    name: str = ""
    include: bool = False
    available: bool = True
    surcharge_class: str = ""


@dataclass(frozen=True)
class OrderItem:
    sku: str
    name: str
    price: Decimal
    amount: int
    id: int | None = None
    product_id: int | None = None
    item_net_price: Decimal | None = None
    discounted_subtotal: Decimal | None = None
    surcharges: tuple[Surcharge, ...] = ()
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Coupon:
    code: str
    value: Decimal
    type: str = ""
    id: int | None = None
    coupon_id: int | None = None


@dataclass(frozen=True)
class Order:
    id: int
    order_number: str
    create_date: datetime
    update_date: datetime
    total: Decimal
    sub_total: Decimal
    currency: str
    email: str
    payment_status: StatusRef
    shipping_status: StatusRef
    items: tuple[OrderItem, ...]
    surcharges: tuple[Surcharge, ...] = ()
    used_coupons: tuple[Coupon, ...] = ()
    billing_address: Address | None = None
    shipping_address: Address | None = None
    customer_id: int | None = None
    order_profile_id: int | None = None
    shipping_method_name: str = ""
    notes: str = ""
    tracking_numbers: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    id: int
    login: str
    addresses: tuple[Address, ...] = ()
    added: datetime | None = None
    updated: datetime | None = None
    status: str = ""
    extra: dict = field(default_factory=dict)

    def address(self, kind: str) -> Address | None:
        flag = "is_billing" if kind == "billing" else "is_shipping"
        return next((a for a in self.addresses if getattr(a, flag)), self.addresses[0] if self.addresses else None)


@dataclass(frozen=True)
class Product:
    id: int
    sku: str
    name: str
    price: Decimal
    amount: int | None = None  # stock
    description: str = ""
    enabled: bool = True
    currency: str | None = None
    updated: datetime | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PaymentTransaction:
    id: int
    order_id: int
    value: Decimal
    status: str
    type: str
    order_number: str | None = None
    date: datetime | None = None
    currency: str | None = None
    method_name: str = ""
    note: str = ""
    public_id: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status == "S"

    @property
    def is_sale(self) -> bool:
        return self.type in SALE_TYPES

    @property
    def is_refund(self) -> bool:
        return self.type.startswith("refund")


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    created_at: datetime
    store: str
    data: Order | Profile | Product | PaymentTransaction | dict

    @property
    def entity(self) -> str:
        return self.type.split(".")[0]

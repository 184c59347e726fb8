"""The sandbox's accounting state: clients, items, taxes, invoices, payments, credit notes and callbacks of one
account.

Objects are kept in the API's output shape (money as decimal strings), so reads are plain copies and
the whole state serialises to JSON for the optional SQLite persistence. Every change is reported to
`on_change(noun, action, object_id)`, which feeds the webhook dispatcher.
"""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from mappings.money import InvoiceTotals, LineInput, currency_places, invoice_totals, quantize
from sandboxes.freshbooks.errors import DELETED, TOO_LONG, ApiError, ValidationError, invalid, not_found, required

PAYMENT_TYPES = (
    "Check", "Credit", "Cash", "Bank Transfer", "Credit Card", "Debit", "PayPal", "2Checkout", "VISA",
    "MASTERCARD", "DISCOVER", "AMEX", "DINERS", "JCB", "ACH", "Other",
)
INVOICE_STATUS = {0: "disputed", 1: "draft", 2: "sent", 3: "viewed", 4: "paid", 5: "auto_paid", 6: "retry",
                  7: "failed", 8: "partial"}
CLIENT_FIELDS = (
    "fname", "lname", "email", "organization", "p_street", "p_street2", "p_city", "p_province", "p_code",
    "p_country", "s_street", "s_street2", "s_city", "s_province", "s_code", "s_country", "currency_code",
    "language", "bus_phone", "mob_phone", "home_phone", "note", "vat_name", "vat_number",
)
INVOICE_TEXT_FIELDS = (
    "invoice_number", "po_number", "notes", "terms", "organization", "fname", "lname", "street", "street2",
    "city", "province", "code", "country", "address",
)
# Credit notes: FreshBooks' credit page lists "goodwill" and "prepayment" for a create; "overpayment" is seen in
# answers (credits made from overpaid invoices), so it is accepted too.
CREDIT_TYPES = ("goodwill", "prepayment", "overpayment")
CREDIT_TEXT_FIELDS = ("notes", "terms", "language")
MAX_TEXT = 10_000
MAX_SHORT_TEXT = 255
# The largest amount or quantity the sandbox holds (FreshBooks publishes none; its amounts are fixed-point
# decimals): beyond it a value is a validation error (422, errno 1004), as FreshBooks answers, never a 500.
MAX_AMOUNT = Decimal(10) ** 15
EASTERN = ZoneInfo("America/New_York")


def now_utc() -> datetime:
    return datetime.now(UTC)


def _timestamp() -> str:
    """`updated` as FreshBooks reports it: a zone-less "YYYY-MM-DD HH:MM:SS" in US/Eastern."""
    return now_utc().astimezone(EASTERN).strftime("%Y-%m-%d %H:%M:%S")


def _utc_timestamp() -> str:
    """`signup_date`: zone-less, in UTC."""
    return now_utc().strftime("%Y-%m-%d %H:%M:%S")


def _money(value: Decimal, code: str) -> dict:
    return {"amount": str(quantize(value, currency_places(code))), "code": code}


def parse_decimal(obj: str, field: str, value: Any) -> Decimal:
    if isinstance(value, dict):
        value = value.get("amount")
    if isinstance(value, bool) or value is None or isinstance(value, float):
        # floats are refused: a JSON number arrives here as Decimal (parse_float=Decimal)
        raise invalid(obj, field, value)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise invalid(obj, field, value) from None
    if not number.is_finite():
        raise invalid(obj, field, value)
    if abs(number) >= MAX_AMOUNT:
        raise invalid(obj, field, str(value)[:40], "Amount out of range")
    return number


def _parse_date(obj: str, field: str, value: Any) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise invalid(obj, field, value, "Invalid date (YYYY-MM-DD)") from None


def _text(obj: str, field: str, value: Any, limit: int = MAX_SHORT_TEXT) -> str:
    text = "" if value is None else str(value)
    if len(text) > limit:
        raise ValidationError(TOO_LONG, f"Max length exceeded for field {field}.", field=field, object=obj,
                              value=text[:40])
    return text


class Books:
    def __init__(self, account_id: str = "SANDBOX1", business_id: int = 1001, currency: str = "USD",
                 unique_invoice_numbers: bool = False):
        self.account_id = account_id
        self.business_id = business_id
        self.currency = currency
        self.unique_invoice_numbers = unique_invoice_numbers
        self.lock = threading.RLock()
        self.on_change: Callable[[str, str, int], None] = lambda noun, action, object_id: None
        self.reset()

    # -- whole state ------------------------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.objects: dict[str, dict[int, dict]] = {
                "client": {}, "item": {}, "tax": {}, "invoice": {}, "payment": {}, "credit_note": {},
                "callback": {}}
            self.next_id = 1
            self.next_invoice_number = 1
            self.next_credit_number = 1

    def snapshot(self) -> dict:
        with self.lock:
            return {"objects": {noun: list(by_id.values()) for noun, by_id in self.objects.items()},
                    "next_id": self.next_id, "next_invoice_number": self.next_invoice_number,
                    "next_credit_number": self.next_credit_number}

    def restore(self, snapshot: dict) -> None:
        with self.lock:
            self.reset()
            for noun, objects in snapshot["objects"].items():
                self.objects[noun] = {obj["id"]: obj for obj in objects}
            self.next_id = snapshot["next_id"]
            self.next_invoice_number = snapshot["next_invoice_number"]
            self.next_credit_number = snapshot.get("next_credit_number", 1)

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {noun: sum(1 for o in by_id.values() if o.get("vis_state", 0) == 0)
                    for noun, by_id in self.objects.items()}

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def _get(self, noun: str, object_id: int, id_field: str) -> dict:
        obj = self.objects[noun].get(object_id)
        if obj is None:
            raise not_found(noun, id_field, object_id)
        return obj

    def _changed(self, noun: str, action: str, object_id: int) -> None:
        self.on_change(noun, action, object_id)

    # -- generic reads ----------------------------------------------------------------------------------

    def read(self, noun: str, object_id: int, *, include_lines: bool = False) -> dict:
        with self.lock:
            obj = copy.deepcopy(self._get(noun, object_id, _ID_FIELD[noun]))
        if noun == "invoice" and not include_lines:
            obj.pop("lines", None)
        return obj

    def all(self, noun: str) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(o) for o in self.objects[noun].values()]

    # -- clients ----------------------------------------------------------------------------------------

    def create_client(self, data: dict) -> dict:
        fields = self._client_fields(data)
        if not any(fields.get(k) for k in ("email", "organization", "fname", "lname")):
            raise required("client", "email")
        with self.lock:
            client_id = self._new_id()
            client = {"id": client_id, "userid": client_id, **dict.fromkeys(CLIENT_FIELDS, ""), **fields,
                      "currency_code": fields.get("currency_code") or self.currency,
                      "signup_date": _utc_timestamp(), "updated": _timestamp(), "vis_state": 0}
            self.objects["client"][client_id] = client
        self._changed("client", "create", client_id)
        return copy.deepcopy(client)

    def update_client(self, client_id: int, data: dict) -> dict:
        with self.lock:
            client = self._get("client", client_id, "userid")
            client.update(self._client_fields(data))
            action = self._apply_vis_state("client", client, data)
            client["updated"] = _timestamp()
            result = copy.deepcopy(client)
        self._changed("client", action, client_id)
        return result

    def _client_fields(self, data: dict) -> dict:
        fields = {k: _text("client", k, data[k]) for k in CLIENT_FIELDS if k in data}
        if fields.get("email") and "@" not in fields["email"]:
            raise invalid("client", "email", fields["email"], "Invalid email address")
        return fields

    def _apply_vis_state(self, noun: str, obj: dict, data: dict) -> str:
        if "vis_state" not in data:
            return "update"
        state = data["vis_state"]
        if state not in (0, 1, 2):
            raise invalid(noun, "vis_state", state)
        obj["vis_state"] = state
        return "delete" if state == 1 else "update"

    # -- items ------------------------------------------------------------------------------------------

    def create_item(self, data: dict) -> dict:
        if not data.get("name"):
            raise required("item", "name")
        with self.lock:
            item_id = self._new_id()
            item = {"id": item_id, "itemid": item_id, "name": "", "description": "", "sku": "",
                    "qty": "0", "inventory": None, "unit_cost": _money(Decimal(0), self.currency),
                    "tax1": 0, "tax2": 0, "vis_state": 0}
            item.update(self._item_fields(data))
            item["updated"] = _timestamp()
            self.objects["item"][item_id] = item
        self._changed("item", "create", item_id)
        return copy.deepcopy(item)

    def update_item(self, item_id: int, data: dict) -> dict:
        with self.lock:
            item = self._get("item", item_id, "itemid")
            item.update(self._item_fields(data))
            action = self._apply_vis_state("item", item, data)
            item["updated"] = _timestamp()
            result = copy.deepcopy(item)
        self._changed("item", action, item_id)
        return result

    def _item_fields(self, data: dict) -> dict:
        fields: dict[str, Any] = {k: _text("item", k, data[k]) for k in ("name", "description", "sku")
                                  if k in data}
        for key in ("qty", "inventory"):
            if data.get(key) is not None:
                fields[key] = str(parse_decimal("item", key, data[key]))
        if "unit_cost" in data:
            raw = data["unit_cost"]
            code = raw.get("code") if isinstance(raw, dict) and raw.get("code") else self.currency
            fields["unit_cost"] = _money(parse_decimal("item", "unit_cost", data["unit_cost"]), code)
        for key in ("tax1", "tax2"):
            if key in data:
                fields[key] = int(data[key] or 0)
        return fields

    # -- taxes ------------------------------------------------------------------------------------------

    def create_tax(self, data: dict) -> dict:
        if not data.get("name"):
            raise required("tax", "name")
        percent = parse_decimal("tax", "amount", data.get("amount", "0"))
        with self.lock:
            tax_id = self._new_id()
            tax = {"id": tax_id, "taxid": tax_id, "name": _text("tax", "name", data["name"]),
                   "amount": str(percent), "number": _text("tax", "number", data.get("number")),
                   "compound": bool(data.get("compound", False)), "updated": _timestamp()}
            self.objects["tax"][tax_id] = tax
        self._changed("tax", "create", tax_id)
        return copy.deepcopy(tax)

    def update_tax(self, tax_id: int, data: dict) -> dict:
        with self.lock:
            tax = self._get("tax", tax_id, "taxid")
            if "name" in data:
                tax["name"] = _text("tax", "name", data["name"])
            if "amount" in data:
                tax["amount"] = str(parse_decimal("tax", "amount", data["amount"]))
            if "number" in data:
                tax["number"] = _text("tax", "number", data["number"])
            tax["updated"] = _timestamp()
            result = copy.deepcopy(tax)
        self._changed("tax", "update", tax_id)
        return result

    def delete_tax(self, tax_id: int) -> None:
        with self.lock:
            self._get("tax", tax_id, "taxid")
            del self.objects["tax"][tax_id]
        self._changed("tax", "delete", tax_id)

    # -- invoices ---------------------------------------------------------------------------------------

    def create_invoice(self, data: dict) -> dict:
        customer_id = data.get("customerid")
        if customer_id in (None, ""):
            raise required("invoice", "customerid")
        if not data.get("create_date"):
            raise required("invoice", "create_date")
        status = data.get("status", 1)
        if status not in INVOICE_STATUS:
            raise invalid("invoice", "status", status)
        with self.lock:
            client = self._customer(customer_id)
            invoice_number = data.get("invoice_number")
            if invoice_number in (None, ""):
                invoice_number = f"{self.next_invoice_number:07d}"
                self.next_invoice_number += 1
            elif self.unique_invoice_numbers and self._find_invoice_number(str(invoice_number)):
                raise invalid("invoice", "invoice_number", invoice_number, "Invoice number already in use")
            invoice_id = self._new_id()
            currency = str(data.get("currency_code") or client.get("currency_code") or self.currency)
            invoice = {
                "id": invoice_id, "invoiceid": invoice_id, "accountid": self.account_id,
                "customerid": client["id"], "currency_code": currency, "status": status,
                "vis_state": 0, "created_at": _timestamp(), "lines": [], "discount_value": "0",
                "due_offset_days": 0, "paid": _money(Decimal(0), currency),
                **{k: "" for k in INVOICE_TEXT_FIELDS}, "invoice_number": str(invoice_number),
            }
            for key in ("organization", "fname", "lname"):
                invoice[key] = client.get(key, "")
            self._apply_invoice_fields(invoice, data)
            self.objects["invoice"][invoice_id] = invoice
            self._recompute(invoice)
            result = copy.deepcopy(invoice)
        self._changed("invoice", "create", invoice_id)
        return result

    def update_invoice(self, invoice_id: int, data: dict) -> dict:
        with self.lock:
            invoice = self._get("invoice", invoice_id, "invoiceid")
            if invoice["vis_state"] == 1:
                raise ApiError(422, DELETED, "Invoice is deleted.", field="invoiceid", object="invoice",
                               value=invoice_id)
            if "customerid" in data:
                invoice["customerid"] = self._customer(data["customerid"])["id"]
            if data.get("action_mark_as_sent") and invoice["status"] == 1:
                invoice["status"] = 2
            self._apply_invoice_fields(invoice, data)
            if "vis_state" in data:
                self._apply_vis_state("invoice", invoice, data)
            self._recompute(invoice)
            result = copy.deepcopy(invoice)
        self._changed("invoice", "update", invoice_id)
        return result

    def delete_invoice(self, invoice_id: int) -> None:
        with self.lock:
            invoice = self._get("invoice", invoice_id, "invoiceid")
            invoice["vis_state"] = 1
            invoice["updated"] = _timestamp()
        self._changed("invoice", "delete", invoice_id)

    def _customer(self, customer_id: Any, obj: str = "invoice", field: str = "customerid") -> dict:
        try:
            key = int(customer_id)
        except (TypeError, ValueError):
            raise invalid(obj, field, customer_id) from None
        client = self.objects["client"].get(key)
        if client is None:
            raise not_found("client", field, customer_id)
        if client["vis_state"] == 1:
            raise ApiError(422, DELETED, "Client is deleted.", field=field, object="client", value=key)
        return client

    def _find_invoice_number(self, number: str) -> dict | None:
        return next((i for i in self.objects["invoice"].values()
                     if i["invoice_number"] == number and i["vis_state"] != 1), None)

    def _apply_invoice_fields(self, invoice: dict, data: dict) -> None:
        for key in INVOICE_TEXT_FIELDS:
            if key in data and key != "invoice_number":
                limit = MAX_TEXT if key in ("notes", "terms") else MAX_SHORT_TEXT
                invoice[key] = _text("invoice", key, data[key], limit)
        if "create_date" in data:
            invoice["create_date"] = _parse_date("invoice", "create_date", data["create_date"])
        if "due_offset_days" in data:
            try:
                invoice["due_offset_days"] = int(data["due_offset_days"])
            except (TypeError, ValueError):
                raise invalid("invoice", "due_offset_days", data["due_offset_days"]) from None
        if "discount_value" in data:
            percent = parse_decimal("invoice", "discount_value", data["discount_value"])
            if not Decimal(0) <= percent <= Decimal(100):
                raise invalid("invoice", "discount_value", percent)
            invoice["discount_value"] = str(percent)
        if "lines" in data:
            invoice["lines"] = [self._line(i, line, invoice["currency_code"]) for i, line
                                in enumerate(data["lines"] or [], start=1)]

    def _line(self, index: int, line: dict, currency: str) -> dict:
        if not isinstance(line, dict):
            raise invalid("line", f"lines[{index}]", line)
        qty = parse_decimal("line", "qty", line.get("qty", "1"))
        unit_cost = parse_decimal("line", "unit_cost", line.get("unit_cost", "0"))
        if line.get("type", 0) not in (0, 1):
            raise invalid("line", "type", line.get("type"))
        if abs(qty * unit_cost) >= MAX_AMOUNT:
            raise invalid("line", "amount", qty * unit_cost, "Amount out of range")
        result = {"lineid": index, "type": line.get("type", 0), "name": _text("line", "name", line.get("name")),
                  "description": _text("line", "description", line.get("description"), MAX_TEXT),
                  "qty": str(qty), "unit_cost": _money(unit_cost, currency)}
        for n in (1, 2):
            name = line.get(f"taxName{n}")
            if name:
                result[f"taxName{n}"] = _text("line", f"taxName{n}", name)
                percent = parse_decimal("line", f"taxAmount{n}", line.get(f"taxAmount{n}", "0"))
                if not Decimal(0) <= percent <= Decimal(100):
                    raise invalid("line", f"taxAmount{n}", percent, "Tax percent out of range")
                result[f"taxAmount{n}"] = str(percent)
        return result

    def _recompute(self, invoice: dict) -> None:
        code = invoice["currency_code"]
        totals = invoice_totals((_line_input(line) for line in invoice["lines"]),
                                Decimal(invoice["discount_value"]), code)
        for line, amount in zip(invoice["lines"], totals.line_amounts, strict=True):
            line["amount"] = _money(amount, code)
        paid = sum((Decimal(p["amount"]["amount"]) for p in self.objects["payment"].values()
                    if p["invoiceid"] == invoice["id"] and p["vis_state"] == 0), Decimal(0))
        outstanding = totals.amount - paid
        invoice.update({
            "amount": _money(totals.amount, code), "paid": _money(paid, code),
            "outstanding": _money(max(outstanding, Decimal(0)), code),
            "discount_total": _money(totals.discount_total, code),
            "taxes": _tax_summary(totals, code),
            "due_date": (date.fromisoformat(invoice["create_date"])
                         + timedelta(days=invoice["due_offset_days"])).isoformat(),
            "updated": _timestamp(),
        })
        self._settle_status(invoice, paid, totals.amount)

    @staticmethod
    def _settle_status(invoice: dict, paid: Decimal, amount: Decimal) -> None:
        if paid > 0 and paid >= amount:
            payment_status, status = "paid", 4
        elif paid > 0:
            payment_status, status = "partial", 8
        else:
            payment_status = "unpaid"
            status = invoice["status"] if invoice["status"] not in (4, 8) else 2
        invoice.update({"status": status, "payment_status": payment_status, "v3_status": INVOICE_STATUS[status],
                        "display_status": INVOICE_STATUS[status]})

    # -- payments ---------------------------------------------------------------------------------------

    def create_payment(self, data: dict) -> dict:
        if data.get("invoiceid") in (None, ""):
            raise required("payment", "invoiceid")
        amount = parse_decimal("payment", "amount", data.get("amount"))
        if amount == 0:
            raise invalid("payment", "amount", amount, "Payment amount cannot be zero")
        if not data.get("date"):
            raise required("payment", "date")
        payment_type = data.get("type", "Other")
        if payment_type not in PAYMENT_TYPES:
            raise invalid("payment", "type", payment_type)
        with self.lock:
            try:
                invoice = self._get("invoice", int(data["invoiceid"]), "invoiceid")
            except (TypeError, ValueError):
                raise invalid("payment", "invoiceid", data["invoiceid"]) from None
            if invoice["vis_state"] == 1:
                raise ApiError(422, DELETED, "Invoice is deleted.", field="invoiceid", object="payment",
                               value=invoice["id"])
            payment_id = self._new_id()
            code = invoice["currency_code"]
            payment = {"id": payment_id, "logid": payment_id, "invoiceid": invoice["id"],
                       "clientid": invoice["customerid"], "amount": _money(amount, code),
                       "date": _parse_date("payment", "date", data["date"]), "type": payment_type,
                       "note": _text("payment", "note", data.get("note"), MAX_TEXT), "vis_state": 0,
                       "updated": _timestamp(), "transactionid": None, "gateway": None}
            self.objects["payment"][payment_id] = payment
            self._recompute(invoice)
            result = copy.deepcopy(payment)
        self._changed("payment", "create", payment_id)
        self._changed("invoice", "update", invoice["id"])
        return result

    def update_payment(self, payment_id: int, data: dict) -> dict:
        with self.lock:
            payment = self._get("payment", payment_id, "paymentid")
            if "amount" in data:
                payment["amount"] = _money(parse_decimal("payment", "amount", data["amount"]),
                                           payment["amount"]["code"])
            if "note" in data:
                payment["note"] = _text("payment", "note", data["note"], MAX_TEXT)
            if "date" in data:
                payment["date"] = _parse_date("payment", "date", data["date"])
            action = self._apply_vis_state("payment", payment, data)
            payment["updated"] = _timestamp()
            self._recompute(self.objects["invoice"][payment["invoiceid"]])
            result = copy.deepcopy(payment)
        self._changed("payment", action, payment_id)
        self._changed("invoice", "update", payment["invoiceid"])
        return result

    # -- credit notes -----------------------------------------------------------------------------------
    # A credit note is what the client is owed back: lines priced and taxed as an invoice's (no discount),
    # `amount` their total, `paid` what of it was applied (nothing the sandbox applies). FreshBooks' status
    # words for a new credit note are unverified: "created", displayed "draft", payment status "unapplied".

    def create_credit_note(self, data: dict) -> dict:
        if data.get("clientid") in (None, ""):
            raise required("credit_note", "clientid")
        credit_type = data.get("credit_type", "goodwill")
        if credit_type not in CREDIT_TYPES:
            raise invalid("credit_note", "credit_type", credit_type)
        with self.lock:
            client = self._customer(data["clientid"], "credit_note", "clientid")
            number = data.get("credit_number")
            if number in (None, ""):
                number = f"{self.next_credit_number:07d}"
                self.next_credit_number += 1
            credit_id = self._new_id()
            currency = str(data.get("currency_code") or client.get("currency_code") or self.currency)
            credit = {"id": credit_id, "creditid": credit_id, "accountid": self.account_id, "clientid": client["id"],
                      "credit_number": _text("credit_note", "credit_number", number), "credit_type": credit_type,
                      "currency_code": currency, "create_date": now_utc().date().isoformat(),
                      "status": "created", "display_status": "draft", "payment_status": "unapplied",
                      "vis_state": 0, "lines": [], **dict.fromkeys(CREDIT_TEXT_FIELDS, ""),
                      "organization": client.get("organization", ""), "fname": client.get("fname", ""),
                      "lname": client.get("lname", "")}
            self._apply_credit_fields(credit, data)
            self._recompute_credit(credit)
            self.objects["credit_note"][credit_id] = credit
            result = copy.deepcopy(credit)
        self._changed("credit_note", "create", credit_id)
        return result

    def update_credit_note(self, credit_id: int, data: dict) -> dict:
        with self.lock:
            credit = self._get("credit_note", credit_id, "creditid")
            if credit["vis_state"] == 1 and data.get("vis_state") != 0:
                raise ApiError(422, DELETED, "Credit note is deleted.", field="creditid", object="credit_note",
                               value=credit_id)
            if "clientid" in data:
                credit["clientid"] = self._customer(data["clientid"], "credit_note", "clientid")["id"]
            if "credit_number" in data:
                credit["credit_number"] = _text("credit_note", "credit_number", data["credit_number"])
            self._apply_credit_fields(credit, data)
            action = self._apply_vis_state("credit_note", credit, data)
            self._recompute_credit(credit)
            result = copy.deepcopy(credit)
        self._changed("credit_note", action, credit_id)
        return result

    def _apply_credit_fields(self, credit: dict, data: dict) -> None:
        for key in CREDIT_TEXT_FIELDS:
            if key in data:
                credit[key] = _text("credit_note", key, data[key], MAX_TEXT if key != "language" else 16)
        if "create_date" in data:
            credit["create_date"] = _parse_date("credit_note", "create_date", data["create_date"])
        if "lines" in data:
            credit["lines"] = [self._line(i, line, credit["currency_code"]) for i, line
                               in enumerate(data["lines"] or [], start=1)]

    @staticmethod
    def _recompute_credit(credit: dict) -> None:
        code = credit["currency_code"]
        totals = invoice_totals((_line_input(line) for line in credit["lines"]), Decimal(0), code)
        for line, amount in zip(credit["lines"], totals.line_amounts, strict=True):
            line["amount"] = _money(amount, code)
        credit.update({"amount": _money(totals.amount, code), "paid": credit.get("paid") or _money(Decimal(0), code),
                       "taxes": _tax_summary(totals, code), "updated": _timestamp()})

    # -- callbacks --------------------------------------------------------------------------------------

    def create_callback(self, data: dict) -> dict:
        if not data.get("event"):
            raise required("callback", "event")
        if not data.get("uri"):
            raise required("callback", "uri")
        with self.lock:
            callback_id = self._new_id()
            callback = {"id": callback_id, "callbackid": callback_id, "event": str(data["event"]),
                        "uri": str(data["uri"]), "verified": False,
                        "verifier": secrets.token_urlsafe(24), "updated_at": now_utc().isoformat()}
            self.objects["callback"][callback_id] = callback
        return _public_callback(callback)

    def update_callback(self, callback_id: int, data: dict) -> tuple[dict, bool]:
        """Returns the callback and whether its verification must be (re)sent."""
        with self.lock:
            callback = self._get("callback", callback_id, "callbackid")
            if "verifier" in data:
                if not secrets.compare_digest(str(data["verifier"]), callback["verifier"]):
                    raise invalid("callback", "verifier", "***", "Verifier does not match")
                callback["verified"] = True
            if "event" in data:
                callback["event"] = str(data["event"])
            if "uri" in data:
                callback["uri"], callback["verified"] = str(data["uri"]), False
            return _public_callback(callback), bool(data.get("resend")) or "uri" in data

    def delete_callback(self, callback_id: int) -> None:
        with self.lock:
            self._get("callback", callback_id, "callbackid")
            del self.objects["callback"][callback_id]

    def callbacks_for(self, event: str) -> list[dict]:
        noun = event.split(".")[0]
        with self.lock:
            return [dict(c) for c in self.objects["callback"].values()
                    if c["verified"] and c["event"] in (event, noun)]

    def callback_secret(self, callback_id: int) -> dict:
        with self.lock:
            return dict(self._get("callback", callback_id, "callbackid"))


_ID_FIELD = {"client": "userid", "item": "itemid", "tax": "taxid", "invoice": "invoiceid",
             "payment": "paymentid", "credit_note": "creditid", "callback": "callbackid"}


def _public_callback(callback: dict) -> dict:
    return {k: v for k, v in callback.items() if k != "verifier"}


def _line_input(line: dict) -> LineInput:
    taxes = tuple((line[f"taxName{n}"], Decimal(line[f"taxAmount{n}"])) for n in (1, 2) if line.get(f"taxName{n}"))
    return LineInput(Decimal(line["qty"]), Decimal(line["unit_cost"]["amount"]), taxes)


def _tax_summary(totals: InvoiceTotals, code: str) -> list[dict]:
    return [{"name": name, "amount": _money(amount, code)} for name, amount in totals.taxes.items()]

"""Fast stand-ins for the chain steps' ports (workers/ports.py): a FreshBooks that is the sandbox's own
in-memory books without HTTP, and the ports bundle the unit tier hands the steps.

FakeFreshBooks keeps the sandbox's arithmetic and validation (sandboxes.freshbooks.books.Books) and its fault
switches (sandboxes.freshbooks.faults.Faults: rate limit, 5xx burst, outage, ghost creates), and answers as
the real client does: bodies and answers cross a JSON round trip (money as Decimal, a float refused), a
refusal is the client's typed error, built by the client's own error_from_response."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from decimal import Decimal

import requests
from sqlalchemy.orm import sessionmaker
from werkzeug.datastructures import MultiDict

from apis.freshbooks.client import error_from_response
from apis.freshbooks.errors import RateLimited, Unavailable
from mappings.rules import Rules, load_rules
from sandboxes.freshbooks.books import Books
from sandboxes.freshbooks.errors import ApiError
from sandboxes.freshbooks.faults import Faults
from sandboxes.freshbooks.listing import list_page
from store.locks import ThreadLocks
from workers.ports import XCart


class FakeFreshBooks:
    """The FreshBooks port over `Books`. `calls` lists each request by the client method's name."""

    def __init__(self, books: Books | None = None, faults: Faults | None = None):
        self.books = books or Books()
        self.faults = faults or Faults()
        self.calls: list[str] = []

    @property
    def account_id(self) -> str:
        return self.books.account_id

    # -- clients, items, taxes ----------------------------------------------------------------------------

    def find_client_by_email(self, email: str) -> dict | None:
        wanted = email.strip().lower()
        return self._find("find_client_by_email", "client", lambda c: (c.get("email") or "").strip().lower() == wanted)

    def create_client(self, client: dict) -> dict:
        return self._create("create_client", self.books.create_client, client)

    def update_client(self, client_id: int, changes: dict) -> dict:
        return self._call("update_client", lambda: self.books.update_client(int(client_id), _wire(changes)))

    def get_client(self, client_id: int) -> dict:
        return self._call("get_client", lambda: self.books.read("client", int(client_id)))

    def search_clients(self, filters: dict[str, str]) -> list[dict]:
        """Page after page, as the client does (one call counted per page)."""
        found, page, pages = [], 1, 1
        while page <= pages:
            args = MultiDict({f"search[{name}]": value for name, value in filters.items()}
                             | {"per_page": "100", "page": str(page)})
            listed = self._call("search_clients",
                                lambda args=args: list_page(self.books.all("client"), "clients", args))
            found, page, pages = found + listed["clients"], page + 1, listed["pages"]
        return found

    def list_clients(self, params: dict | None = None) -> list[dict]:
        wanted = int((params or {}).get("search[vis_state]", 0))  # FreshBooks lists active clients unless asked
        return self._call("list_clients", lambda: {"clients": [c for c in self.books.all("client")
                                                               if c.get("vis_state", 0) == wanted]})["clients"]

    def get_item(self, item_id: int) -> dict:
        return self._call("get_item", lambda: self.books.read("item", int(item_id)))

    def find_item_by_sku(self, sku: str) -> dict | None:
        return self._find("find_item_by_sku", "item", lambda i: i.get("sku") == sku)

    def create_item(self, item: dict) -> dict:
        return self._create("create_item", self.books.create_item, item)

    def update_item(self, item_id: int, changes: dict) -> dict:
        return self._call("update_item", lambda: self.books.update_item(int(item_id), _wire(changes)))

    def find_tax_by_name(self, name: str) -> dict | None:
        return self._find("find_tax_by_name", "tax", lambda t: t.get("name") == name)

    def create_tax(self, tax: dict) -> dict:
        return self._create("create_tax", self.books.create_tax, tax)

    # -- invoices and payments ----------------------------------------------------------------------------

    def get_invoice(self, invoice_id: int) -> dict:
        return self._call("get_invoice", lambda: self.books.read("invoice", int(invoice_id), include_lines=True))

    def find_invoice_by_number(self, invoice_number: str) -> dict | None:
        return self._find("find_invoice_by_number", "invoice", lambda i: i.get("invoice_number") == invoice_number)

    def list_invoices(self, params: dict | None = None) -> list[dict]:
        """Every active invoice, read a page of 100 at a time (one call each) as the client does."""
        invoices, page = [], 1
        while True:
            args = MultiDict((params or {}) | {"per_page": "100", "page": str(page)})
            answer = self._call("list_invoices", lambda args=args: list_page(self.books.all("invoice"), "invoices",
                                                                             args))
            invoices += answer["invoices"]
            if page >= answer["pages"]:
                return invoices
            page += 1

    def create_invoice(self, invoice: dict) -> dict:
        return self._create("create_invoice", self.books.create_invoice, invoice)

    def update_invoice(self, invoice_id: int, changes: dict) -> dict:
        return self._call("update_invoice", lambda: self.books.update_invoice(int(invoice_id), _wire(changes)))

    def delete_invoice(self, invoice_id: int) -> None:
        self._call("delete_invoice", lambda: self.books.delete_invoice(int(invoice_id)))

    def create_payment(self, payment: dict) -> dict:
        return self._create("create_payment", self.books.create_payment, payment)

    # -- credit notes -------------------------------------------------------------------------------------

    def find_credit_note_by_number(self, credit_number: str) -> dict | None:
        return self._find("find_credit_note_by_number", "credit_note",
                          lambda c: c.get("credit_number") == credit_number)

    def create_credit_note(self, credit_note: dict) -> dict:
        return self._create("create_credit_note", self.books.create_credit_note, credit_note)

    def update_credit_note(self, credit_id: int, changes: dict) -> dict:
        return self._call("update_credit_note", lambda: self.books.update_credit_note(int(credit_id), _wire(changes)))

    # -- plumbing -----------------------------------------------------------------------------------------

    def _find(self, name: str, noun: str, is_match) -> dict | None:
        # A list request: deleted objects are left out unless asked for, as the sandbox's listing does.
        return self._call(name, lambda: next((o for o in self.books.all(noun)
                                              if o.get("vis_state", 0) == 0 and is_match(o)), None))

    def _create(self, name: str, create, body: dict) -> dict:
        created = self._call(name, lambda: create(_wire(body)))
        if self.faults.take_ghost():  # stored, and the answer lost (a 500 or a timeout: the client can't tell)
            raise Unavailable(f"{name}: the answer was lost", may_have_reached_server=True, status=500)
        return created

    def _call(self, name: str, work):
        self.calls.append(name)
        if self.faults.latency():
            time.sleep(self.faults.latency())
        verdict = self.faults.check_request()
        if verdict is not None and verdict.status == 429:
            raise RateLimited(f"{name}: HTTP 429: Rate limit exceeded.", retry_after=verdict.retry_after)
        if verdict is not None:
            raise Unavailable(f"{name}: HTTP {verdict.status}: {verdict.reason}", may_have_reached_server=True,
                              status=verdict.status)
        try:
            answer = work()
        except ApiError as error:
            raise _client_error(name, error) from None
        return None if answer is None else _wire(answer)


def _wire(body: dict) -> dict:
    """What crosses the network: Decimal as a string (the client's encoding), numbers read back as Decimal."""
    def encode(value):
        if isinstance(value, Decimal):
            return str(value)
        raise TypeError(f"cannot send {type(value).__name__} to FreshBooks")
    return json.loads(json.dumps(body, default=encode), parse_float=Decimal)


def _client_error(name: str, error: ApiError) -> Exception:
    """The sandbox's refusal as the client raises it from the HTTP answer (validation, not found, ...)."""
    response = requests.Response()
    response.status_code = error.status
    response._content = json.dumps(error.body()).encode()
    return error_from_response("FAKE", name, response)


@dataclass
class FakePorts:
    """The chain steps' ports (workers.ports.StepPorts) for one process: SQLite, the fake FreshBooks,
    threading locks, and no X-Cart API unless one is given."""

    sessions: sessionmaker
    freshbooks: FakeFreshBooks = field(default_factory=FakeFreshBooks)
    rules: Rules = field(default_factory=load_rules)
    locks: ThreadLocks = field(default_factory=ThreadLocks)
    xcart: XCart | None = None

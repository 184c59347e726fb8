"""The FreshBooks API emulator: real paths, envelopes, errors and status codes, over in-memory books.

Run it with `xcfb sandbox freshbooks --port 8100`. Admin endpoints under /_sandbox/ switch faults,
reset the state and report counts; they are for tests and demos and not part of FreshBooks' API.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, redirect, request

from sandboxes.freshbooks.books import Books
from sandboxes.freshbooks.errors import (
    ACCESS_DENIED,
    PARSE_ERROR,
    UNAUTHORIZED_MESSAGE,
    ApiError,
    ValidationError,
    required,
)
from sandboxes.freshbooks.faults import Faults, FaultSettings
from sandboxes.freshbooks.listing import list_page
from sandboxes.freshbooks.oauth import OAuthAuthority, OAuthError, OAuthSettings
from sandboxes.freshbooks.webhooks import WebhookDispatcher
from sandboxes.serve import guard_admin

ACCOUNTING = "/accounting/account/<account_id>"
RESOURCES = {  # path -> (singular, plural)
    "users/clients": ("client", "clients"),
    "items/items": ("item", "items"),
    "taxes/taxes": ("tax", "taxes"),
    "invoices/invoices": ("invoice", "invoices"),
    "payments/payments": ("payment", "payments"),
    "credit_notes/credit_notes": ("credit_note", "credit_notes"),
}


@dataclass
class SandboxConfig:
    account_id: str = "SANDBOX1"
    business_id: int = 1001
    # More businesses of the same identity (account id, name): listed by /users/me, their books refused (403),
    # as FreshBooks users often belong to several businesses and the service must work with the chosen one.
    other_businesses: tuple[tuple[str, str], ...] = (("SANDBOX2", "Second Sandbox Shop"),)
    currency: str = "USD"
    oauth: OAuthSettings = field(default_factory=OAuthSettings)
    faults: FaultSettings = field(default_factory=FaultSettings)
    validation_status: int = 422  # FreshBooks answers validation errors with 400 or 422 (unverified)
    unique_invoice_numbers: bool = False
    state_path: str | None = None  # SQLite file that keeps the books across restarts
    admin_token: str | None = None  # when set, /_sandbox/ wants it as a bearer token


class Sandbox:
    """The sandbox's parts, reachable from tests: books, faults, OAuth authority, webhook dispatcher."""

    def __init__(self, config: SandboxConfig):
        self.config = config
        self.books = Books(config.account_id, config.business_id, config.currency, config.unique_invoice_numbers)
        self.faults = Faults(config.faults)
        self.oauth = OAuthAuthority(config.oauth)
        self.webhooks = WebhookDispatcher()
        self.store = _StateFile(config.state_path) if config.state_path else None
        if self.store:
            saved = self.store.load()
            if saved:
                self.books.restore(saved)
        self.books.on_change = self._notify
        # Every API request received (not /_sandbox/, nor the OAuth token endpoint), by "METHOD resource", faults
        # and refusals included: what a client's calls cost, read by benches and tests through /_sandbox/stats.
        self.requests: Counter[str] = Counter()
        self._requests_lock = threading.Lock()

    def count_request(self, method: str, path: str) -> None:
        with self._requests_lock:
            self.requests[f"{method} {_resource(path)}"] += 1

    def reset(self) -> None:
        with self._requests_lock:
            self.requests.clear()
        self.books.reset()
        self.oauth.reset()
        self.faults.reset()
        self.persist()

    def persist(self) -> None:
        if self.store:
            self.store.save(self.books.snapshot())

    def _notify(self, noun: str, action: str, object_id: int) -> None:
        name = f"{noun}.{action}"
        for callback in self.books.callbacks_for(name):
            self.webhooks.send(callback["uri"], self._event_form(name, object_id), callback["verifier"])

    def send_verification(self, callback_id: int) -> None:
        callback = self.books.callback_secret(callback_id)
        form = self._event_form("callback.verify", callback_id) + [("verifier", callback["verifier"])]
        self.webhooks.send(callback["uri"], form, callback["verifier"])

    def _event_form(self, name: str, object_id: int) -> list[tuple[str, str]]:
        return [("name", name), ("object_id", str(object_id)), ("account_id", self.config.account_id),
                ("business_id", str(self.config.business_id)), ("identity_id", "1"), ("user_id", "1")]


class _StateFile:
    def __init__(self, path: str):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS books (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT)")

    def load(self) -> dict | None:
        with sqlite3.connect(self._path) as db:
            row = db.execute("SELECT state FROM books WHERE id = 1").fetchone()
        return json.loads(row[0]) if row else None

    def save(self, snapshot: dict) -> None:
        with sqlite3.connect(self._path) as db:
            db.execute("INSERT INTO books (id, state) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET state = ?",
                       (json.dumps(snapshot),) * 2)


def create_app(config: SandboxConfig | None = None) -> Flask:
    sandbox = Sandbox(config or SandboxConfig())
    app = Flask(__name__)
    app.extensions["fb_sandbox"] = sandbox
    guard_admin(app, sandbox.config.admin_token)
    books = sandbox.books

    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        status = sandbox.config.validation_status if isinstance(error, ValidationError) else error.status
        return _json(error.body(), status)

    @app.errorhandler(OAuthError)
    def oauth_error(error: OAuthError):
        return _json({"error": error.error, "error_description": error.description}, error.status)

    @app.errorhandler(404)
    def unknown_path(_error):
        return _json(ApiError(404, 1012, "The requested resource was not found.").body(), 404)

    @app.before_request
    def count_requests():  # first: a request refused by a fault or the authentication is a call all the same
        if request.path.startswith(("/accounting/", "/events/", "/auth/api/")):
            sandbox.count_request(request.method, request.path)

    @app.before_request
    def inject_faults():
        if request.path.startswith("/_sandbox"):
            return None
        if sandbox.faults.latency():
            time.sleep(sandbox.faults.latency())
        verdict = sandbox.faults.check_request()
        if verdict is None:
            return None
        body = ApiError(verdict.status, 0 if verdict.status >= 500 else 429,
                        "Rate limit exceeded." if verdict.status == 429 else "Service unavailable.").body()
        response = _json(body, verdict.status)
        if verdict.retry_after is not None:
            response.headers["Retry-After"] = str(verdict.retry_after)
        return response

    @app.before_request
    def authenticate():
        protected = request.path.startswith(("/accounting/", "/events/", "/auth/api/"))
        if not protected:
            return None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not sandbox.oauth.is_valid(token.strip()):
            return _json(ApiError(401, ACCESS_DENIED, UNAUTHORIZED_MESSAGE).body(), 401)
        account = (request.view_args or {}).get("account_id")
        if account is not None and account != sandbox.config.account_id:
            return _json(ApiError(403, ACCESS_DENIED, "Access denied: unknown account.", field="account_id",
                                  value=account).body(), 403)
        return None

    @app.after_request
    def lose_ghost_answers(response: Response):
        if request.method == "POST" and response.status_code == 200 and request.path.startswith("/accounting/"):
            mode = sandbox.faults.take_ghost()
            if mode == "timeout":
                time.sleep(sandbox.faults.settings.ghost_delay)
            elif mode == "error":
                return _json(ApiError(500, 0, "Internal server error.").body(), 500)
        return response

    @app.after_request
    def persist_changes(response: Response):
        if request.method != "GET" and response.status_code < 400:
            sandbox.persist()
        return response

    # -- identity and OAuth ----------------------------------------------------------------------------

    @app.get("/auth/api/v1/users/me")
    def me():
        c = sandbox.config
        businesses = [(c.account_id, "Sandbox Books")] + list(c.other_businesses)
        return _json({"response": {
            "id": 1, "identity_id": 1, "identity_uuid": "00000000-0000-4000-8000-000000000001",
            "first_name": "Sandbox", "last_name": "Owner", "email": "owner@sandbox.invalid", "language": "en",
            "confirmed_at": "2024-01-01T00:00:00Z", "setup_complete": True,
            "business_memberships": [{"id": n + 1, "role": "owner", "business": {
                "id": c.business_id + n, "business_uuid": f"00000000-0000-4000-8000-{c.business_id + n:012d}",
                "name": name, "account_id": account_id, "date_format": "mm/dd/yyyy"}}
                for n, (account_id, name) in enumerate(businesses)],
            "roles": [{"id": n + 1, "role": "admin", "systemid": 1, "accountid": account_id}
                      for n, (account_id, _) in enumerate(businesses)],
            "profile": {"setup_complete": True, "first_name": "Sandbox", "last_name": "Owner"},
        }})

    @app.get("/oauth/authorize")
    def authorize():
        """The consent page: the app's name and the scopes it asks for, approve or deny; keeps `state`."""
        asked = _authorization_request(request.args)
        scopes = sandbox.oauth.granted_scopes(asked.get("scope", ""))
        hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in asked.items())
        items = "".join(f"<li>{escape(scope)}</li>" for scope in scopes)
        page = (f"<!doctype html><title>Authorize {escape(sandbox.config.oauth.app_name)}</title>"
                f"<h1>{escape(sandbox.config.oauth.app_name)} wants to access your FreshBooks account</h1>"
                f"<p>It asks for:</p><ul>{items}</ul>"
                f'<form method="post" action="/oauth/authorize">{hidden}'
                '<button name="decision" value="approve">Allow</button> '
                '<button name="decision" value="deny">Deny</button></form>')
        return Response(page, mimetype="text/html")

    @app.post("/oauth/authorize")
    def decide():
        asked = _authorization_request(request.form)
        state = {"state": asked["state"]} if "state" in asked else {}
        if request.form.get("decision") != "approve":
            query = {"error": "access_denied", "error_description": "The user denied the request.", **state}
        else:
            query = {"code": sandbox.oauth.issue_code(asked["redirect_uri"], asked.get("scope", "")), **state}
        return redirect(f"{asked['redirect_uri']}?{urlencode(query)}")

    def _authorization_request(values) -> dict[str, str]:
        if values.get("client_id") != sandbox.config.oauth.client_id:
            raise OAuthError("invalid_client", "Unknown client_id.", 401)
        if values.get("response_type", "code") != "code" or not values.get("redirect_uri"):
            raise OAuthError("invalid_request", "response_type=code and a redirect_uri are required.")
        return {key: values[key] for key in ("client_id", "response_type", "redirect_uri", "scope", "state")
                if key in values}

    @app.post("/auth/oauth/token")
    def token():
        form = request.form.to_dict() if request.form else (request.get_json(silent=True) or {})
        return _json(sandbox.oauth.grant(form))

    # -- accounting resources --------------------------------------------------------------------------

    def register(path: str, singular: str, plural: str) -> None:
        base = f"{ACCOUNTING}/{path}"

        def list_objects(account_id: str):
            objects = books.all(singular)
            include_lines = "lines" in request.args.getlist("include[]")
            if singular in ("invoice", "credit_note") and not include_lines:
                for obj in objects:
                    obj.pop("lines", None)
            return _result(list_page(objects, plural, request.args))

        def create_object(account_id: str):
            data = _body(singular)
            created = getattr(books, f"create_{singular}")(data)
            return _result({singular: created})

        def get_object(account_id: str, object_id: int):
            obj = books.read(singular, object_id, include_lines=True)
            return _result({singular: obj})

        def update_object(account_id: str, object_id: int):
            updated = getattr(books, f"update_{singular}")(object_id, _body(singular))
            return _result({singular: updated})

        app.add_url_rule(base, f"list_{plural}", list_objects, methods=["GET"])
        app.add_url_rule(base, f"create_{singular}", create_object, methods=["POST"])
        app.add_url_rule(f"{base}/<int:object_id>", f"get_{singular}", get_object, methods=["GET"])
        app.add_url_rule(f"{base}/<int:object_id>", f"update_{singular}", update_object, methods=["PUT"])

    for path, (singular, plural) in RESOURCES.items():
        register(path, singular, plural)

    @app.delete(f"{ACCOUNTING}/invoices/invoices/<int:object_id>")
    def delete_invoice(account_id: str, object_id: int):
        books.delete_invoice(object_id)
        return _result({"invoice": books.read("invoice", object_id)})

    @app.delete(f"{ACCOUNTING}/taxes/taxes/<int:object_id>")
    def delete_tax(account_id: str, object_id: int):
        books.delete_tax(object_id)
        return _json({"response": {}})

    # -- webhook callbacks -----------------------------------------------------------------------------

    callbacks = "/events/account/<account_id>/events/callbacks"

    @app.get(callbacks)
    def list_callbacks(account_id: str):
        public = [{k: v for k, v in c.items() if k != "verifier"} for c in books.all("callback")]
        return _result(list_page(public, "callbacks", request.args))

    @app.post(callbacks)
    def create_callback(account_id: str):
        callback = books.create_callback(_body("callback"))
        sandbox.send_verification(callback["id"])
        return _result({"callback": callback})

    @app.get(f"{callbacks}/<int:object_id>")
    def get_callback(account_id: str, object_id: int):
        return _result({"callback": books.read("callback", object_id) | {"verifier": None}})

    @app.put(f"{callbacks}/<int:object_id>")
    def update_callback(account_id: str, object_id: int):
        callback, resend = books.update_callback(object_id, _body("callback"))
        if resend:
            sandbox.send_verification(object_id)
        return _result({"callback": callback})

    @app.delete(f"{callbacks}/<int:object_id>")
    def delete_callback(account_id: str, object_id: int):
        books.delete_callback(object_id)
        return _json({"response": {}})

    # -- sandbox administration ------------------------------------------------------------------------

    @app.get("/_sandbox/faults")
    def get_faults():
        return _json(sandbox.faults.describe())

    @app.post("/_sandbox/faults")
    def set_faults():
        try:
            return _json(sandbox.faults.configure(request.get_json(force=True) or {}))
        except (TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)

    @app.post("/_sandbox/oauth/revoke")
    def revoke_grants():
        """As if the user removed the app's access in FreshBooks: every issued token stops working."""
        return _json({"revoked_pairs": sandbox.oauth.revoke_all()})

    @app.post("/_sandbox/reset")
    def reset():
        sandbox.reset()
        return _json({"reset": True})

    @app.get("/_sandbox/stats")
    def stats():
        return _json({"objects": books.counts(), "faults": sandbox.faults.describe(),
                      "oauth_refreshes": sandbox.oauth.refreshes,
                      "requests": {"total": sum(sandbox.requests.values()), "by_call": dict(sandbox.requests)},
                      "webhooks": {"delivered": sandbox.webhooks.delivered, "failed": sandbox.webhooks.failed}})

    return app


def _resource(path: str) -> str:
    """`/accounting/account/SANDBOX1/invoices/invoices/12` -> `invoices/invoices/{id}`: a call's kind."""
    parts = path.strip("/").split("/")
    if parts[:2] in (["accounting", "account"], ["events", "account"]) and len(parts) > 2:
        parts = parts[3:]
    return "/".join("{id}" if part.isdigit() else part for part in parts)


def sandbox_of(app: Flask) -> Sandbox:
    return app.extensions["fb_sandbox"]


def _body(singular: str) -> dict:
    raw = request.get_data(cache=True)
    try:
        payload = json.loads(raw or b"{}", parse_float=Decimal)
    except ValueError:
        raise ApiError(400, PARSE_ERROR, "Could not parse the request body as JSON.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get(singular), dict):
        raise required(singular, singular)
    return payload[singular]


def _result(result: dict) -> Response:
    return _json({"response": {"result": result}})


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=_encode), status=status, mimetype="application/json")


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")

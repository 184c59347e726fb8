"""The X-Cart 5.5 REST API subset the service polls for catch-up, over a simulated store.

`X-Auth-Token` auth (401 `{"message": ...}`) with a full token and a read-only one (a read-only token may
read anything; any other method gets 403 before the request is looked at, so a write probe changes nothing),
`page`/`itemsPerPage` paging (default 30, max 100),
`date[after|before]`, `lastRenewDate[after|before]`, `order[date|lastRenewDate]`, `paymentStatus.code[]`,
`shippingStatus.code[]`, `profile.login`. Lists are JSON arrays, as X-Cart answers `application/json`.
Admin endpoints under /_sandbox/ place orders and deliver the resulting webhooks.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from flask import Flask, Response, abort, request
from marshmallow import ValidationError

from mappings.jsonio import dumps as to_json
from mappings.xcart.fields import FlexibleDateTime
from sandboxes.serve import guard_admin
from sandboxes.xcart import writes
from sandboxes.xcart.store import SimulatedStore, StoreConfig
from sandboxes.xcart.webhooks import WebhookSender

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100


def create_app(config: StoreConfig | None = None, sender: WebhookSender | None = None) -> Flask:
    store = SimulatedStore(config or StoreConfig())
    app = Flask(__name__)
    app.extensions["xcart_store"] = store
    app.extensions["xcart_sender"] = sender
    guard_admin(app, store.config.admin_token)

    def _sender() -> WebhookSender | None:
        """Read per request: a harness may plug the add-on's sender in once its receiver is up."""
        return app.extensions["xcart_sender"]

    def _send(events: list[dict]) -> None:
        if _sender() is not None:
            _sender().enqueue(events)

    @app.before_request
    def authenticate():
        if not request.path.startswith("/api/"):
            return None
        with store.lock:
            store.api_requests += 1
        token = request.headers.get("X-Auth-Token", "").encode()
        if hmac.compare_digest(token, store.config.api_token.encode()):
            return None
        read_only = store.config.read_only_token
        if read_only and hmac.compare_digest(token, read_only.encode()):
            if request.method in ("GET", "HEAD"):
                return None
            return _json({"message": "Access denied: the token is read-only"}, 403)
        return _json({"message": "Invalid or missing X-Auth-Token"}, 401)

    @app.errorhandler(404)
    def not_found(_error):
        return _json({"message": "Not Found"}, 404)

    @app.errorhandler(ValidationError)
    def bad_filter(error: ValidationError):
        return _json({"message": f"Invalid filter: {error.messages}"}, 400)

    @app.get("/api/orders")
    def orders():
        with store.lock:
            found = [o for o in store.orders.values() if _order_matches(o)]
        return _page(_sorted(found))

    @app.get("/api/orders/<int:order_id>")
    def order(order_id: int):
        return _json(_found(store.orders.get(order_id)))

    @app.get("/api/orders/by_number/<number>")
    def order_by_number(number: str):
        return _json(_found(store.order_by_number(number)))

    @app.get("/api/orders/<int:order_id>/payment_status")
    def payment_status(order_id: int):
        return _json(_found(store.orders.get(order_id))["payment_status"])

    @app.put("/api/orders/<int:order_id>/payment_status")
    def set_payment_status(order_id: int):
        _found(store.orders.get(order_id))
        try:
            order = store.set_payment_status(order_id, str((request.get_json(silent=True) or {}).get("code")))
        except ValueError as exc:
            return _json({"message": str(exc)}, 400)
        return _json(order["payment_status"])

    @app.get("/api/orders/<int:order_id>/payment_transactions")
    def transactions(order_id: int):
        _found(store.orders.get(order_id))
        return _json(store.transactions.get(order_id, []))

    def renewed_page(objects: dict, stamp: str):
        with store.lock:
            found = [o for key, o in sorted(objects.items()) if _renewed(o.get(stamp))]
        return _page(found)

    @app.get("/api/profiles")
    def profiles():
        return renewed_page(store.profiles, "updated")

    @app.get("/api/profiles/<int:profile_id>")
    def profile(profile_id: int):
        return _json(_found(store.profiles.get(profile_id)))

    @app.get("/api/profiles/<int:profile_id>/addresses")
    def addresses(profile_id: int):
        return _json(_found(store.profiles.get(profile_id))["addresses"])

    def written(write, *ids):
        """A PUT: 404 for an unknown object, 422 with the violations for bad input; the change's event is sent
        as a webhook like any other (when the simulator has a sender)."""
        given = request.get_json(silent=True)
        if not isinstance(given, dict):
            return _json({"message": "The request body must be a JSON object"}, 400)
        try:
            obj, event = write(*ids, given)
        except (KeyError, StopIteration):
            abort(404)
        except writes.Violations as exc:
            return _json({"message": "Validation failed", "violations": exc.violations}, 422)
        _send([event])
        return _json(obj)

    @app.put("/api/profiles/<int:profile_id>")
    def update_profile(profile_id: int):
        return written(store.update_profile, profile_id)

    @app.put("/api/profiles/<int:profile_id>/addresses/<int:address_id>")
    def update_address(profile_id: int, address_id: int):
        return written(store.update_address, profile_id, address_id)

    @app.put("/api/products/<int:product_id>")
    def update_product(product_id: int):
        return written(store.update_product, product_id)

    @app.get("/api/products")
    def products():
        return renewed_page(store.products, "updateDate")

    @app.post("/api/products")
    def create_product():
        given = request.get_json(silent=True)
        if not isinstance(given, dict):
            return _json({"message": "The request body must be a JSON object"}, 400)
        missing = [name for name in ("sku", "name") if not given.get(name)]
        if missing:
            return _json({"message": "Validation failed", "violations": [
                {"propertyPath": name, "message": "This value should not be blank."} for name in missing]}, 422)
        return _json(store.add_product(given), 201)

    @app.get("/api/products/<int:product_id>")
    def product(product_id: int):
        return _json(_found(store.products.get(product_id)))

    # -- simulator administration --------------------------------------------------------------------------

    @app.post("/_sandbox/orders")
    def place_orders():
        count = int((request.get_json(silent=True) or {}).get("count", 1))
        events = store.place_orders(count)
        _send(events)
        return _json({"events": len(events), "orders": len(store.orders)})

    @app.get("/_sandbox/labels")
    def labels():
        """The ground truth of the labelled anomalies and data problems injected (never in a payload)."""
        with store.lock:
            return _json({"anomalies": [{"kind": kind, "orders": ids} for kind, ids in store.incidents],
                          "data_problems": [{"order": order_id, "kind": kind, "field": path}
                                            for order_id, (kind, path) in sorted(store.problems.items())]})

    @app.get("/_sandbox/stats")
    def stats():
        return _json({"orders": len(store.orders), "profiles": len(store.profiles), "products": len(store.products),
                      "events": len(store.events), "api_requests": store.api_requests,
                      "webhooks": _sender().report() if _sender() else None})

    return app


def store_of(app: Flask) -> SimulatedStore:
    return app.extensions["xcart_store"]


def _found(obj):
    if obj is None:
        abort(404)
    return obj


def _when(name: str) -> datetime | None:
    value = request.args.get(name)
    return None if value is None else FlexibleDateTime().deserialize(value)


def _in_window(moment: str | None, after: datetime | None, before: datetime | None) -> bool:
    if after is None and before is None:
        return True
    if moment is None:
        return False
    when = FlexibleDateTime().deserialize(moment)
    return (after is None or when >= after) and (before is None or when <= before)


def _renewed(moment: str | None) -> bool:
    return _in_window(moment, _when("lastRenewDate[after]"), _when("lastRenewDate[before]"))


def _order_matches(order: dict) -> bool:
    payment_codes = request.args.getlist("paymentStatus.code[]")
    shipping_codes = request.args.getlist("shippingStatus.code[]")
    login = request.args.get("profile.login")
    return (_in_window(order["create_date"], _when("date[after]"), _when("date[before]"))
            and _renewed(order["update_date"])
            and (not payment_codes or order["payment_status"]["code"] in payment_codes)
            and (not shipping_codes or order["shipping_status"]["code"] in shipping_codes)
            and (login is None or order["email"].lower() == login.lower()))


def _sorted(orders: list[dict]) -> list[dict]:
    for name in ("date", "lastRenewDate"):
        direction = request.args.get(f"order[{name}]")
        if direction in ("asc", "desc"):
            key = "create_date" if name == "date" else "update_date"
            return sorted(orders, key=lambda o: (FlexibleDateTime().deserialize(o[key]), o["id"]),
                          reverse=direction == "desc")
    return sorted(orders, key=lambda o: o["id"])


def _page(objects: list) -> Response:
    try:
        per_page = min(max(int(request.args.get("itemsPerPage", DEFAULT_PER_PAGE)), 1), MAX_PER_PAGE)
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        return _json({"message": "page and itemsPerPage must be integers"}, 400)
    start = (page - 1) * per_page
    response = _json(objects[start:start + per_page])
    response.headers["X-Total-Count"] = str(len(objects))
    return response


def _json(document, status: int = 200) -> Response:
    return Response(to_json(document), status=status, mimetype="application/json")

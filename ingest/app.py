"""POST /webhooks/xcart and /webhooks/freshbooks, GET /oauth/freshbooks/callback, /healthz, /readyz, /metrics.

The X-Cart path answers per the contract (../shared/reference/webhook-contract.md): 202 queued, 200
duplicate, 400 malformed, 401 bad signature, 413 too large, 503 broker unavailable. It reads the body
within the size limit, verifies, checks the envelope with the reader the workers use
(mappings/xcart/envelope.py), deduplicates by event id in Redis and enqueues the raw body; all else is the
workers'. The signing secrets are XCART_WEBHOOK_SECRETS and those of `xcfb connect webhooks`
(runtime/webhook_secrets.py: re-read every few seconds, a rotation needs no restart). The FreshBooks
path takes the verifier handshake of callbacks this service registered (runtime/callbacks.py; any other
callback id is a 404) and events signed with a verifier FreshBooks confirmed. The OAuth callback
completes a FreshBooks connection started with `xcfb connect freshbooks --no-wait`
(runtime/freshbooks_connect.py)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from html import escape
from urllib.parse import parse_qsl

from flask import Flask, Response, jsonify, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text
from werkzeug.exceptions import RequestEntityTooLarge

from apis.freshbooks.errors import FreshBooksError
from apis.freshbooks.signatures import verify_webhook_signature
from core import redis_keys
from ingest.queueing import TaskQueue
from ingest.signatures import verify
from mappings.errors import PayloadInvalid
from mappings.xcart.envelope import read_envelope
from runtime import callbacks, freshbooks_connect, metrics
from runtime.bootstrap import (
    BrokerUnavailable,
    BrokerUnusable,
    Services,
    broker_url,
    check_broker,
    services,
    task_sender_app,
)
from runtime.webhook_secrets import SecretsUnavailable

log = logging.getLogger(__name__)

def create_app(svc: Services | None = None, tasks: TaskQueue | None = None) -> Flask:
    """`tasks`: where the workers' tasks go, the broker (REDIS_URL, the service's own Redis) unless given."""
    svc = svc or services()
    settings = svc.settings
    broker = broker_url(settings)
    if tasks is None:  # the real broker: refuse to start on one that can never work
        _refuse_an_unusable_broker(broker)
        tasks = TaskQueue(svc.redis, task_sender_app())
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    registry = CollectorRegistry()
    registry.register(metrics.ServiceCollector(svc))

    def answer(outcome: str, status: int, **body) -> Response:
        metrics.bump(svc.redis, "webhooks", outcome=outcome)
        return reply(outcome, status, **body)

    def reply(outcome: str, status: int, **body) -> Response:  # counted already
        return jsonify(status=outcome, **body), status

    # An accepted event is one Redis call (ingest/queueing.py): marked seen, queued and counted together.
    accepted, duplicate = (metrics.counter_field("webhooks", outcome=o) for o in ("accepted", "duplicate"))

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error):
        return answer("too_large", 413, error=f"body larger than {settings.max_body_bytes} bytes")

    @app.post("/webhooks/xcart")
    def xcart_webhook():
        body = read_body(settings.max_body_bytes)
        header, tolerance = request.headers.get("X-XCart-Signature"), settings.signature_tolerance_seconds
        problem = verify(header, body, svc.webhook_secrets.environment, tolerance)
        if problem:  # not signed with one of XCART_WEBHOOK_SECRETS: with one of `xcfb connect webhooks`?
            try:
                if verify(header, body, svc.webhook_secrets.stored(), tolerance) is None:
                    problem = None
            except SecretsUnavailable as exc:  # unknown, not wrong: the sender must retry, not drop the event
                log.error("%s", exc)
                return answer("unavailable", 503, error="signing secrets unavailable, retry later")
        if problem:
            log.info("webhook refused: %s", problem)
            return answer("bad_signature", 401, error="bad or missing signature")
        try:
            envelope = read_envelope(body)  # the workers read the body with this same function
        except PayloadInvalid as exc:
            return answer("malformed", 400, error="malformed event", fields=exc.as_dicts())
        event_id = envelope["id"]
        try:
            if not tasks.accept_event(redis_keys.SEEN.format(event_id=event_id), settings.dedupe_ttl_seconds,
                                      metrics.COUNTERS, accepted, duplicate, body.decode("utf-8"), event_id):
                return reply("duplicate", 200, id=event_id)
        except Exception as exc:  # noqa: BLE001 - any broker failure is the documented 503 (queued and marked, or not)
            log.error("broker unavailable, event %s not queued: %s: %s", event_id, type(exc).__name__, exc)
            return answer("unavailable", 503, error="broker unavailable, retry later")
        return reply("accepted", 202, id=event_id)

    @app.post("/webhooks/freshbooks")
    def freshbooks_webhook():
        form, problem = _form(read_body(settings.max_body_bytes), request.mimetype)
        if problem:
            return jsonify(status="malformed", error=problem), 400
        try:
            if dict(form).get("name") == "callback.verify":
                return _verification(dict(form))
            return _freshbooks_event(form)
        except Exception as exc:  # noqa: BLE001 - Redis or the broker: the documented 503
            log.error("FreshBooks webhook not taken: %s", type(exc).__name__)
            return jsonify(status="unavailable", error="broker unavailable, retry later"), 503

    def _verification(fields: dict) -> tuple[Response, int]:
        callback_id, verifier = fields.get("object_id", ""), fields.get("verifier", "")
        if not (callback_id.isascii() and callback_id.isdigit() and len(callback_id) <= 19):
            return jsonify(status="unknown_callback", error="no callback with this id awaits verification"), 404
        if not verifier or len(verifier) > 200:
            return jsonify(status="malformed", error="verifier: 1 to 200 characters are required"), 400
        offered = callbacks.offer(svc.redis, callback_id, verifier)
        if offered == "unknown":
            return jsonify(status="unknown_callback", error="no callback with this id awaits verification"), 404
        if offered == "too_many":
            return jsonify(status="malformed", error=f"verifier: {callbacks.MAX_OFFERS} are already waiting to "
                                                     "be confirmed for this callback"), 400
        if offered == "new":
            try:
                tasks.send("xcfb.confirm_freshbooks_callback", [callback_id])  # the id only: the verifier is a secret
            except Exception:
                callbacks.withdraw(svc.redis, callback_id, verifier)
                raise
        return jsonify(status="verifying"), 200

    def _freshbooks_event(form: list[tuple[str, str]]) -> tuple[Response, int]:
        signature = request.headers.get("X-FreshBooks-Hmac-SHA256", "")
        if not any(verify_webhook_signature(v, form, signature) for v in callbacks.trusted_verifiers(svc.redis)):
            return jsonify(status="bad_signature"), 401
        tasks.send("xcfb.freshbooks_event", [dict(form)])
        return jsonify(status="accepted"), 202

    @app.get("/oauth/freshbooks/callback")
    def freshbooks_oauth_callback():
        """FreshBooks sends the user back here after `xcfb connect freshbooks --no-wait` (the redirect URI):
        a state this service started, once, or a 400 with nothing done."""
        pending = freshbooks_connect.take_state(svc, request.args.get("state"))
        if pending is None:
            return _page("Not connected", "This authorization is unknown or expired (it is valid once, for "
                         f"{freshbooks_connect.STATE_TTL // 60} minutes). Start again with "
                         "<code>xcfb connect freshbooks</code>."), 400
        if request.args.get("error") or not request.args.get("code"):
            reason = request.args.get("error") or "no code"
            return _page("Not connected", f"FreshBooks did not authorize the service ({escape(reason)})."), 400
        try:
            pair, found = freshbooks_connect.exchange(svc, request.args["code"])
            business = freshbooks_connect.choose(found, pending.get("account_id"))
            freshbooks_connect.save(svc, pair, business)
            if pending.get("callbacks_uri"):
                freshbooks_connect.register_callbacks(svc, pending["callbacks_uri"])
        except freshbooks_connect.ConnectError as exc:
            return _page("Not connected", escape(str(exc))), 400
        except FreshBooksError as exc:  # its messages carry no token
            return _page("Not connected", f"FreshBooks refused: {escape(str(exc))}"), 502
        except Exception as exc:  # noqa: BLE001 - FreshBooks or the store: said on the page, without detail
            log.error("FreshBooks connection failed: %s", type(exc).__name__)
            return _page("Not connected", f"The connection failed ({escape(type(exc).__name__)}); "
                                          "see the ingest log, then start again."), 502
        return _page("FreshBooks connected", f"The service now books into {escape(str(business))}.")

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz():
        checks = {"broker": _check(lambda: check_broker(broker)),
                  "database": _check(lambda: _select_one(svc))}
        ready = all(result == "ok" for result in checks.values())
        return jsonify(status="ready" if ready else "unavailable", checks=checks), 200 if ready else 503

    @app.get("/metrics")
    def metrics_endpoint():
        if not settings.metrics_token:
            return jsonify(error="metrics are off: set XCFB_METRICS_TOKEN and scrape with it as a bearer token"), 403
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expected = settings.metrics_token.get_secret_value().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected):
            return jsonify(error="a bearer token is required"), 401
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    return app


def _page(title: str, html_message: str) -> Response:
    return Response(f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1><p>{html_message}</p>",
                    mimetype="text/html")


def read_body(limit: int) -> bytes:
    """The body, refused with 413 beyond `limit` bytes, also when it comes chunked: without a
    Content-Length werkzeug cuts the body at the limit silently, and the cut body would fail its
    signature (401) instead."""
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    environ = request.environ
    stream = environ["wsgi.input"] if environ.get("wsgi.input_terminated") else request.stream
    chunks, size = [], 0
    while size <= limit:
        chunk = stream.read(min(65536, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise RequestEntityTooLarge()
    return b"".join(chunks)


def _form(body: bytes, mimetype: str) -> tuple[list[tuple[str, str]], str | None]:
    """FreshBooks posts application/x-www-form-urlencoded UTF-8: the fields in the order received (the
    signature covers that order)."""
    if mimetype not in ("application/x-www-form-urlencoded", ""):
        return [], "a form-encoded body (application/x-www-form-urlencoded) is required"
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=50), None
    except (UnicodeDecodeError, ValueError) as exc:
        return [], f"not a UTF-8 form: {type(exc).__name__}"


def _check(probe: Callable) -> str:
    try:
        probe()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure, broker or database
        return f"failed: {type(exc).__name__}"


def _refuse_an_unusable_broker(url: str) -> None:
    try:
        check_broker(url)
    except BrokerUnusable as exc:
        log.critical("ingest cannot start: %s", exc)
        raise
    except BrokerUnavailable as exc:
        log.warning("%s; webhooks are answered 503 until it is back", exc)


def _select_one(svc: Services) -> None:
    with svc.engine.connect() as connection:
        connection.execute(text("SELECT 1"))

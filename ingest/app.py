"""POST /webhooks/xcart and /webhooks/freshbooks, /healthz, /readyz, /metrics.

The X-Cart path answers per the contract (../shared/reference/webhook-contract.md): 202 queued, 200
duplicate, 400 malformed, 401 bad signature, 413 too large, 503 broker unavailable. It verifies, checks
the envelope, deduplicates by event id in Redis and enqueues the raw body; all else is the workers'."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable

from flask import Flask, Response, jsonify, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text
from werkzeug.exceptions import RequestEntityTooLarge

from apis.freshbooks.client import verify_webhook_signature
from mappings.xcart import EVENT_TYPES
from xcfb import metrics, redis_keys
from xcfb.bootstrap import BrokerUnavailable, BrokerUnusable, Services, broker_url, check_broker, services

from .signatures import verify

log = logging.getLogger(__name__)


def create_app(svc: Services | None = None, send_task: Callable[[str, list], None] | None = None) -> Flask:
    svc = svc or services()
    settings = svc.settings
    broker = broker_url(settings)
    if send_task is None:  # the real broker: refuse to start on one that can never work
        _refuse_an_unusable_broker(broker)
    send = send_task or _celery_sender()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    registry = CollectorRegistry()
    registry.register(metrics.ServiceCollector(svc))

    def answer(outcome: str, status: int, **body) -> Response:
        metrics.bump(svc.redis, "webhooks", outcome=outcome)
        return jsonify(status=outcome, **body), status

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error):
        return answer("too_large", 413, error=f"body larger than {settings.max_body_bytes} bytes")

    @app.post("/webhooks/xcart")
    def xcart_webhook():
        body = request.get_data(cache=False)
        problem = verify(request.headers.get("X-XCart-Signature"), body, settings.xcart_webhook_secrets,
                         settings.signature_tolerance_seconds)
        if problem:
            log.info("webhook refused: %s", problem)
            return answer("bad_signature", 401, error="bad or missing signature")
        envelope, errors = _envelope(body)
        if errors:
            return answer("malformed", 400, error="malformed event", fields=errors)
        event_id = envelope["id"]
        seen_key = redis_keys.SEEN.format(event_id=event_id)
        try:
            if not svc.redis.set(seen_key, 1, nx=True, ex=settings.dedupe_ttl_seconds):
                return answer("duplicate", 200, id=event_id)
            try:
                send("xcfb.process_event", [body.decode("utf-8")])
            except Exception:
                svc.redis.delete(seen_key)  # not queued: the sender's retry must not look like a duplicate
                raise
        except Exception as exc:  # noqa: BLE001 - any broker failure is the documented 503
            log.error("broker unavailable, event %s not queued: %s: %s", event_id, type(exc).__name__, exc)
            return answer("unavailable", 503, error="broker unavailable, retry later")
        return answer("accepted", 202, id=event_id)

    @app.post("/webhooks/freshbooks")
    def freshbooks_webhook():
        form = list(request.form.items(multi=True))
        fields = dict(form)
        if fields.get("name") == "callback.verify" and fields.get("verifier"):
            send("xcfb.confirm_freshbooks_callback", [fields.get("object_id"), fields["verifier"]])
            return jsonify(status="verifying"), 200
        signature = request.headers.get("X-FreshBooks-Hmac-SHA256", "")
        verifiers = [v.decode() for v in svc.redis.hvals(redis_keys.FRESHBOOKS_VERIFIERS)]
        if not any(verify_webhook_signature(v, form, signature) for v in verifiers):
            return jsonify(status="bad_signature"), 401
        send("xcfb.freshbooks_event", [fields])
        return jsonify(status="accepted"), 202

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
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), settings.metrics_token.encode()):
            return jsonify(error="a bearer token is required"), 401
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    return app


def _envelope(body: bytes) -> tuple[dict, list[dict]]:
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}, [{"path": "(body)", "message": "not JSON"}]
    if not isinstance(envelope, dict):
        return {}, [{"path": "(body)", "message": "not a JSON object"}]
    errors = []
    if not isinstance(envelope.get("id"), str) or not 0 < len(envelope["id"]) <= 200:
        errors.append({"path": "id", "message": "a string of 1 to 200 characters is required"})
    if envelope.get("type") not in EVENT_TYPES:
        errors.append({"path": "type", "message": "must be one of: " + ", ".join(EVENT_TYPES)})
    for key in ("created_at", "store"):
        if not isinstance(envelope.get(key), str):
            errors.append({"path": key, "message": "a string is required"})
    if not isinstance(envelope.get("data"), dict):
        errors.append({"path": "data", "message": "an object is required"})
    return envelope, errors


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


def _celery_sender() -> Callable[[str, list], None]:
    from workers.app import app as celery_app

    return lambda name, args: celery_app.send_task(name, args=args)

"""FreshBooks webhook callbacks this service registered, and the verifiers it trusts.

A callback is pending from its registration here until FreshBooks accepts the verifier sent back for it;
only then is that verifier trusted to check event signatures, and it is never replaced. A verification
request for any other callback id is refused by ingest without a trace, so an unsigned POST can neither
plant a verifier nor overwrite one, nor make the workers call FreshBooks. Offered verifiers wait in Redis
under their callback id: the task that confirms them carries the id only, so no secret reaches a task's
arguments (which Celery logs)."""

from __future__ import annotations

from apis.freshbooks.errors import NotFound, ValidationFailed
from core import redis_keys
from runtime.bootstrap import Services

PENDING = redis_keys.FRESHBOOKS_PENDING_CALLBACKS
TRUSTED = redis_keys.FRESHBOOKS_VERIFIERS
MAX_OFFERS = 5  # FreshBooks sends one verifier per (re)send; more are guesses, and each costs an API call
OFFER_TTL_SECONDS = 86400


def register(svc: Services, event: str, uri: str) -> dict:
    """Subscribes `uri` to a FreshBooks event (e.g. `invoice`, `payment.create`) and expects its verifier."""
    callback = svc.freshbooks.register_callback(event, uri)
    svc.redis.hset(PENDING, str(callback["id"]), event)
    # FreshBooks sends the verifier as soon as the callback exists, possibly before the line above made it
    # expected (ingest then refused it as unknown): ask for it again now.
    svc.freshbooks.resend_callback_verification(callback["id"])
    return callback


def offer(redis, callback_id: str, verifier: str) -> str:
    """Ingest's half: keeps a verifier offered for a pending callback. Returns `unknown` (not a callback
    waiting for verification: nothing is kept), `new` (to confirm), `known` (already waiting) or `too_many`."""
    if not redis.hexists(PENDING, callback_id):
        return "unknown"
    key = redis_keys.FRESHBOOKS_OFFERED_VERIFIERS.format(callback_id=callback_id)
    if redis.sismember(key, verifier):
        return "known"
    if redis.scard(key) >= MAX_OFFERS:
        return "too_many"
    redis.sadd(key, verifier)
    redis.expire(key, OFFER_TTL_SECONDS)
    return "new"


def withdraw(redis, callback_id: str, verifier: str) -> None:
    """An offer whose confirmation could not be queued: the sender's retry must count as new."""
    redis.srem(redis_keys.FRESHBOOKS_OFFERED_VERIFIERS.format(callback_id=callback_id), verifier)


def confirm(svc: Services, callback_id: str) -> str:
    """The worker's half: sends each offered verifier back to FreshBooks; the one it accepts becomes
    trusted and the callback stops being pending. Unavailable FreshBooks raises (the task retries)."""
    redis = svc.redis
    key = redis_keys.FRESHBOOKS_OFFERED_VERIFIERS.format(callback_id=callback_id)
    for offered in redis.smembers(key):
        if not redis.hexists(PENDING, callback_id):
            return f"callback {callback_id} is not pending verification"
        verifier = offered.decode()
        try:
            svc.freshbooks.verify_callback(int(callback_id), verifier)
        except ValidationFailed:  # not the verifier FreshBooks sent: forged or stale
            redis.srem(key, offered)
            continue
        except NotFound:
            redis.hdel(PENDING, callback_id)
            redis.delete(key)
            return f"callback {callback_id} no longer exists in FreshBooks"
        with redis.pipeline() as transaction:
            transaction.hsetnx(TRUSTED, callback_id, verifier)
            transaction.hdel(PENDING, callback_id)
            transaction.delete(key)
            transaction.execute()
        return f"callback {callback_id} verified"
    return f"callback {callback_id}: no offered verifier was accepted by FreshBooks"


def trusted_verifiers(redis) -> list[str]:
    return [verifier.decode() for verifier in redis.hvals(TRUSTED)]

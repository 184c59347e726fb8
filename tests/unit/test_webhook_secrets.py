"""The webhook signing secrets: made strong, rotated (new first, old kept), retired; read through a short
cache that keeps the last ones read when the store fails and says so when it never could read them."""

from datetime import UTC, datetime

import pytest

from runtime.webhook_secrets import (
    SecretsUnavailable,
    WebhookSecrets,
    add_secret,
    new_document,
    newest_secret,
    retire_old,
    stored_secrets,
)

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


def test_a_new_secret_is_strong_and_rotation_keeps_the_old_until_retired():
    first = new_document("https://books.example.com/webhooks/xcart", T0)
    secret = newest_secret(first)
    assert len(secret) >= 43 and "rotated_at" not in first  # 32 random bytes, url-safe
    rotated = add_secret(first, T1)
    assert stored_secrets(rotated) == (newest_secret(rotated), secret) and newest_secret(rotated) != secret
    assert rotated["rotated_at"] == T1.isoformat() and stored_secrets(first) == (secret,)  # the input is untouched
    retired, dropped = retire_old(add_secret(rotated, T1))
    assert dropped == 2 and stored_secrets(retired) == (newest_secret(retired),)
    assert newest_secret(retired) not in (secret, newest_secret(rotated))
    assert retire_old(retired)[1] == 0
    assert len({newest_secret(new_document("u")) for _ in range(50)}) == 50


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Store:
    def __init__(self, document):
        self.document, self.reads, self.broken = document, 0, False

    def read(self):
        self.reads += 1
        if self.broken:
            raise ConnectionError("database down")
        return self.document


def test_the_stored_secrets_are_reread_after_the_ttl():
    clock, store = Clock(), Store(new_document("u", T0))
    secrets = WebhookSecrets(("from-env",), store.read, ttl=10, clock=clock)
    assert store.reads == 0  # nothing is read until a signature needs it
    first = secrets.stored()
    assert first == (newest_secret(store.document),) and secrets.environment == ("from-env",)
    store.document = add_secret(store.document, T1)
    clock.now += 9.9
    assert secrets.stored() == first and store.reads == 1  # cached within the ttl
    clock.now += 0.1
    assert secrets.stored() == stored_secrets(store.document) and len(first + secrets.stored()) == 3
    assert store.reads == 2
    store.document = None
    clock.now += 10
    assert secrets.stored() == ()
    assert "from-env" not in repr(secrets)


def test_a_failed_reread_keeps_the_last_secrets_and_a_first_read_that_fails_says_so():
    clock, store = Clock(), Store(new_document("u", T0))
    secrets = WebhookSecrets((), store.read, ttl=10, clock=clock)
    known = secrets.stored()
    store.broken = True
    clock.now += 10
    assert secrets.stored() == known
    never_read = WebhookSecrets(("from-env",), store.read, ttl=10, clock=clock)
    with pytest.raises(SecretsUnavailable, match="cannot be read: ConnectionError"):
        never_read.stored()
    store.broken = False
    assert never_read.stored() == known

"""Two workers refreshing at once, against the sandbox's single-use refresh tokens, a real Redis lock and a
real database: with the shared lock they end with one valid pair, refreshed once."""

import threading
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

import pytest
import requests
from cryptography.fernet import Fernet

from apis.freshbooks.client import FreshBooksClient
from apis.freshbooks.errors import AuthFailed
from apis.freshbooks.oauth import OAuthApp, OAuthTokens, TokenPair, pair_from_token_response, redis_refresh_lock
from store.tokens import SqlTokenStore

REDIRECT = "https://service.test/callback"


@pytest.fixture
def app(fb_server, fb_sandbox):
    return OAuthApp(client_id="sandbox-client-id", client_secret="sandbox-client-secret", redirect_uri=REDIRECT,
                    token_url=f"{fb_server.url}/auth/oauth/token", authorize_url=f"{fb_server.url}/oauth/authorize")


@pytest.fixture
def store(sessions, app, fb_server):
    store = SqlTokenStore(sessions, Fernet.generate_key())
    location = requests.post(app.authorize_url, allow_redirects=False, timeout=5, data={  # consent: Allow
        "client_id": app.client_id, "redirect_uri": app.redirect_uri, "state": "s1", "decision": "approve"}
    ).headers["Location"]
    OAuthTokens(app, store, nullcontext).connect(location.split("code=")[1].split("&")[0])
    current = store.load()
    # Make the stored pair due for refresh, as after 12 hours.
    store.save(TokenPair(current.access_token, current.refresh_token, datetime.now(UTC) - timedelta(seconds=1)))
    return store


def refresh_in_two_workers(app, store, lock_factory):
    barrier = threading.Barrier(2)
    outcomes = []

    def worker():
        tokens = OAuthTokens(app, store, lock_factory)
        barrier.wait()
        try:
            outcomes.append(tokens.access_token())
        except AuthFailed as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_two_workers_refreshing_at_once_share_one_valid_pair(app, store, fb_server, fb_sandbox, redis_client):
    outcomes = refresh_in_two_workers(app, store, redis_refresh_lock(redis_client))
    assert len(outcomes) == 2 and outcomes[0] == outcomes[1]  # both got the same new access token
    assert fb_sandbox.oauth.refreshes == 1
    saved = store.load()
    assert saved.access_token == outcomes[0]
    assert fb_sandbox.oauth.refresh_token_valid(saved.refresh_token)  # the stored pair is not a revoked one
    client = FreshBooksClient(OAuthTokens(app, store, redis_refresh_lock(redis_client)), base_url=fb_server.url)
    assert client.account_id == "SANDBOX1"


def test_refresh_with_a_stored_revoked_token_fails_clearly(app, store, fb_sandbox, redis_client):
    used = store.load()
    requests.post(app.token_url, timeout=5, data={
        "grant_type": "refresh_token", "refresh_token": used.refresh_token, "client_id": app.client_id,
        "client_secret": app.client_secret, "redirect_uri": REDIRECT})  # someone else used it
    with pytest.raises(AuthFailed, match="invalid_grant"):
        OAuthTokens(app, store, redis_refresh_lock(redis_client)).access_token()


def test_pair_from_token_response_uses_created_at_plus_expires_in():
    pair = pair_from_token_response({"access_token": "a", "refresh_token": "r", "created_at": 1_700_000_000,
                                     "expires_in": 43200})
    assert pair.expires_at == datetime.fromtimestamp(1_700_043_200, UTC)

"""Connecting FreshBooks, the parts without a network: reading what the operator pastes, choosing the account
among the identity's businesses, the scopes asked for, the sandbox's consent page, and the client telling the
observer an accepted request from a refused one."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from apis.freshbooks.client import FreshBooksClient, StaticToken
from apis.freshbooks.errors import AuthFailed, NotFound
from apis.freshbooks.oauth import OAuthApp, TokenPair
from runtime.freshbooks_connect import (
    NEEDED_SCOPES,
    Business,
    ChoiceNeeded,
    ConnectError,
    businesses,
    choose,
    read_redirect,
)
from sandboxes.freshbooks.app import SandboxConfig, create_app
from sandboxes.freshbooks.oauth import APP_SCOPES, OAuthSettings

SHOP = Business("ACC1", 11, "Shop", "owner")
OTHER = Business("ACC2", 12, "Other", "manager")


def test_a_pasted_redirect_url_gives_its_code_state_or_error():
    pasted = read_redirect("  https://svc.test/cb?code=c0de&state=st4te \n")
    assert (pasted.code, pasted.state, pasted.error) == ("c0de", "st4te", None)
    denied = read_redirect("https://svc.test/cb?error=access_denied&state=s")
    assert (denied.code, denied.state, denied.error) == (None, "s", "access_denied")
    assert read_redirect("c0de") == type(pasted)("c0de", None, None)  # a bare code carries no state
    assert read_redirect("/callback?code=x&state=y").state == "y"  # the listener's request path


def test_the_account_is_the_one_named_else_the_only_one():
    assert choose([SHOP, OTHER], "ACC2") == OTHER
    assert choose([SHOP], None) == SHOP
    with pytest.raises(ChoiceNeeded) as several:
        choose([SHOP, OTHER], None)
    assert several.value.businesses == [SHOP, OTHER] and "--account-id" in str(several.value)
    with pytest.raises(ConnectError, match="account ACC9 is not among this user's businesses: Shop"):
        choose([SHOP, OTHER], "ACC9")
    with pytest.raises(ConnectError, match="belongs to no business"):
        choose([], None)


def test_businesses_are_read_from_the_identitys_memberships():
    identity = {"business_memberships": [
        {"role": "owner", "business": {"id": 11, "name": "Shop", "account_id": "ACC1"}},
        {"role": "manager", "business": {"id": 12, "name": "Other", "account_id": "ACC2"}},
        {"role": "client", "business": {"id": 13, "name": "No books"}}]}  # no account: nothing to book into
    assert businesses(identity) == [SHOP, OTHER]


def test_the_authorization_asks_for_exactly_the_needed_scopes_and_carries_the_state():
    app = OAuthApp("cid", "secret", "https://svc.test/cb", token_url="https://fb.test/token")
    query = parse_qs(urlsplit(app.authorization_url("st4te", list(NEEDED_SCOPES))).query)
    assert query["scope"][0].split() == list(NEEDED_SCOPES) and query["state"] == ["st4te"]
    assert set(NEEDED_SCOPES) <= set(APP_SCOPES)  # the sandbox's app may grant them all
    assert all(scope.startswith("user:") and scope.endswith((":read", ":write")) for scope in NEEDED_SCOPES)


def test_a_short_lived_token_is_refreshed_near_its_end_not_on_every_call():
    now = datetime.now(UTC)
    short = TokenPair("a", "r", now + timedelta(seconds=2), issued_at=now - timedelta(seconds=1))
    assert not short.expires_within(timedelta(minutes=5), now)  # 2 s left of 3: refreshed in its last 0.75 s
    assert short.expires_within(timedelta(minutes=5), now + timedelta(seconds=1.5))
    long = TokenPair("a", "r", now + timedelta(minutes=4), issued_at=now - timedelta(hours=12))
    assert long.expires_within(timedelta(minutes=5), now)


def consent_app():
    return create_app(SandboxConfig(oauth=OAuthSettings(app_name="Shop <sync>"))).test_client()


def test_the_sandbox_consent_page_shows_the_app_and_scopes_and_keeps_the_state():
    page = consent_app().get("/oauth/authorize", query_string={
        "client_id": "sandbox-client-id", "response_type": "code", "redirect_uri": "http://127.0.0.1:9/cb",
        "scope": "user:profile:read user:invoices:write", "state": "st<4>te"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Shop &lt;sync&gt; wants to access your FreshBooks account" in html
    assert "<li>user:invoices:write</li>" in html and "user:payments:write" not in html
    assert '<input type="hidden" name="state" value="st&lt;4&gt;te">' in html
    assert 'value="approve"' in html and 'value="deny"' in html


def test_the_sandbox_consent_approve_grants_the_asked_scopes_and_deny_says_access_denied():
    app = consent_app()
    form = {"client_id": "sandbox-client-id", "redirect_uri": "http://127.0.0.1:9/cb", "state": "s1",
            "scope": "user:profile:read user:invoices:write"}
    denied = app.post("/oauth/authorize", data={**form, "decision": "deny"})
    assert parse_qs(urlsplit(denied.headers["Location"]).query)["error"] == ["access_denied"]
    assert parse_qs(urlsplit(denied.headers["Location"]).query)["state"] == ["s1"]
    approved = parse_qs(urlsplit(app.post("/oauth/authorize", data={**form, "decision": "approve"})
                                 .headers["Location"]).query)
    assert approved["state"] == ["s1"]
    token = app.post("/auth/oauth/token", data={
        "grant_type": "authorization_code", "code": approved["code"][0], "client_id": "sandbox-client-id",
        "client_secret": "sandbox-client-secret", "redirect_uri": "http://127.0.0.1:9/cb"}).get_json()
    assert token["scope"] == "user:profile:read user:invoices:write"
    assert app.get("/oauth/authorize", query_string={"client_id": "someone-else",
                                                     "redirect_uri": "http://x/cb"}).status_code == 401


def test_the_sandbox_identity_belongs_to_several_businesses():
    app = create_app(SandboxConfig(oauth=OAuthSettings(static_tokens=("t",)),
                                   other_businesses=(("B2", "Two"), ("B3", "Three"))))
    me = app.test_client().get("/auth/api/v1/users/me", headers={"Authorization": "Bearer t"}).get_json()
    assert [b.account_id for b in businesses(me["response"])] == ["SANDBOX1", "B2", "B3"]


ME = "https://fb.test/auth/api/v1/users/me"


class Rejecting(StaticToken):
    def refresh_after_rejection(self, rejected_token: str) -> str:
        return "fresh"


@responses.activate
def test_the_observer_hears_accepted_requests_and_a_final_refusal_apart():
    heard = []
    client = FreshBooksClient(Rejecting("old"), base_url="https://fb.test", account_id="A", observer=heard.append)
    responses.get(ME, status=401, json={})
    responses.get(ME, json={"response": {"id": 1}})
    assert client.me() == {"id": 1}
    assert heard == [None]  # the 401 answered by a refresh is not a refusal; the resend was accepted
    heard.clear()
    responses.get(ME, status=401, json={})
    responses.get(ME, status=401, json={})
    with pytest.raises(AuthFailed):
        client.me()
    assert len(heard) == 1 and isinstance(heard[0], AuthFailed)
    heard.clear()
    responses.get("https://fb.test/accounting/account/A/users/clients/9", status=404, json={})
    with pytest.raises(NotFound):
        client.get_client(9)
    assert heard == [None]  # authenticated, only not found


def test_the_observer_hears_a_token_that_cannot_be_had():
    heard = []

    class Revoked(StaticToken):
        def access_token(self) -> str:
            raise AuthFailed("FreshBooks refused the OAuth grant: invalid_grant")

    with pytest.raises(AuthFailed):
        FreshBooksClient(Revoked("x"), base_url="https://fb.test", account_id="A", observer=heard.append).me()
    assert len(heard) == 1 and "invalid_grant" in str(heard[0])

"""The console's defences: every route wants a signed-in user, a viewer changes nothing, every form carries a
CSRF token, signing in makes a new session, failed sign-ins are limited, and no secret reaches a page."""

from __future__ import annotations

import re

import pytest

from console.auth import PRE_SESSION_COOKIE, SESSION_COOKIE
from store import ledger
from tests.console_support import EMAILS, PASSWORD, console_app, console_services, csrf_of, sign_in

SECRETS = {"freshbooks_access_token": "fb-access-SECRET-1", "token_key": "Zk9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0MTIzNDU=",
           "metrics_token": "metrics-SECRET-3", "xcart_webhook_secrets": ("whsec-SECRET-4",),
           "freshbooks_client_secret": "client-SECRET-5", "xcart_api_token": "xcart-SECRET-6"}


@pytest.fixture
def svc(tmp_path):
    return console_services(tmp_path, **SECRETS)


@pytest.fixture
def app(svc):
    return console_app(svc)


def concrete_urls(app, method: str) -> list[tuple[str, str]]:
    """(endpoint, url) of every route taking the method, with placeholder arguments."""
    found = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if method not in rule.methods:
                continue
            args = {name: 1 if isinstance(conv.to_python("1"), int) else "dev"
                    for name, conv in rule._converters.items()}
            found.append((rule.endpoint, rule.build(args)[1] if rule.build(args) else rule.rule))
    return found


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_route_sends_an_anonymous_visitor_to_sign_in(app, method):
    client = app.test_client()
    urls = [(endpoint, url) for endpoint, url in concrete_urls(app, method)
            if endpoint not in ("auth.sign_in", "static")]
    assert len(urls) >= (5 if method == "POST" else 9)  # the app's routes were found
    for endpoint, url in urls:
        answer = client.open(url, method=method)
        assert answer.status_code == 302, (endpoint, url, answer.status_code)
        assert answer.headers["Location"].startswith("/sign-in"), (endpoint, answer.headers["Location"])


def test_static_files_and_sign_in_need_no_sign_in(app):
    client = app.test_client()
    assert client.get("/sign-in").status_code == 200
    assert client.get("/static/console.css").status_code == 200


def test_a_viewer_reads_every_page_but_cannot_post_anything(app, svc):
    client = app.test_client()
    token = sign_in(client, "viewer")
    for endpoint, url in concrete_urls(app, "GET"):
        if endpoint in ("static",) or "<" in url:
            continue
        assert client.get(url).status_code in (200, 404), url  # 404: a placeholder id that does not exist
    posts = [(e, u) for e, u in concrete_urls(app, "POST") if e not in ("auth.sign_in", "auth.sign_out")]
    for endpoint, url in posts:
        answer = client.post(url, data={"csrf_token": token, "action": "replay", "ids": "1", "environment": "dev"})
        assert answer.status_code == 403, (endpoint, answer.status_code)
    assert client.get("/").status_code == 200  # still signed in: refused, not signed out


def test_a_post_without_the_csrf_token_or_with_another_sessions_is_refused(app):
    operator, admin = app.test_client(), app.test_client()
    sign_in(operator, "operator")
    admins_token = sign_in(admin, "admin")
    for data in ({}, {"csrf_token": ""}, {"csrf_token": "0" * 64}, {"csrf_token": admins_token}):
        answer = operator.post("/dead-letters/bulk", data={"action": "replay", **data})
        assert answer.status_code == 400, data
        assert "did not come from this console" in answer.get_data(as_text=True)


def test_sign_in_itself_wants_the_csrf_token(app):
    client = app.test_client()
    client.get("/sign-in")
    answer = client.post("/sign-in", data={"email": EMAILS["admin"], "password": PASSWORD})
    assert answer.status_code == 400
    assert client.get_cookie(SESSION_COOKIE) is None


def test_signing_in_issues_a_new_session_whatever_the_browser_held(app, svc):
    attacker = app.test_client()
    sign_in(attacker, "viewer")
    planted = attacker.get_cookie(SESSION_COOKIE).value
    victim = app.test_client()
    victim.set_cookie(SESSION_COOKIE, planted)  # the attacker's session planted in the victim's browser
    sign_in(victim, "admin")
    issued = victim.get_cookie(SESSION_COOKIE).value
    assert issued != planted
    assert "admin@example.com" in victim.get("/").get_data(as_text=True)
    assert "admin@example.com" not in attacker.get("/").get_data(as_text=True)  # the planted one is not the victim's
    fixed = app.test_client()
    fixed.set_cookie(SESSION_COOKIE, "chosen-by-the-attacker")
    sign_in(fixed, "operator")
    assert fixed.get_cookie(SESSION_COOKIE).value != "chosen-by-the-attacker"


def test_signing_out_ends_the_session_on_the_server(app):
    client = app.test_client()
    token = sign_in(client, "operator")
    session = client.get_cookie(SESSION_COOKIE).value
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 302
    replayed = app.test_client()
    replayed.set_cookie(SESSION_COOKIE, session)
    assert replayed.get("/").status_code == 302  # a copied cookie is worth nothing after sign-out


def test_cookies_are_secure_httponly_and_samesite_strict(app):
    client = app.test_client()
    first = client.get("/sign-in")
    pre = first.headers.get_all("Set-Cookie")
    assert any(c.startswith(PRE_SESSION_COOKIE) for c in pre)
    answer = client.post("/sign-in", data={"email": EMAILS["viewer"], "password": PASSWORD,
                                           "csrf_token": csrf_of(first.get_data(as_text=True))})
    session = next(c for c in answer.headers.get_all("Set-Cookie") if c.startswith(SESSION_COOKIE + "="))
    for cookie in [*pre, session]:
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie, cookie
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]


def test_failed_sign_ins_are_limited_per_email(app, svc):
    client = app.test_client()
    token = csrf_of(client.get("/sign-in").get_data(as_text=True))
    for _ in range(svc.settings.console_sign_in_attempts):
        wrong = client.post("/sign-in", data={"email": EMAILS["admin"], "password": "wrong password!",
                                              "csrf_token": token})
        assert wrong.status_code == 401
    right = client.post("/sign-in", data={"email": EMAILS["admin"], "password": PASSWORD, "csrf_token": token})
    assert right.status_code == 429
    assert "Too many failed sign-ins" in right.get_data(as_text=True)
    assert client.get_cookie(SESSION_COOKIE) is None
    failures = [a for a in ledger.recent_audit(svc.sessions, people_only=True) if a.action == "sign-in-failed"]
    assert len(failures) == svc.settings.console_sign_in_attempts


@pytest.mark.parametrize("target, goes_to", [("//evil.example/steal", "/"), ("/\\evil.example", "/"),
                                             ("https://evil.example/", "/"), ("/orders?q=1001", "/orders?q=1001")])
def test_sign_in_goes_back_only_to_a_page_of_the_console(app, target, goes_to):
    client = app.test_client()
    token = csrf_of(client.get("/sign-in").get_data(as_text=True))
    answer = client.post("/sign-in", data={"email": EMAILS["viewer"], "password": PASSWORD, "csrf_token": token,
                                           "next": target})
    assert answer.headers["Location"] == goes_to


def test_no_secret_is_rendered_in_any_page(app, svc):
    client = app.test_client()
    sign_in(client, "admin")
    pages = [url for endpoint, url in concrete_urls(app, "GET") if endpoint != "static"]
    bodies = [client.get(url).get_data(as_text=True) for url in pages]
    assert any("Dashboard" in body for body in bodies)
    secrets = [value for v in SECRETS.values() for value in (v if isinstance(v, tuple) else (v,))]
    hashes = [re.escape(u.password_hash) for u in __import__("store.users", fromlist=["x"]).list_users(svc.sessions)]
    for url, body in zip(pages, bodies, strict=True):
        for secret in secrets:
            assert secret not in body, (url, secret)
        assert PASSWORD not in body
        for pattern in hashes:
            assert not re.search(pattern, body), url

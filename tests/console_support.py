"""Helpers for the console's tests: a console over SQLite and a fake Redis, users of each role, signing in."""

from __future__ import annotations

import re

import fakeredis

from console.app import create_app
from core.settings import Settings
from runtime.bootstrap import Services
from store import users

PASSWORD = "correct horse battery"
EMAILS = {"viewer": "viewer@example.com", "operator": "operator@example.com", "admin": "admin@example.com"}


def console_services(tmp_path, **settings) -> Services:
    svc = Services(Settings(home=tmp_path, **settings))
    svc.redis = fakeredis.FakeRedis()
    for role, email in EMAILS.items():
        users.add_user(svc.sessions, email, role, PASSWORD)
    return svc


def console_app(svc: Services, sent: list | None = None):
    sent = [] if sent is None else sent
    app = create_app(svc, lambda name, args: sent.append((name, args)))
    app.config["TESTING"] = True
    return app


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client, role: str) -> str:
    """Signs in as the role's user; returns a CSRF token valid for the new session."""
    token = csrf_of(client.get("/sign-in").get_data(as_text=True))
    answer = client.post("/sign-in", data={"email": EMAILS[role], "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return csrf_of(client.get("/").get_data(as_text=True))

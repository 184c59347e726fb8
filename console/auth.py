"""Who is signed in, what they may do, and the defences around it.

- A session is a random token in an HttpOnly, Secure, SameSite=Strict cookie; the store keeps its hash
  (store/users.py). Signing in always issues a new token, so a token planted before sign-in is worth nothing.
- Every POST carries a CSRF token: an HMAC of the browser's cookie (the session's, or before sign-in a random
  pre-session cookie) under a key derived from the service's secret key. A request from another site cannot
  read it, and SameSite=Strict keeps the cookie off cross-site requests anyway.
- Every route but sign-in and the static files wants a signed-in user (an anonymous request is sent to
  sign-in); a viewer can send no POST at all but sign-out; `requires(role)` guards the rest.
- Failed sign-ins are counted per email and per address in Redis: past the limit, sign-in pauses."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from core import redis_keys
from store import ledger, users

SESSION_COOKIE = "xcfb_console"
PRE_SESSION_COOKIE = "xcfb_console_pre"
PUBLIC_ENDPOINTS = {"auth.sign_in", "static"}

bp = Blueprint("auth", __name__)


def svc():
    return current_app.config["SERVICES"]


def install(app) -> None:
    app.before_request(_load_user)
    app.before_request(_require_user)
    app.before_request(_check_csrf)
    app.before_request(_viewers_only_read)
    app.after_request(_security_headers)
    app.context_processor(lambda: {"csrf_token": csrf_token, "user": g.get("user"), "may": may})


def _load_user() -> None:
    token = request.cookies.get(SESSION_COOKIE)
    g.user = users.session_user(svc().sessions, token) if token else None
    g.session_token = token if g.user else None


def _require_user():
    if g.user is None and request.endpoint not in PUBLIC_ENDPOINTS:
        return redirect(url_for("auth.sign_in", next=request.full_path if request.method == "GET" else None))
    return None


def _viewers_only_read():
    if request.method == "POST" and g.user is not None and not users.has_role(g.user, "operator") \
            and request.endpoint not in ("auth.sign_out", "auth.sign_in"):
        abort(403)


def requires(role: str):
    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if g.user is None or not users.has_role(g.user, role):
                abort(403)
            return view(*args, **kwargs)
        return guarded
    return decorate


def may(role: str) -> bool:
    return g.get("user") is not None and users.has_role(g.user, role)


# -- CSRF ---------------------------------------------------------------------------------------------------

def _csrf_key() -> bytes:
    return hashlib.sha256(b"xcfb-console-csrf:" + svc().secret_key.encode()).digest()


def _csrf_seed() -> str:
    if g.get("session_token"):
        return "session:" + g.session_token
    if "pre_session" not in g:
        g.pre_session = request.cookies.get(PRE_SESSION_COOKIE) or secrets.token_urlsafe(32)
    return "pre:" + g.pre_session


def csrf_token() -> str:
    return hmac.new(_csrf_key(), _csrf_seed().encode(), hashlib.sha256).hexdigest()


def _check_csrf():
    if request.method != "POST" or (g.user is None and request.endpoint not in PUBLIC_ENDPOINTS):
        return None  # an anonymous POST to a guarded route was already sent to sign-in
    given = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if not (request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRE_SESSION_COOKIE)) or \
            not hmac.compare_digest(given, csrf_token()):
        abort(400, description="the form has expired or did not come from this console: reload the page and "
                               "try again")
    return None


def _cookie(response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="Strict", path="/",
                        secure=current_app.config["SECURE_COOKIES"])


def _security_headers(response):
    if g.get("pre_session") and not g.get("session_token") and not request.cookies.get(PRE_SESSION_COOKIE):
        _cookie(response, PRE_SESSION_COOKIE, g.pre_session)
    response.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                                   "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


# -- sign in and out ----------------------------------------------------------------------------------------

def _too_many_failures(email: str) -> bool:
    limit = svc().settings.console_sign_in_attempts
    keys = _failure_keys(email)
    counts = svc().redis.mget(keys)
    return any(int(count or 0) >= limit for count in counts)


def _failure_keys(email: str) -> list[str]:
    return [redis_keys.CONSOLE_SIGN_IN_FAILURES.format(who="email:" + users.normal_email(email)),
            redis_keys.CONSOLE_SIGN_IN_FAILURES.format(who="address:" + (request.remote_addr or "?"))]


def _count_failure(email: str) -> None:
    window = svc().settings.console_sign_in_window_seconds
    with svc().redis.pipeline() as pipe:
        for key in _failure_keys(email):
            pipe.incr(key)
            pipe.expire(key, window)
        pipe.execute()


def _safe_next(target: str | None) -> str:
    """Only a path of this console: never another site (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target \
            or urlsplit(target).netloc:  # a browser reads /\host as //host
        return url_for("dashboard.index")
    return target


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if request.method == "GET":
        return render_template("sign_in.html", next=request.args.get("next", ""))
    email, password = request.form.get("email", ""), request.form.get("password", "")
    next_path = request.form.get("next", "")
    if _too_many_failures(email):
        minutes = svc().settings.console_sign_in_window_seconds // 60
        return render_template("sign_in.html", next=next_path, email=email,
                               error=f"Too many failed sign-ins: try again in {minutes} minutes."), 429
    user = users.authenticate(svc().sessions, email, password)
    if user is None:
        _count_failure(email)
        ledger.audit(svc().sessions, "sign-in-failed", "console", None, "wrong email or password",
                     actor=users.normal_email(email)[:254])
        return render_template("sign_in.html", next=next_path, email=email, error="Wrong email or password."), 401
    svc().redis.delete(_failure_keys(email)[0])
    lifetime = timedelta(hours=svc().settings.console_session_hours)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        users.end_session(svc().sessions, old)
    token = users.start_session(svc().sessions, user.id, lifetime)
    ledger.audit(svc().sessions, "sign-in", "console", None, f"role {user.role}", actor=user.email)
    response = redirect(_safe_next(next_path))
    _cookie(response, SESSION_COOKIE, token, int(lifetime.total_seconds()))
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")
    return response


@bp.route("/sign-out", methods=["POST"])
def sign_out():
    users.end_session(svc().sessions, g.session_token)
    ledger.audit(svc().sessions, "sign-out", "console", None, "", actor=g.user.email)
    response = redirect(url_for("auth.sign_in"))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def actor() -> str:
    return g.user.email

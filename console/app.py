"""The console's Flask app: `create_app(services, send)`; `console.wsgi:app` for gunicorn."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

from console import auth, dashboard, dead_letters, orders, reviews, rules
from runtime.bootstrap import Services

Send = Callable[[str, list], None]  # sends a task by name: replays go to the workers


def create_app(services: Services, send: Send, secure_cookies: bool = True) -> Flask:
    app = Flask(__name__)
    app.config.update(SERVICES=services, SEND=send, SECURE_COOKIES=secure_cookies,
                      MAX_CONTENT_LENGTH=2 * 1024 * 1024,
                      # Flask's own signed cookie carries the one-time messages ("replayed") only.
                      SECRET_KEY=hashlib.sha256(b"xcfb-console-flash:" + services.secret_key.encode()).digest(),
                      SESSION_COOKIE_NAME="xcfb_console_messages", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_SECURE=secure_cookies)
    auth.install(app)
    for blueprint in (auth.bp, dashboard.bp, orders.bp, dead_letters.bp, reviews.bp, rules.bp):
        app.register_blueprint(blueprint)

    @app.errorhandler(HTTPException)
    def error_page(error: HTTPException):
        return render_template("error.html", error=error), error.code

    return app

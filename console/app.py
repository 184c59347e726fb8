"""The console's Flask app: `create_app(services, send)`; `console.wsgi:app` for gunicorn."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

from console import auth, dashboard, dead_letters, orders, rules
from runtime.bootstrap import Services

Send = Callable[[str, list], None]  # sends a task by name: replays go to the workers


def create_app(services: Services, send: Send, secure_cookies: bool = True) -> Flask:
    app = Flask(__name__)
    app.config.update(SERVICES=services, SEND=send, SECURE_COOKIES=secure_cookies,
                      MAX_CONTENT_LENGTH=2 * 1024 * 1024)
    auth.install(app)
    for blueprint in (auth.bp, dashboard.bp, orders.bp, dead_letters.bp, rules.bp):
        app.register_blueprint(blueprint)

    @app.errorhandler(HTTPException)
    def error_page(error: HTTPException):
        return render_template("error.html", error=error), error.code

    return app

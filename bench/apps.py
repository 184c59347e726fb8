"""The references the ingest endpoint is measured against, served by the same gunicorn settings:

    gunicorn -w 2 "bench.apps:bare()"          # a trivial route: the ceiling of Flask under gunicorn here
    gunicorn -w 2 "bench.apps:send_task_only()"  # + Celery send_task of the body to the same broker: the floor

Both read the body, as ingest does, and answer 202."""

from __future__ import annotations

from flask import Flask, request

from runtime.bootstrap import task_sender_app


def bare() -> Flask:
    app = Flask("bench-bare")

    @app.post("/webhooks/xcart")
    def webhook():
        request.get_data()
        return "", 202
    return app


def send_task_only() -> Flask:
    app = Flask("bench-send-task")
    celery = task_sender_app()  # celeryconfig: the broker and settings ingest uses

    @app.post("/webhooks/xcart")
    def webhook():
        celery.send_task("xcfb.process_event", args=[request.get_data().decode("utf-8")])
        return "", 202
    return app


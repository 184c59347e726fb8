"""The WSGI entry point for gunicorn (Procfile: web)."""

from ingest.app import create_app

app = create_app()

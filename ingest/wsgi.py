"""The WSGI entry point for gunicorn (Procfile: web)."""

from .app import create_app

app = create_app()

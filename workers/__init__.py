"""Celery workers: `celery -A workers worker|beat|flower|call ...`."""

from .app import app

__all__ = ["app"]

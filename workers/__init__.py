"""Celery workers: `celery -A workers worker|beat|flower|call ...`."""

from workers.app import app

__all__ = ["app"]

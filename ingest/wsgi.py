"""The WSGI entry point for gunicorn (Procfile: web)."""

import sys

from core.settings import SettingsError
from ingest.app import create_app

WORKER_BOOT_ERROR = 3  # gunicorn's master stops, instead of booting the worker again and again

try:
    app = create_app()
except SettingsError as exc:  # one line naming the variable, not a traceback
    print(f"xcfb ingest: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(WORKER_BOOT_ERROR) from None

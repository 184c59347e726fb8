"""FreshBooks' webhook signature (X-FreshBooks-Hmac-SHA256), for the receiver (ingest) and for the sandbox
that sends callbacks: one definition of the protocol."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable


def webhook_signature(verifier: str, form_items: Iterable[tuple[str, str]]) -> str:
    """FreshBooks' X-FreshBooks-Hmac-SHA256: base64 HMAC-SHA256 over json.dumps of the form fields as
    strings, in received order, default separators, keyed with the callback's verifier."""
    message = json.dumps({key: str(value) for key, value in form_items})
    digest = hmac.new(verifier.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_webhook_signature(verifier: str, form_items: Iterable[tuple[str, str]], signature: str) -> bool:
    given = (signature or "").encode("utf-8", "replace")  # compare_digest refuses non-ASCII str: compare bytes
    return hmac.compare_digest(webhook_signature(verifier, form_items).encode(), given)

"""X-XCart-Signature per the webhook contract: `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
several v1 allowed (secret rotation), compared in constant time, timestamp within the tolerance."""

from __future__ import annotations

import hashlib
import hmac
import time


def verify(header: str | None, body: bytes, secrets: tuple[str, ...], tolerance: int = 300,
           now: float | None = None) -> str | None:
    """None when the signature holds, else the reason it does not (for logs, never echoed to senders)."""
    if not header:
        return "missing X-XCart-Signature"
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            candidates.append(value)
    if not timestamp or not _is_unix_seconds(timestamp) or not candidates:
        return "malformed X-XCart-Signature"
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return "timestamp outside the tolerance"
    signed = timestamp.encode() + b"." + body
    expected = [hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest().encode() for secret in secrets]
    matched = False
    for candidate in candidates:
        given = candidate.encode("utf-8", "replace")  # compare_digest refuses non-ASCII str: compare bytes
        for digest in expected:
            matched |= hmac.compare_digest(given, digest)  # no early exit: constant time
    return None if matched else "no signature matches a configured secret"


def _is_unix_seconds(value: str) -> bool:
    """ASCII digits only (str.isdigit takes `²`, which int() refuses), and few enough for int()."""
    return value.isascii() and value.isdigit() and len(value) <= 12

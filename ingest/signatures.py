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
    if not timestamp or not timestamp.isdigit() or not candidates:
        return "malformed X-XCart-Signature"
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return "timestamp outside the tolerance"
    signed = timestamp.encode() + b"." + body
    expected = [hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest() for secret in secrets]
    matched = False
    for candidate in candidates:
        for digest in expected:
            matched |= hmac.compare_digest(candidate, digest)  # no early exit: constant time
    return None if matched else "no signature matches a configured secret"

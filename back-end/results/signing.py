"""HMAC-SHA256 signatures of webhook bodies with WEBHOOK_SECRET, bound to a timestamp so replays expire.

Signature = hex(HMAC-SHA256(secret, f"{timestamp}.".encode() + body)), sent as
`X-Webhook-Signature: sha256=<hex>` beside `X-Webhook-Timestamp: <unix seconds>`.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Webhook-Signature"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"

TOLERANCE_S = 300
"""A signed body is accepted for this long around its timestamp (5 minutes either way)."""


MAX_TIMESTAMP_DIGITS = 12
"""Unix seconds fit in 12 digits for the next 30,000 years; longer is not a timestamp."""


class InvalidSignature(Exception):
    """Raised when a webhook is unsigned, forged, or signed too long ago (or too far ahead)."""


def sign(body: bytes, secret: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers that authenticate `body`."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: f"sha256={digest}"}


def verify(body: bytes, secret: bytes, timestamp: str | None, signature: str | None, now: float | None = None) -> None:
    if not timestamp or not signature:
        raise InvalidSignature("The webhook is not signed.")
    well_formed = timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS
    if not well_formed or abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE_S:
        raise InvalidSignature("The webhook timestamp is missing or outside the allowed window.")
    expected = sign(body, secret, int(timestamp))[SIGNATURE_HEADER]
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise InvalidSignature("The webhook signature does not match.")

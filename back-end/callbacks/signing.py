"""Standard Webhooks signatures (https://www.standardwebhooks.com), made by the `standardwebhooks` package.

`webhook-signature: v1,<base64 HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")>`, where the key is
the base64 after `whsec_` in CALLBACK_SIGNING_SECRET. A receiver verifies with the same secret, e.g.
`standardwebhooks.Webhook(secret).verify(body, headers)`, which also refuses timestamps more than 5 minutes off.
"""

from datetime import UTC, datetime

from standardwebhooks import Webhook

from core.settings import Settings

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


def signer(settings: Settings) -> Webhook:
    secret = settings.callback_signing_secret
    assert secret is not None  # Settings sets or generates it
    return Webhook(secret.get_secret_value())


def signed_headers(webhook: Webhook, webhook_id: str, body: str, at: datetime | None = None) -> dict[str, str]:
    """The three headers that authenticate `body` as message `webhook_id`, signed now (or `at`)."""
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    return {
        ID_HEADER: webhook_id,
        TIMESTAMP_HEADER: str(int(moment.timestamp())),
        SIGNATURE_HEADER: webhook.sign(webhook_id, moment, body),
    }

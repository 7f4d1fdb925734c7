"""Delivery of a task's events to the API's results webhook (the worker side of the webhook)."""

import logging

import httpx

from core.settings import Settings
from schemas.analysis import AnalysisEvent
from webhooks.signing import sign

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """Raised when the API did not accept an event (unreachable, timed out, or answered non-2xx)."""


def deliver(event: AnalysisEvent, settings: Settings, client: httpx.Client | None = None) -> None:
    body = event.model_dump_json().encode()
    headers = {"Content-Type": "application/json", **sign(body, settings.secret("webhook_secret"))}
    owned = client is None
    http = client or httpx.Client(timeout=settings.webhook_timeout_s)
    try:
        response = http.post(settings.results_webhook_url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"results webhook unreachable: {exc!r}") from exc
    finally:
        if owned:
            http.close()
    if response.status_code >= 300:
        raise DeliveryError(f"results webhook answered {response.status_code}: {response.text[:200]}")
    log.info("event delivered", extra={"job_id": event.job_id, "event": event.event})

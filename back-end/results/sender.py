"""Delivery of a task's events to the API's results webhook (the worker side of the webhook)."""

import logging
from functools import cache

import httpx

from core.settings import Settings
from results.signing import sign
from schemas.analysis import AnalysisEvent

log = logging.getLogger(__name__)


KEEPALIVE_S = 2.0
"""Idle connections are dropped well before uvicorn closes them (5 s), so a reused one is rarely stale."""


@cache
def shared_client(timeout_s: float) -> httpx.Client:
    """The process's client for the results webhook: one connection pool, kept alive between events.

    A new `httpx.Client` builds a TLS context (certifi's bundle) and a new connection: ~37 ms a time here, which
    was most of the webhook's cost per event (measured in benchmarks/FINDINGS.md).
    """
    return httpx.Client(timeout=timeout_s, limits=httpx.Limits(keepalive_expiry=KEEPALIVE_S))


class DeliveryError(Exception):
    """Raised when the API did not accept an event (unreachable, timed out, or answered non-2xx)."""


def deliver(event: AnalysisEvent, settings: Settings) -> None:
    body = event.model_dump_json().encode()
    headers = {"Content-Type": "application/json", **sign(body, settings.secret("webhook_secret"))}
    http = shared_client(settings.webhook_timeout_s)
    try:
        try:
            response = http.post(settings.results_webhook_url, content=body, headers=headers)
        except httpx.RemoteProtocolError:  # a kept-alive connection the API had just closed: once more, on a new one
            response = http.post(settings.results_webhook_url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"results webhook unreachable: {exc!r}") from exc
    if response.status_code >= 300:
        raise DeliveryError(f"results webhook answered {response.status_code}: {response.text[:200]}")
    log.info("event delivered", extra={"job_id": event.job_id, "event": event.event})

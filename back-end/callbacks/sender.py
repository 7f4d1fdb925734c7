"""One attempt: a signed POST of the body to the callback's checked address, with a short timeout.

The request goes straight to an httpx transport, without a Client: redirects are not followed (a 3xx is a failed
attempt: following it would reach an unchecked address), proxies from the environment are not used (the
connection must go to the checked address), and httpx does not log the URL (it may carry the receiver's
credentials). Only the first RESPONSE_BODY_LIMIT bytes of the answer are read, within the timeout.
"""

import base64
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import httpx
from standardwebhooks import Webhook

from callbacks.address_guard import AllowList, CallbackUrlRefused, Resolver, check_callback_url
from callbacks.signing import signed_headers

RESPONSE_BODY_LIMIT = 1024
"""Bytes of the receiver's answer kept with the attempt."""

MAX_ERROR_LENGTH = 255

USER_AGENT = "audio-transcription-callbacks/1"


@dataclass(frozen=True)
class Outcome:
    attempted_at: datetime
    latency_ms: int
    status_code: int | None = None
    response_body: str | None = None
    error: str | None = None
    refused: bool = False
    """The URL now reaches an address that is not allowed: no attempt was made, and none will be."""

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post_signed(
    url: str,
    webhook_id: str,
    body: str,
    webhook: Webhook,
    allow: AllowList,
    timeout_s: float,
    transport: httpx.BaseTransport | None = None,
    resolve: Resolver | None = None,
) -> Outcome:
    attempted_at = datetime.now(UTC)
    started = time.perf_counter()

    def elapsed_ms() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        target = check_callback_url(url, allow, resolve)
    except CallbackUrlRefused as exc:
        return Outcome(attempted_at, elapsed_ms(), error=_short(f"{exc.code}: {exc}"), refused=exc.permanent)
    request_url, host_header, extensions = target.pinned()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "identity",  # the kept answer is raw bytes; never inflate a body nobody reads
        **host_header,
        **signed_headers(webhook, webhook_id, body, attempted_at),
    }
    if target.url.userinfo:  # https://user:password@host/…: what a Client would send as basic auth
        credentials = f"{target.url.username}:{target.url.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode("ascii")
    request = httpx.Request(
        "POST",
        request_url,
        headers=headers,
        content=body.encode(),
        extensions={"timeout": httpx.Timeout(timeout_s).as_dict(), **extensions},
    )
    http = transport or httpx.HTTPTransport(verify=_tls())
    kept = bytearray()
    try:
        answer = http.handle_request(request)
        latency_ms = elapsed_ms()
        try:
            assert isinstance(answer.stream, httpx.SyncByteStream)
            for chunk in answer.stream:
                kept += chunk[: RESPONSE_BODY_LIMIT - len(kept)]
                if len(kept) >= RESPONSE_BODY_LIMIT or time.perf_counter() - started > timeout_s:
                    break
        finally:
            answer.close()
    except httpx.HTTPError as exc:
        return Outcome(attempted_at, elapsed_ms(), error=_short(f"{type(exc).__name__}: {exc}"))
    finally:
        if transport is None:
            http.close()
    text = bytes(kept).decode("utf-8", errors="replace") if kept else None
    return Outcome(attempted_at, latency_ms, status_code=answer.status_code, response_body=text)


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context (the system's CA certificates) for every attempt: loading them takes tens of ms."""
    return ssl.create_default_context()


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"

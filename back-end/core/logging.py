"""Structured logs: one JSON object per line, with `request_id` (API), `worker_id` and, where there is one, `job_id`.

A job's id travels in every line about it, from the upload (`job ... accepted`) through the worker (`started`,
`transcribed`) to the webhook (`job event`), so `grep <job_id>` over all logs tells its story. Nothing that
looks like a secret is logged: fields named like one are replaced by `[redacted]`.
"""

import logging
import logging.config
import uuid
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

REQUEST_ID_HEADER = "X-Request-ID"

_SECRET_WORDS = ("secret", "password", "token", "authorization", "signature", "cookie")


class ContextFilter(logging.Filter):
    """Adds `worker_id` and the current `request_id` to every record; redacts secret-looking fields."""

    def __init__(self, worker_id: str) -> None:
        super().__init__()
        self.worker_id = worker_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.worker_id = getattr(record, "worker_id", None) or self.worker_id
        if (current := request_id.get()) is not None:
            record.request_id = current
        for name in list(vars(record)):
            if any(word in name.lower() for word in _SECRET_WORDS):
                setattr(record, name, "[redacted]")
        return True


def configure_logging(worker_id: str, level: str = "INFO") -> None:
    """JSON lines on stderr for this process and the libraries it uses (uvicorn, rq)."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(ContextFilter(worker_id))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "rq.worker", "rq.job", "rq.scheduler"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class RequestIdMiddleware:
    """Takes the caller's X-Request-ID (or makes one), puts it in every log line of the request and the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"").decode("latin-1")
        current = given if given.isascii() and 0 < len(given) <= 128 and given.isprintable() else uuid.uuid4().hex
        token = request_id.set(current)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((REQUEST_ID_HEADER.encode(), current.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)

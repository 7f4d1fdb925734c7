"""rq-dashboard (a Flask app) mounted in the API under /rq, behind HTTP basic auth.

It is served only when RQ_DASHBOARD_USERNAME and RQ_DASHBOARD_PASSWORD are both set; the credentials are
compared in constant time (rq-dashboard's own check is not). It can also run as its own process, as in
docker-compose.yml.
"""

import base64
import binascii
import secrets

from a2wsgi import WSGIMiddleware
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response
from core.settings import Settings
from queueing.connection import redis_url_without_starting

MOUNT_PATH = "/rq"


class BasicAuth:
    def __init__(self, app: ASGIApp, username: str, password: str) -> None:
        self.app = app
        self.expected = f"{username}:{password}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._allowed(dict(scope["headers"]).get(b"authorization", b"")):
            refusal = error_response(
                401, "unauthorized", "rq-dashboard needs its credentials.", {"WWW-Authenticate": 'Basic realm="rq"'}
            )
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _allowed(self, header: bytes) -> bool:
        scheme, _, encoded = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return False
        return secrets.compare_digest(given, self.expected)


def mount_dashboard(app: FastAPI, settings: Settings) -> None:
    if not (settings.rq_dashboard_username and settings.rq_dashboard_password):
        return
    from rq_dashboard.cli import make_flask_app

    dashboard = make_flask_app(None, None, None, url_prefix="")
    dashboard.config["RQ_DASHBOARD_REDIS_URL"] = (redis_url_without_starting(settings),)  # one instance: #0
    password = settings.rq_dashboard_password.get_secret_value()
    wsgi: ASGIApp = WSGIMiddleware(dashboard)  # type: ignore[assignment]
    app.mount(MOUNT_PATH, BasicAuth(wsgi, settings.rq_dashboard_username, password))

"""Unit tests never reach a real Redis: every caller of `queueing.connection.get_redis` gets one fakeredis.
`make_client` builds the app in process, for the tests of the API, its middleware and its logs."""

from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
from fastapi.testclient import TestClient

from core.settings import get_settings


@pytest.fixture(autouse=True)
def fake_redis(monkeypatch: pytest.MonkeyPatch) -> fakeredis.FakeRedis:
    connection = fakeredis.FakeRedis()
    monkeypatch.setattr("queueing.connection.redis_url", lambda _settings: "redis://fakeredis")
    monkeypatch.setattr("queueing.connection._client", lambda _url, _timeout: connection)
    return connection


@pytest.fixture
def make_client(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator["type[TestClient]"]:
    """A client for an app built with these extra environment variables."""
    monkeypatch.setattr("services.dispatch.run_in_process", lambda _args: None)
    clients: list[TestClient] = []

    def build(**env: str) -> TestClient:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        from main import create_app

        client = TestClient(create_app())
        client.__enter__()
        clients.append(client)
        return client

    yield build  # type: ignore[misc]
    for client in clients:
        client.__exit__(None, None, None)

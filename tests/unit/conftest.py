"""Unit tests never reach a real Redis: every caller of `queueing.connection.get_redis` gets one fakeredis."""

import fakeredis
import pytest


@pytest.fixture(autouse=True)
def fake_redis(monkeypatch: pytest.MonkeyPatch) -> fakeredis.FakeRedis:
    connection = fakeredis.FakeRedis()
    monkeypatch.setattr("queueing.connection.redis_url", lambda _settings: "redis://fakeredis")
    monkeypatch.setattr("queueing.connection._client", lambda _url, _timeout: connection)
    return connection

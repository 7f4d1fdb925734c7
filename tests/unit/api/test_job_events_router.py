"""`GET /api/jobs/{job_id}/events` in process: with Redis down it is a JSON 503, not a broken stream."""

import pytest
from fastapi.testclient import TestClient

from queueing.embedded_redis import free_port
from tests.conftest import bearer
from tests.unit.api.helpers import upload


def test_events_with_redis_down_are_a_json_503(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = upload(client).json()["job_id"]
    monkeypatch.setattr("events.job_follow.redis_url", lambda _: f"redis://127.0.0.1:{free_port()}/0")

    for headers in ({}, {"Last-Event-ID": "1-0"}):
        response = client.get(f"/api/jobs/{job_id}/events", headers={**bearer("alice"), **headers})

        assert response.status_code == 503
        assert response.json()["error"]["code"] == "events_unavailable"
        assert "Retry-After" in response.headers

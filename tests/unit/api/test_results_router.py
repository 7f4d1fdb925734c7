"""`POST /internal/webhooks/analysis` in process (TestClient, fakeredis as the queue): signed events move a job
once; unsigned, forged, replayed, oversized or late ones change nothing."""

import time

from fastapi.testclient import TestClient

from core.settings import get_settings
from results.signing import sign
from schemas.analysis import AnalysisEvent
from tests.conftest import bearer
from tests.unit.api.helpers import upload


def signed_post(client: TestClient, body: bytes, secret: str | None = None, timestamp: int | None = None) -> "object":
    key = (secret or get_settings().secret("webhook_secret").decode()).encode()
    headers = {"Content-Type": "application/json", **sign(body, key, timestamp)}
    return client.post("/internal/webhooks/analysis", content=body, headers=headers)


def started_event(job_id: str) -> bytes:
    event = AnalysisEvent(job_id=job_id, event="started", attempt=1, worker_id="w1", occurred_at="2026-01-01T00:00:00Z")
    return event.model_dump_json().encode()


def test_signed_webhook_moves_the_job_once(client: TestClient) -> None:
    job_id = upload(client).json()["job_id"]

    now = int(time.time())
    first = signed_post(client, started_event(job_id), timestamp=now)
    replayed = signed_post(client, started_event(job_id), timestamp=now)  # the captured request, sent again
    resent = signed_post(client, started_event(job_id), timestamp=now - 1)  # the same event, signed anew

    assert (first.status_code, first.json()) == (200, {"applied": True})
    assert (replayed.status_code, replayed.json()["error"]["code"]) == (401, "replayed_webhook")
    assert (resent.status_code, resent.json()) == (200, {"applied": False})
    job = client.get(f"/api/jobs/{job_id}", headers=bearer("alice")).json()
    assert job["status"] == "started"
    assert job["current_step"] == "downloading"


def test_unsigned_or_forged_webhook_is_401_and_changes_nothing(client: TestClient) -> None:
    job_id = upload(client).json()["job_id"]
    body = started_event(job_id)

    unsigned = client.post("/internal/webhooks/analysis", content=body)
    forged = signed_post(client, body, secret="guessed-secret")

    for response in (unsigned, forged):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_signature"
    assert client.get(f"/api/jobs/{job_id}", headers=bearer("alice")).json()["status"] == "queued"


def test_webhook_for_unknown_job_is_404_and_bad_body_is_400(client: TestClient) -> None:
    unknown = signed_post(client, started_event("f" * 32))
    malformed = signed_post(client, b'{"job_id": 1}')

    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "job_not_found")
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "invalid_event")


def test_oversized_webhook_is_413(client: TestClient) -> None:
    response = signed_post(client, b"x" * (5 * 1024 * 1024))

    assert response.status_code == 413


def test_result_arriving_for_a_canceled_job_changes_nothing(client: TestClient) -> None:
    job_id = upload(client).json()["job_id"]
    canceled = client.delete(f"/api/jobs/{job_id}/cancel", headers=bearer("alice"))
    result = {"text": "too late", "language": "en", "duration": 6.4, "segments": []}
    late = AnalysisEvent(
        job_id=job_id, event="completed", attempt=1, worker_id="w1", occurred_at="2026-01-01T00:00:09Z", result=result
    )

    response = signed_post(client, late.model_dump_json().encode())

    assert canceled.json()["status"] == "canceled"
    assert (response.status_code, response.json()) == (200, {"applied": False})
    job = client.get(f"/api/jobs/{job_id}", headers=bearer("alice")).json()
    assert (job["status"], job["result"]) == ("canceled", None)

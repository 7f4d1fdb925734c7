"""The operations routes (`api.routers.ops_router`) in process: the queue status and the job lists for admins only,
and the Prometheus metrics."""

from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.unit.api.helpers import upload


def test_queue_status_is_for_admins_and_counts_the_queues(make_client: "type[TestClient]") -> None:
    client = make_client()
    upload(client)
    upload(client)

    refused = client.get("/api/queue/status", headers=bearer("alice"))
    status = client.get("/api/queue/status", headers=bearer("root", role="admin"))

    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "admin_only")
    body = status.json()
    assert body["use_rq_queue"] is True
    assert body["queues"]["audio_analysis"]["queued"] == 2
    assert body["queues"]["high_priority"]["failed"] == 0
    assert set(body["queues"]["audio_analysis"]) >= {"started", "scheduled", "deferred", "finished", "failed"}
    assert body["workers"] == []
    assert body["stats"]["last_hour"] == {"queued": 2}
    assert body["stats"]["avg_processing_s"] is None


def test_admin_lists_jobs_by_status(make_client: "type[TestClient]") -> None:
    client = make_client()
    job_id = upload(client).json()["job_id"]

    queued = client.get("/api/admin/jobs?status=queued", headers=bearer("root", role="admin"))
    failed = client.get("/api/admin/jobs?status=failed", headers=bearer("root", role="admin"))
    wrong = client.get("/api/admin/jobs?status=exploded", headers=bearer("root", role="admin"))
    not_admin = client.get("/api/admin/jobs?status=queued", headers=bearer("alice"))

    assert [j["job_id"] for j in queued.json()] == [job_id]
    assert queued.json()[0]["owner_id"] == "alice"
    assert failed.json() == []
    assert wrong.status_code == 400
    assert not_admin.status_code == 403


def test_metrics_in_prometheus_format(make_client: "type[TestClient]") -> None:
    client = make_client()
    upload(client)

    text = client.get("/metrics").text

    assert 'transcribe_queue_depth{queue="audio_analysis"} 1.0' in text
    assert "transcribe_workers 0.0" in text
    assert "# TYPE transcribe_job_duration_seconds histogram" in text
    assert "transcribe_fallbacks_to_background_total" in text
    assert "transcribe_worker_webhook_failures_total" in text

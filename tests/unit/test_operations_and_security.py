"""Operations (status API, admin lists, metrics, logs) and security (roles, rate limit, CORS, secrets), in process."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from core.settings import Settings, get_settings
from tests.conftest import SAMPLES, bearer

WAV = (SAMPLES / "hello.wav").read_bytes()


@pytest.fixture
def make_client(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator["type[TestClient]"]:
    """A client for an app built with these extra environment variables."""
    monkeypatch.setattr("queueing.dispatch.process_audio_analysis", lambda **_: None)
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


def upload(client: TestClient, user: str = "alice") -> "object":
    return client.post("/api/audio", headers=bearer(user), files={"file": ("a.wav", WAV)})


def test_queue_status_is_for_admins_and_counts_the_queues(make_client: "type[TestClient]") -> None:
    client = make_client()
    upload(client)
    upload(client)

    refused = client.get("/api/queue/status", headers=bearer("alice"))
    status = client.get("/api/queue/status", headers=bearer("root", role="admin"))

    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "admin_only")
    body = status.json()
    assert body["use_rq_queue"] is True
    assert body["queues"]["audio_analysis"]["queued"] == body["queues"]["audio_analysis"]["length"] == 2
    assert body["queues"]["high_priority"]["failed_count"] == 0
    assert set(body["queues"]["audio_analysis"]) >= {"started", "scheduled", "deferred", "finished", "failed"}
    assert body["workers"] == []
    assert body["stats"]["last_hour"] == {"queued": 2}
    assert body["stats"]["avg_processing_s"] is None


def test_admin_lists_jobs_by_status(make_client: "type[TestClient]") -> None:
    client = make_client()
    job_id = upload(client).json()["job_id"]  # type: ignore[attr-defined]

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


def test_upload_rate_limit_per_user_is_429_with_retry_after(make_client: "type[TestClient]") -> None:
    client = make_client(UPLOAD_RATE_LIMIT="3/minute")

    answers = [upload(client).status_code for _ in range(4)]  # type: ignore[attr-defined]
    limited = upload(client)
    someone_else = upload(client, user="bob")

    assert answers == [202, 202, 202, 429]
    assert limited.json()["error"]["code"] == "rate_limited"  # type: ignore[attr-defined]
    assert 0 < int(limited.headers["Retry-After"]) <= 60  # type: ignore[attr-defined]
    assert someone_else.status_code == 202  # type: ignore[attr-defined]


def test_cors_allows_only_the_configured_origins(make_client: "type[TestClient]") -> None:
    client = make_client(CORS_ORIGINS='["https://app.example.com"]')
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}

    allowed = client.options("/api/audio", headers={"Origin": "https://app.example.com", **preflight})
    other = client.options("/api/audio", headers={"Origin": "https://evil.example.net", **preflight})

    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in other.headers


def test_no_cors_headers_by_default(make_client: "type[TestClient]") -> None:
    client = make_client()

    response = client.get("/health", headers={"Origin": "https://app.example.com"})

    assert "access-control-allow-origin" not in response.headers


def test_request_ids_are_echoed_or_made(make_client: "type[TestClient]") -> None:
    client = make_client()

    given = client.get("/health", headers={"X-Request-ID": "req-123"})
    made = client.get("/health")

    assert given.headers["x-request-id"] == "req-123"
    assert len(made.headers["x-request-id"]) == 32


def test_logs_are_json_lines_with_the_job_id_and_no_token(
    make_client: "type[TestClient]", capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client()
    headers = bearer("alice")

    job_id = client.post("/api/audio", headers={**headers, "X-Request-ID": "req-9"}, files={"file": ("a.wav", WAV)})
    err = capsys.readouterr().err

    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    accepted = [line for line in lines if "accepted" in line["message"]]
    assert accepted
    assert accepted[0]["message"].startswith(f"job {job_id.json()['job_id']} accepted")
    assert accepted[0]["request_id"] == "req-9"
    assert {"time", "level", "logger", "worker_id"} <= set(accepted[0])
    assert headers["Authorization"].split()[1] not in err


def test_the_dashboard_is_not_served_without_credentials(make_client: "type[TestClient]") -> None:
    client = make_client()

    assert client.get("/rq/").status_code == 404


STRONG_CALLBACK_SECRET = "whsec_Kp3nV8rT1yW6zB9cF2hJ5mQ8sU1xA4dG7jL0oR3uX6z="
"""whsec_ and the base64 of 32 random-looking bytes (a secret is refused below only for the reason each case names)."""


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"jwt_secret": "change-me", "webhook_secret": "w" * 40},
        {"jwt_secret": "j" * 40, "webhook_secret": "too-short"},
        {"jwt_secret": "my-default-secret-for-production-use-xx", "webhook_secret": "w" * 40},
        {"jwt_secret": "j" * 40, "webhook_secret": "w" * 40, "rq_dashboard_password": "password123"},
    ],
)
def test_production_refuses_default_or_weak_secrets(tmp_path: Path, overrides: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            environment="production",
            data_dir=tmp_path,
            **{"callback_signing_secret": STRONG_CALLBACK_SECRET, **overrides},
        )


def test_production_starts_with_strong_secrets(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="production",
        data_dir=tmp_path,
        jwt_secret="Zq8vX1u0mN3bR5tY7wE9pL2kJ4hG6fD8sA0qW",
        webhook_secret="Hn4mK7jL0pO3iU6yT9rE2wQ5aS8dF1gZ4xC7v",
        callback_signing_secret=STRONG_CALLBACK_SECRET,
    )

    assert settings.environment == "production"

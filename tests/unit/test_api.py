"""The HTTP contract, in process (TestClient) with fakeredis as the queue: what is accepted, what is refused."""

import io
import time
from collections.abc import Iterator
from pathlib import Path

import fakeredis
import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from rq import Queue
from sqlalchemy import func, select

from core.security import create_token
from core.settings import get_settings
from db.engine import open_session
from db.models import Job
from queueing.embedded_redis import free_port
from results.signing import sign
from schemas.analysis import AnalysisEvent
from tests.conftest import SAMPLES, bearer

WAV = (SAMPLES / "hello.wav").read_bytes()


@pytest.fixture
def client(app_env: Path, fake_redis: fakeredis.FakeRedis) -> Iterator[TestClient]:
    from main import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


def upload(client: TestClient, data: bytes = WAV, user: str = "alice", name: str = "clip.wav", **form: str):
    return client.post("/api/audio", headers=bearer(user), files={"file": (name, data, "audio/wav")}, data=form)


def job_rows() -> int:
    with open_session(get_settings().sqlalchemy_url) as session:
        return session.scalar(select(func.count()).select_from(Job)) or 0


def stored_files(data_dir: Path) -> list[Path]:
    root = data_dir / "storage"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_upload_is_answered_202_and_enqueued_with_retry_and_timeout(
    client: TestClient, fake_redis: fakeredis.FakeRedis, app_env: Path
) -> None:
    response = upload(client)

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["queue"] == "audio_analysis"
    assert body["position"] == 0
    rq_job = Queue("audio_analysis", connection=fake_redis).fetch_job(body["job_id"])
    assert rq_job is not None
    assert rq_job.func_name == "tasks.audio_analysis.process_audio_analysis"
    assert rq_job.kwargs["job_id"] == body["job_id"]
    assert rq_job.kwargs["s3_url"].startswith("local://audio/")
    assert rq_job.kwargs["token_info"] == {"sub": "alice", "role": None}
    assert rq_job.retries_left == 3
    assert rq_job.timeout == 15 * 60
    assert job_rows() == 1
    assert len(stored_files(app_env)) == 1


def test_priority_picks_the_queue_and_position_counts_jobs_ahead(client: TestClient) -> None:
    first, second = upload(client).json(), upload(client).json()
    urgent = upload(client, priority="high").json()
    later = upload(client).json()

    assert (first["position"], second["position"]) == (0, 1)
    assert urgent["queue"] == "high_priority"
    assert urgent["position"] == 0
    assert later["position"] == 3  # behind two normal jobs and the high-priority one
    assert later["estimated_wait_s"] > 0


def test_owner_reads_the_job_and_nobody_else_does(client: TestClient) -> None:
    job_id = upload(client, user="alice").json()["job_id"]

    mine = client.get(f"/api/jobs/{job_id}", headers=bearer("alice"))
    theirs = client.get(f"/api/jobs/{job_id}", headers=bearer("mallory"))

    assert mine.status_code == 200
    assert mine.json()["status"] == "queued"
    assert mine.json()["result"] is None
    assert theirs.status_code == 404
    assert theirs.json()["error"]["code"] == "job_not_found"


def truncated(data: bytes) -> bytes:
    return data[:1024]


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 400, "empty_file"),
        (b"just some text, renamed to .wav\n" * 20, 415, "unsupported_media_type"),
        (b"\x89PNG\r\n\x1a\n" + bytes(2000), 415, "unsupported_media_type"),
        (truncated(WAV), 400, "undecodable_audio"),
        (truncated((SAMPLES / "meeting.flac").read_bytes()), 400, "undecodable_audio"),
        (WAV[:44], 400, "undecodable_audio"),
        (b"RIFF\x00\x00\x00\x00WAVE" + bytes(5000), 400, "undecodable_audio"),
    ],
    ids=["empty", "text", "image", "truncated-wav", "truncated-flac", "header-only", "garbage-wav"],
)
def test_bad_audio_is_refused_and_leaves_nothing_behind(
    client: TestClient, app_env: Path, data: bytes, status: int, code: str
) -> None:
    response = upload(client, data)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert job_rows() == 0
    assert stored_files(app_env) == []


def test_missing_file_is_a_400(client: TestClient) -> None:
    response = client.post("/api/audio", headers=bearer("alice"), data={"priority": "high"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_file"


def test_unknown_priority_is_a_400(client: TestClient) -> None:
    response = upload(client, priority="urgent")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert job_rows() == 0


def test_over_max_upload_is_413_by_declared_length(
    client: TestClient, app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()

    response = upload(client, WAV + bytes(2 * 1024 * 1024))

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert job_rows() == 0
    assert stored_files(app_env) == []


def test_over_max_upload_is_413_while_streaming(
    client: TestClient, app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    sent: list[int] = []

    def body() -> Iterator[bytes]:  # chunked: no Content-Length to refuse it by
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n' + WAV
        for _ in range(64):
            sent.append(1)
            yield bytes(64 * 1024)
        yield b"\r\n--b--\r\n"

    response = client.post(
        "/api/audio",
        headers={**bearer("alice"), "Content-Type": "multipart/form-data; boundary=b"},
        content=body(),
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert job_rows() == 0
    assert stored_files(app_env) == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic YWxpY2U6cHc="}],
    ids=["missing", "garbage", "wrong-scheme"],
)
def test_missing_or_invalid_token_is_401(client: TestClient, headers: dict[str, str]) -> None:
    for response in (
        client.post("/api/audio", headers=headers, files={"file": ("a.wav", WAV)}),
        client.get("/api/jobs/abc", headers=headers),
    ):
        assert response.status_code == 401
        assert response.json()["error"]["code"] in ("missing_token", "invalid_token")
    assert job_rows() == 0


def test_token_signed_with_another_secret_is_401(client: TestClient) -> None:
    forged = create_token(b"another-secret-entirely-0123456789abcdef", "alice")

    response = client.get("/api/jobs/abc", headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_unknown_job_and_unknown_route_are_json_404(client: TestClient) -> None:
    job = client.get("/api/jobs/0123456789abcdef", headers=bearer("alice"))
    route = client.get("/nowhere")

    assert (job.status_code, job.json()["error"]["code"]) == (404, "job_not_found")
    assert (route.status_code, route.json()["error"]["code"]) == (404, "not_found")


def dead_redis() -> redis.Redis:
    return redis.Redis(port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5)


def test_redis_down_without_fallback_is_503_with_retry_after_and_nothing_left(
    client: TestClient, app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FALLBACK_TO_BACKGROUND", "false")
    get_settings.cache_clear()
    monkeypatch.setattr("queueing.dispatch.get_redis", lambda _: dead_redis())

    response = upload(client)

    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.json()["error"]["code"] == "queue_unavailable"
    assert job_rows() == 0
    assert stored_files(app_env) == []


def test_redis_down_falls_back_to_background(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    monkeypatch.setattr("queueing.dispatch.get_redis", lambda _: dead_redis())
    monkeypatch.setattr("queueing.dispatch.process_audio_analysis", lambda **kwargs: ran.append(kwargs["job_id"]))

    response = upload(client)

    assert response.status_code == 202
    assert response.json()["queue"] == "background"
    job_id = response.json()["job_id"]
    assert ran == [job_id]
    assert client.get(f"/api/jobs/{job_id}", headers=bearer("alice")).json()["queue"] == "background"


def test_a_full_queue_refuses_uploads_with_503_and_nothing_left(
    client: TestClient, app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUEUE_MAX_LENGTH", "2")
    get_settings.cache_clear()
    accepted = [upload(client).status_code for _ in range(2)]

    refused = upload(client)

    assert accepted == [202, 202]
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "queue_full"
    assert int(refused.headers["Retry-After"]) > 0
    assert job_rows() == 2
    assert len(stored_files(app_env)) == 2


def test_idempotency_key_returns_the_first_job(client: TestClient, app_env: Path) -> None:
    def send(user: str, key: str) -> "httpx.Response":
        return client.post(
            "/api/audio", headers={**bearer(user), "Idempotency-Key": key}, files={"file": ("a.wav", WAV)}
        )

    first, again, other_user, other_key = (
        send("alice", "k-1"),
        send("alice", "k-1"),
        send("bob", "k-1"),
        send("alice", "k-2"),
    )

    assert first.status_code == again.status_code == 202
    assert again.json()["job_id"] == first.json()["job_id"]
    assert len({first.json()["job_id"], other_user.json()["job_id"], other_key.json()["job_id"]}) == 3
    assert job_rows() == 3
    assert len(stored_files(app_env)) == 3
    assert send("alice", "x" * 300).status_code == 400


def test_flag_is_read_per_request(
    client: TestClient, fake_redis: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[dict[str, object]] = []
    monkeypatch.setattr("queueing.dispatch.process_audio_analysis", lambda **kwargs: ran.append(kwargs))

    queued = upload(client).json()
    monkeypatch.setenv("USE_RQ_QUEUE", "false")
    get_settings.cache_clear()
    background = upload(client).json()

    assert queued["queue"] == "audio_analysis"
    assert background["queue"] == "background"
    assert [call["job_id"] for call in ran] == [background["job_id"]]
    assert Queue("audio_analysis", connection=fake_redis).job_ids == [queued["job_id"]]


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


def test_health(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}


def test_upload_reads_the_file_from_a_stream(client: TestClient) -> None:
    response = client.post("/api/audio", headers=bearer("bob"), files={"file": ("x", io.BytesIO(WAV))})

    assert response.status_code == 202


def test_events_with_redis_down_are_a_json_503(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = upload(client).json()["job_id"]
    monkeypatch.setattr("api.routers.job_events_router.redis_url", lambda _: f"redis://127.0.0.1:{free_port()}/0")

    for headers in ({}, {"Last-Event-ID": "1-0"}):
        response = client.get(f"/api/jobs/{job_id}/events", headers={**bearer("alice"), **headers})

        assert response.status_code == 503
        assert response.json()["error"]["code"] == "events_unavailable"
        assert "Retry-After" in response.headers


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


def test_stored_keys_never_come_from_the_client_file_name(client: TestClient, app_env: Path) -> None:
    response = upload(client, name="../../../etc/passwd.wav")

    assert response.status_code == 202
    [stored] = stored_files(app_env)
    assert stored.is_relative_to(app_env / "storage" / "audio")
    assert "passwd" not in str(stored)
    assert stored.name.startswith(response.json()["job_id"])

"""`POST /api/audio`, in process (TestClient) with fakeredis as the queue: what is accepted, what is refused."""

import io
import wave
from collections.abc import Iterator
from pathlib import Path

import fakeredis
import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from rq import Queue

from core.settings import get_settings
from db.engine import open_session
from db.models import Job
from queueing.embedded_redis import free_port
from tasks.audio_analysis import TaskArgs
from tests.conftest import SAMPLES, bearer
from tests.unit.api.helpers import WAV, job_rows, live_worker, stored_files, upload


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
    assert rq_job.func_name == "workers.rq_job.run_analysis"
    assert rq_job.kwargs["job_id"] == body["job_id"]
    assert rq_job.kwargs["audio_url"].startswith("local://audio/")
    assert rq_job.kwargs["owner_id"] == "alice"
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


def silent_wav(seconds: float, rate: int = 8000) -> bytes:
    """`seconds` of 8 kHz 16-bit silence as a WAV (61 s: under 1 MB)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(2 * round(seconds * rate)))
    return out.getvalue()


def test_audio_longer_than_max_audio_minutes_is_413_and_leaves_nothing_behind(
    client: TestClient, app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_AUDIO_MINUTES", "1")
    get_settings.cache_clear()

    assert upload(client, silent_wav(59)).status_code == 202
    response = upload(client, silent_wav(61))

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "audio_too_long"
    assert job_rows() == 1
    assert len(stored_files(app_env)) == 1


def test_the_duration_is_measured_not_read_from_the_header(
    client: TestClient, app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_AUDIO_MINUTES", "1")
    get_settings.cache_clear()
    flac = bytearray((SAMPLES / "meeting.flac").read_bytes())  # 6.06 s
    flac[18:26] = (int.from_bytes(flac[18:26], "big") | (1 << 36) - 1).to_bytes(
        8, "big"
    )  # STREAMINFO: 18 days at 44.1 kHz

    response = upload(client, bytes(flac), name="meeting.flac")

    assert response.status_code == 202
    with open_session(get_settings().sqlalchemy_url) as session:
        job = session.get(Job, response.json()["job_id"])
        assert job is not None
        assert job.audio_duration_s == pytest.approx(6.06, abs=0.1)


def dead_redis() -> redis.Redis:
    return redis.Redis(port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5)


def test_redis_down_without_fallback_is_503_with_retry_after_and_nothing_left(
    client: TestClient, app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FALLBACK_TO_BACKGROUND", "false")
    get_settings.cache_clear()
    monkeypatch.setattr("services.dispatch.get_redis", lambda _: dead_redis())

    response = upload(client)

    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.json()["error"]["code"] == "queue_unavailable"
    assert job_rows() == 0
    assert stored_files(app_env) == []


def test_redis_down_falls_back_to_background(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    monkeypatch.setattr("services.dispatch.get_redis", lambda _: dead_redis())
    monkeypatch.setattr("services.dispatch.run_in_process", lambda args: ran.append(args.job_id))

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
    ran: list[TaskArgs] = []
    monkeypatch.setattr("services.dispatch.run_in_process", ran.append)

    queued = upload(client).json()
    monkeypatch.setenv("USE_RQ_QUEUE", "false")
    get_settings.cache_clear()
    background = upload(client).json()

    assert queued["queue"] == "audio_analysis"
    assert background["queue"] == "background"
    assert [args.job_id for args in ran] == [background["job_id"]]
    assert Queue("audio_analysis", connection=fake_redis).job_ids == [queued["job_id"]]


def test_upload_reads_the_file_from_a_stream(client: TestClient) -> None:
    response = client.post("/api/audio", headers=bearer("bob"), files={"file": ("x", io.BytesIO(WAV))})

    assert response.status_code == 202


def test_stored_keys_never_come_from_the_client_file_name(client: TestClient, app_env: Path) -> None:
    response = upload(client, name="../../../etc/passwd.wav")

    assert response.status_code == 202
    [stored] = stored_files(app_env)
    assert stored.is_relative_to(app_env / "storage" / "audio")
    assert "passwd" not in str(stored)
    assert stored.name.startswith(response.json()["job_id"])


def test_diarize_goes_to_the_diarization_queue_with_its_speaker_bounds(
    client: TestClient, fake_redis: fakeredis.FakeRedis
) -> None:
    live_worker(fake_redis, diarizes=True)

    normal = upload(client, diarize="true", min_speakers="2", max_speakers="3").json()
    urgent = upload(client, diarize="true", priority="high").json()

    assert (normal["queue"], urgent["queue"]) == ("audio_analysis_diarize", "high_priority_diarize")
    rq_job = Queue("audio_analysis_diarize", connection=fake_redis).fetch_job(normal["job_id"])
    assert rq_job is not None
    assert (rq_job.kwargs["diarize"], rq_job.kwargs["min_speakers"], rq_job.kwargs["max_speakers"]) == (True, 2, 3)


def test_diarize_with_no_worker_that_can_is_503_and_leaves_nothing_behind(
    client: TestClient, fake_redis: fakeredis.FakeRedis, app_env: Path
) -> None:
    live_worker(fake_redis, diarizes=False)

    refused = upload(client, diarize="true")

    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "diarization_unavailable"
    assert int(refused.headers["Retry-After"]) > 0
    assert (job_rows(), stored_files(app_env)) == (0, [])


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"diarize": "true", "min_speakers": "3", "max_speakers": "2"}, "invalid_speakers"),
        ({"diarize": "true", "max_speakers": "16"}, "invalid_speakers"),
        ({"diarize": "true", "min_speakers": "0"}, "invalid_speakers"),
        ({"max_speakers": "2"}, "speakers_without_diarize"),
    ],
)
def test_speaker_bounds_that_make_no_sense_are_a_400(
    client: TestClient, fake_redis: fakeredis.FakeRedis, form: dict[str, str], code: str
) -> None:
    live_worker(fake_redis, diarizes=True)

    refused = upload(client, **form)

    assert (refused.status_code, refused.json()["error"]["code"]) == (400, code)
    assert job_rows() == 0

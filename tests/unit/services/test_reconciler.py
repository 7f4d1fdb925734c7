"""The reconciler (database vs Redis) and the admin requeue, on fakeredis with the real database."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fakeredis
import pytest
from fastapi.testclient import TestClient
from rq import Queue
from sqlalchemy import update

from core.settings import get_settings
from db.engine import open_session
from db.job_repository import JobRepository
from db.models import Job, JobStatus
from results import outbox
from schemas.analysis import AnalysisEvent, AnalysisResult
from services.reconciler import reconcile, reconcile_if_leader
from tests.conftest import SAMPLES, bearer
from workers.rq_job import part_job_id, remember_parts


@pytest.fixture
def client(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("RECONCILE_INTERVAL_S", "1")
    monkeypatch.setattr("services.dispatch.run_in_process", lambda _args: None)  # no model here
    get_settings.cache_clear()
    from main import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


def upload(client: TestClient) -> str:
    audio = (SAMPLES / "hello.wav").read_bytes()
    return str(client.post("/api/audio", headers=bearer("alice"), files={"file": ("a.wav", audio)}).json()["job_id"])


def age(job_id: str, seconds: int = 120, **fields: object) -> None:
    """Make the job look older than the reconciler's minimum age (and set any other fields)."""
    created = datetime.now(UTC) - timedelta(seconds=seconds)
    with open_session(get_settings().sqlalchemy_url) as session:
        session.execute(update(Job).where(Job.id == job_id).values(created_at=created, **fields))
        session.commit()


def row(job_id: str) -> Job:
    with open_session(get_settings().sqlalchemy_url) as session:
        job = JobRepository(session).get(job_id)
        assert job is not None
        return job


def test_a_job_redis_forgot_is_enqueued_again(client: TestClient, fake_redis: fakeredis.FakeRedis) -> None:
    job_id = upload(client)
    age(job_id)
    fake_redis.flushall()  # Redis restarted empty

    done = reconcile(get_settings())

    assert done.requeued == [job_id]
    assert Queue("audio_analysis", connection=fake_redis).job_ids == [job_id]
    assert row(job_id).status == JobStatus.QUEUED


def test_a_job_too_young_or_still_in_redis_is_left_alone(client: TestClient) -> None:
    young, queued = upload(client), upload(client)
    age(queued)

    done = reconcile(get_settings())

    assert (done.requeued, done.recovered, done.failed) == ([], [], [])
    assert row(young).status == row(queued).status == JobStatus.QUEUED


def test_a_result_kept_by_a_worker_is_recorded(client: TestClient, fake_redis: fakeredis.FakeRedis) -> None:
    job_id = upload(client)
    age(job_id)
    fake_redis.flushall()
    result = AnalysisResult(text="kept for later", language="en", duration=6.4, segments=[])
    kept = AnalysisEvent(
        job_id=job_id, event="completed", attempt=1, worker_id="w1", occurred_at=datetime.now(UTC), result=result
    )
    outbox.keep(kept, get_settings())

    done = reconcile(get_settings())

    assert done.recovered == [job_id]
    assert row(job_id).status == JobStatus.COMPLETED
    assert row(job_id).result == result.model_dump(mode="json", exclude_none=True)
    assert outbox.load(job_id, get_settings()) is None
    assert Queue("audio_analysis", connection=fake_redis).job_ids == []  # recorded, not transcribed again


def test_a_job_rq_failed_without_a_word_is_failed_as_worker_lost(
    client: TestClient, fake_redis: fakeredis.FakeRedis
) -> None:
    job_id = upload(client)
    age(job_id, status=JobStatus.STARTED, started_at=datetime.now(UTC) - timedelta(seconds=100))
    rq_job = Queue("audio_analysis", connection=fake_redis).fetch_job(job_id)
    assert rq_job is not None
    rq_job.set_status("failed")

    done = reconcile(get_settings())

    assert done.failed == [job_id]
    assert (row(job_id).status, row(job_id).error_code) == (JobStatus.FAILED, "worker_lost")


def test_a_job_started_too_long_ago_runs_again(client: TestClient, fake_redis: fakeredis.FakeRedis) -> None:
    job_id = upload(client)
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    age(job_id, seconds=3600, status=JobStatus.STARTED, started_at=long_ago)

    done = reconcile(get_settings())

    assert done.requeued == [job_id]
    assert row(job_id).status == JobStatus.QUEUED


def test_a_long_recording_s_job_is_left_alone_while_rq_has_its_chunks(
    client: TestClient, fake_redis: fakeredis.FakeRedis
) -> None:
    job_id = upload(client)
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    age(job_id, seconds=3600, status=JobStatus.STARTED, started_at=long_ago)
    Queue("audio_analysis", connection=fake_redis).fetch_job(job_id).delete()  # type: ignore[union-attr]
    chunk = Queue("audio_analysis", connection=fake_redis).enqueue(print, job_id=part_job_id(job_id, 0))
    remember_parts(fake_redis, job_id, [chunk.id])

    left_alone = reconcile(get_settings())
    chunk.delete()  # RQ forgot the chunk too (a flushed Redis): now the job runs again
    done = reconcile(get_settings())

    assert left_alone.requeued == []
    assert done.requeued == [job_id]


def test_only_one_api_process_reconciles_per_interval(client: TestClient, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.delete("transcribe:reconciler:lock")
    settings = get_settings().model_copy(update={"reconcile_interval_s": 60})

    first, second = reconcile_if_leader(settings), reconcile_if_leader(settings)

    assert first is not None
    assert second is None


def fail(job_id: str) -> None:
    with open_session(get_settings().sqlalchemy_url) as session:
        session.execute(
            update(Job).where(Job.id == job_id).values(status=JobStatus.FAILED, error_code="processing_failed")
        )
        session.commit()


def test_admin_requeues_a_failed_job(client: TestClient, fake_redis: fakeredis.FakeRedis) -> None:
    job_id = upload(client)
    fail(job_id)
    Queue("audio_analysis", connection=fake_redis).empty()

    not_admin = client.post(f"/api/admin/jobs/{job_id}/requeue", headers=bearer("alice"))
    requeued = client.post(f"/api/admin/jobs/{job_id}/requeue", headers=bearer("root", role="admin"))
    again = client.post(f"/api/admin/jobs/{job_id}/requeue", headers=bearer("root", role="admin"))
    unknown = client.post("/api/admin/jobs/nope/requeue", headers=bearer("root", role="admin"))

    assert (not_admin.status_code, not_admin.json()["error"]["code"]) == (403, "admin_only")
    assert requeued.status_code == 200
    assert (requeued.json()["status"], requeued.json()["error"]) == ("queued", None)
    assert Queue("audio_analysis", connection=fake_redis).job_ids == [job_id]
    assert (again.status_code, again.json()["error"]["code"]) == (409, "job_not_failed")
    assert unknown.status_code == 404

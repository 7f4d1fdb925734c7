"""`db.job_repository.JobRepository`: the job status transitions, on a migrated SQLite database."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from db.engine import get_engine, migrate, open_session
from db.job_repository import JobRepository
from db.models import Job, JobStatus
from schemas.analysis import AnalysisEvent, AnalysisResult, JobErrorBody, Segment

OWNER = "user-1"
T0 = datetime(2026, 1, 2, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/t.db"
    migrate(url)
    yield url
    get_engine(url).dispose()


def make_job(job_id: str = "job1", owner_id: str = OWNER, **overrides: object) -> Job:
    fields: dict[str, object] = {
        "id": job_id,
        "owner_id": owner_id,
        "status": JobStatus.QUEUED,
        "queue": "audio_analysis",
        "priority": "normal",
        "audio_url": f"local://audio/2026/01/02/{job_id}-00000000.wav",
        "audio_format": "wav",
        "audio_bytes": 1234,
        "progress": 0,
        "retry_count": 0,
    }
    fields.update(overrides)
    return Job(**fields)


def make_result(text: str = "hello world", duration: float = 6.36) -> AnalysisResult:
    return AnalysisResult(
        text=text, language="en", duration=duration, segments=[Segment(start=0.0, end=duration, text=text)]
    )


def make_event(
    event: str,
    job_id: str = "job1",
    attempt: int = 1,
    occurred_at: datetime | None = None,
    result: AnalysisResult | None = None,
    error: JobErrorBody | None = None,
    worker_id: str = "worker-a",
) -> AnalysisEvent:
    return AnalysisEvent(
        job_id=job_id,
        event=event,
        attempt=attempt,
        worker_id=worker_id,
        occurred_at=occurred_at or datetime.now(UTC),
        result=result,
        error=error,
    )


def started(job_id: str = "job1", attempt: int = 1, at: datetime = T0) -> AnalysisEvent:
    return make_event("started", job_id, attempt, at)


def completed(
    job_id: str = "job1", at: datetime = T0 + timedelta(seconds=8), text: str = "hello world", duration: float = 6.36
) -> AnalysisEvent:
    return make_event("completed", job_id, occurred_at=at, result=make_result(text, duration))


def failed(job_id: str = "job1", at: datetime = T0 + timedelta(seconds=3)) -> AnalysisEvent:
    error = JobErrorBody(code="audio_undecodable", message="The audio cannot be decoded.")
    return make_event("failed", job_id, occurred_at=at, error=error)


def add_job(url: str, job: Job | None = None) -> None:
    with open_session(url) as session:
        JobRepository(session).add(job or make_job())
        session.commit()


def apply(url: str, event: AnalysisEvent) -> bool:
    with open_session(url) as session:
        repo = JobRepository(session)
        job = repo.get(event.job_id)
        assert job is not None
        changed = repo.apply(job, event)
        session.commit()
        return changed


def load(url: str, job_id: str = "job1") -> Job:
    with open_session(url) as session:
        job = JobRepository(session).get(job_id)
        assert job is not None
        return job


def snapshot(job: Job) -> dict[str, object]:
    columns = [c.key for c in Job.__table__.columns if c.key != "updated_at"]
    return {name: getattr(job, name) for name in columns}


def test_added_job_reads_back(db_url: str) -> None:
    add_job(db_url)
    job = load(db_url)
    assert job.status == JobStatus.QUEUED
    assert job.owner_id == OWNER
    assert job.started_at is None
    assert job.created_at.tzinfo is not None


def test_started_marks_the_job_started(db_url: str) -> None:
    add_job(db_url)
    assert apply(db_url, started()) is True
    job = load(db_url)
    assert job.status == JobStatus.STARTED
    assert job.started_at == T0
    assert job.current_step == "downloading"
    assert job.progress == 0
    assert job.retry_count == 0
    assert job.worker_id == "worker-a"
    assert job.completed_at is None


def test_completed_stores_the_result(db_url: str) -> None:
    add_job(db_url)
    apply(db_url, started())
    assert apply(db_url, completed(text="hello there", duration=6.36)) is True
    job = load(db_url)
    assert job.status == JobStatus.COMPLETED
    assert job.progress == 100
    assert job.current_step is None
    assert job.completed_at == T0 + timedelta(seconds=8)
    assert job.audio_duration_s == pytest.approx(6.36)
    assert job.result == {
        "text": "hello there",
        "language": "en",
        "duration": 6.36,
        "segments": [{"start": 0.0, "end": 6.36, "text": "hello there"}],
    }
    assert job.error_code is None


def test_failed_stores_the_error(db_url: str) -> None:
    add_job(db_url)
    apply(db_url, started())
    assert apply(db_url, failed()) is True
    job = load(db_url)
    assert job.status == JobStatus.FAILED
    assert job.error_code == "audio_undecodable"
    assert job.error_message == "The audio cannot be decoded."
    assert job.completed_at == T0 + timedelta(seconds=3)
    assert job.current_step is None
    assert job.result is None


def test_replayed_completed_changes_nothing(db_url: str) -> None:
    add_job(db_url)
    apply(db_url, started())
    apply(db_url, completed())
    before = snapshot(load(db_url))
    replay = completed(at=T0 + timedelta(minutes=5), text="something else", duration=1.0)
    assert apply(db_url, replay) is False
    assert snapshot(load(db_url)) == before


def test_failed_after_completed_changes_nothing(db_url: str) -> None:
    add_job(db_url)
    apply(db_url, completed())
    before = snapshot(load(db_url))
    assert apply(db_url, failed(at=T0 + timedelta(minutes=1))) is False
    assert snapshot(load(db_url)) == before


def test_started_after_completed_changes_nothing(db_url: str) -> None:
    add_job(db_url)
    apply(db_url, started())
    apply(db_url, completed())
    before = snapshot(load(db_url))
    assert apply(db_url, started(attempt=2, at=T0 + timedelta(minutes=1))) is False
    job = load(db_url)
    assert job.status == JobStatus.COMPLETED
    assert snapshot(job) == before


def test_started_on_a_retry_counts_the_retry(db_url: str) -> None:
    add_job(db_url)
    apply(db_url, started(attempt=1))
    assert apply(db_url, started(attempt=2, at=T0 + timedelta(seconds=30))) is True
    job = load(db_url)
    assert job.status == JobStatus.STARTED
    assert job.retry_count == 1
    assert job.started_at == T0 + timedelta(seconds=30)


def test_first_started_seen_on_attempt_two_counts_the_retry(db_url: str) -> None:
    add_job(db_url)
    assert apply(db_url, started(attempt=2)) is True
    assert load(db_url).retry_count == 1


def test_replayed_started_changes_nothing(db_url: str) -> None:
    add_job(db_url)
    apply(db_url, started(attempt=1))
    before = snapshot(load(db_url))
    assert apply(db_url, started(attempt=1, at=T0 + timedelta(seconds=5))) is False
    assert snapshot(load(db_url)) == before


def test_late_started_of_an_earlier_attempt_changes_nothing(db_url: str) -> None:
    add_job(db_url)
    apply(db_url, started(attempt=2))
    before = snapshot(load(db_url))
    assert apply(db_url, started(attempt=1, at=T0 + timedelta(seconds=5))) is False
    assert snapshot(load(db_url)) == before


def test_completed_without_result_changes_nothing(db_url: str) -> None:
    add_job(db_url)
    apply(db_url, started())
    before = snapshot(load(db_url))
    assert apply(db_url, make_event("completed", occurred_at=T0 + timedelta(seconds=8))) is False
    assert snapshot(load(db_url)) == before


def test_get_for_owner(db_url: str) -> None:
    add_job(db_url)
    with open_session(db_url) as session:
        repo = JobRepository(session)
        owned = repo.get_for_owner("job1", OWNER)
        assert owned is not None
        assert owned.id == "job1"
        assert repo.get_for_owner("job1", "someone-else") is None
        assert repo.get_for_owner("no-such-job", OWNER) is None


def test_processing_rate_is_none_without_completed_jobs(db_url: str) -> None:
    add_job(db_url)
    apply(db_url, started())
    apply(db_url, failed())
    with open_session(db_url) as session:
        assert JobRepository(session).seconds_per_audio_second() is None


def test_processing_rate_is_time_spent_over_audio_processed(db_url: str) -> None:
    for job_id, seconds, audio_s in (("job1", 4, 8.0), ("job2", 10, 12.0)):
        add_job(db_url, make_job(job_id))
        apply(db_url, started(job_id))
        apply(db_url, completed(job_id, at=T0 + timedelta(seconds=seconds), duration=audio_s))
    # Neither a failed job nor a completed one that never reported `started` counts.
    add_job(db_url, make_job("job3"))
    apply(db_url, started("job3"))
    apply(db_url, failed("job3", at=T0 + timedelta(seconds=100)))
    add_job(db_url, make_job("job4"))
    apply(db_url, completed("job4", at=T0 + timedelta(seconds=200)))
    with open_session(db_url) as session:
        assert JobRepository(session).seconds_per_audio_second() == pytest.approx(14 / 20)


def test_datetimes_read_back_as_aware_utc(db_url: str) -> None:
    add_job(db_url)
    plus_two = timezone(timedelta(hours=2))
    apply(db_url, started(at=datetime(2026, 1, 2, 12, 0, 0, tzinfo=plus_two)))
    apply(db_url, completed(at=datetime(2026, 1, 2, 10, 0, 9, tzinfo=UTC)))
    job = load(db_url)
    for value in (job.created_at, job.updated_at, job.started_at, job.completed_at):
        assert value is not None
        assert value.utcoffset() == timedelta(0)
        assert value.tzinfo == UTC
    assert job.started_at == datetime(2026, 1, 2, 10, 0, 0, tzinfo=UTC)
    assert job.completed_at is not None
    assert job.started_at is not None
    assert (job.completed_at - job.started_at).total_seconds() == 9


def test_queued_ahead_counts_high_priority_first_then_older_jobs_of_the_same_queue(db_url: str) -> None:
    def queued(job_id: str, queue: str, second: int, audio_s: float) -> Job:
        priority = "high" if queue == "high_priority" else "normal"
        created = T0 + timedelta(seconds=second)
        return make_job(job_id, queue=queue, priority=priority, created_at=created, audio_duration_s=audio_s)

    add_job(db_url, queued("n1", "audio_analysis", 1, 10.0))
    add_job(db_url, queued("n2", "audio_analysis", 2, 20.0))
    add_job(db_url, queued("h1", "high_priority", 3, 5.0))
    add_job(db_url, queued("n3", "audio_analysis", 4, 40.0))
    add_job(db_url, queued("h2", "high_priority", 5, 7.0))
    add_job(db_url, queued("b1", "background", 0, 99.0))
    apply(db_url, started("n1"))  # taken by a worker: no longer ahead of anyone
    with open_session(db_url) as session:
        repo = JobRepository(session)

        assert repo.queued_ahead(load(db_url, "n2")) == (2, 12.0)  # both high-priority jobs, none older
        assert repo.queued_ahead(load(db_url, "n3")) == (3, 32.0)  # n2 and both high-priority jobs
        assert repo.queued_ahead(load(db_url, "h1")) == (0, 0.0)
        assert repo.queued_ahead(load(db_url, "h2")) == (1, 5.0)
        assert repo.queued_ahead(load(db_url, "b1")) == (0, 0.0)

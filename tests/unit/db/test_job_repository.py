"""`db.job_repository.JobRepository`: the job status transitions, on a migrated SQLite database."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from db.engine import get_engine, migrate, open_session
from db.job_repository import CompletedSpan, JobRepository
from db.models import Job, JobStatus

OWNER = "user-1"
T0 = datetime(2026, 1, 2, 10, 0, 0, tzinfo=UTC)

Event = dict[str, Any]
"""A task's event as `JobRepository.apply` takes it, plus the `job_id` it is for."""


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


def make_result(text: str = "hello world", duration: float = 6.36) -> dict[str, Any]:
    return {
        "text": text,
        "language": "en",
        "duration": duration,
        "segments": [{"start": 0.0, "end": duration, "text": text}],
    }


def make_event(
    kind: str,
    job_id: str = "job1",
    attempt: int = 1,
    occurred_at: datetime | None = None,
    worker_id: str = "worker-a",
    **payload: object,
) -> Event:
    return {
        "job_id": job_id,
        "kind": kind,
        "attempt": attempt,
        "worker_id": worker_id,
        "occurred_at": occurred_at or datetime.now(UTC),
        **payload,
    }


def started(job_id: str = "job1", attempt: int = 1, at: datetime = T0) -> Event:
    return make_event("started", job_id, attempt, at)


def completed(
    job_id: str = "job1", at: datetime = T0 + timedelta(seconds=8), text: str = "hello world", duration: float = 6.36
) -> Event:
    return make_event("completed", job_id, occurred_at=at, result=make_result(text, duration), duration_s=duration)


def failed(job_id: str = "job1", at: datetime = T0 + timedelta(seconds=3)) -> Event:
    return make_event(
        "failed", job_id, occurred_at=at, error_code="audio_undecodable", error_message="The audio cannot be decoded."
    )


def add_job(url: str, job: Job | None = None) -> None:
    with open_session(url) as session:
        JobRepository(session).add(job or make_job())
        session.commit()


def apply(url: str, event: Event) -> bool:
    fields = dict(event)
    job_id, kind = fields.pop("job_id"), fields.pop("kind")
    with open_session(url) as session:
        repo = JobRepository(session)
        job = repo.get(job_id)
        assert job is not None
        changed = repo.apply(job, kind, **fields)
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


@pytest.mark.parametrize("kind", ["completed", "failed", "exploded"])
def test_event_without_its_payload_changes_nothing(db_url: str, kind: str) -> None:
    add_job(db_url)
    apply(db_url, started())
    before = snapshot(load(db_url))
    assert apply(db_url, make_event(kind, occurred_at=T0 + timedelta(seconds=8))) is False  # no result, no error
    assert snapshot(load(db_url)) == before


def cancel(url: str, at: datetime, job_id: str = "job1") -> bool:
    with open_session(url) as session:
        repo = JobRepository(session)
        job = repo.get(job_id)
        assert job is not None
        changed = repo.cancel(job, at)
        session.commit()
        return changed


@pytest.mark.parametrize("first", [None, "started"])
def test_cancel_ends_an_unfinished_job(db_url: str, first: str | None) -> None:
    add_job(db_url)
    if first == "started":
        apply(db_url, started())
        assert load(db_url).current_step == "downloading"
    assert cancel(db_url, T0 + timedelta(seconds=4)) is True
    job = load(db_url)
    assert job.status == JobStatus.CANCELED
    assert job.completed_at == T0 + timedelta(seconds=4)
    assert job.current_step is None


@pytest.mark.parametrize("ending", [completed, failed])
def test_cancel_after_the_job_ended_changes_nothing(db_url: str, ending: Any) -> None:
    add_job(db_url)
    apply(db_url, started())
    apply(db_url, ending())
    before = snapshot(load(db_url))
    assert cancel(db_url, T0 + timedelta(minutes=1)) is False
    assert snapshot(load(db_url)) == before


def test_results_after_cancel_change_nothing(db_url: str) -> None:
    add_job(db_url)
    apply(db_url, started())
    cancel(db_url, T0 + timedelta(seconds=4))
    before = snapshot(load(db_url))
    assert apply(db_url, completed()) is False
    assert cancel(db_url, T0 + timedelta(seconds=9)) is False
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


def add_jobs_created(url: str, *jobs: tuple[str, int, JobStatus]) -> None:
    """Jobs (id, seconds after T0 it was created, status), as they are on the row."""
    for job_id, second, status in jobs:
        add_job(url, make_job(job_id, status=status, created_at=T0 + timedelta(seconds=second)))


def test_count_by_status_counts_the_jobs_created_since(db_url: str) -> None:
    add_jobs_created(
        db_url,
        ("old", -1, JobStatus.QUEUED),  # created before the window
        ("q1", 0, JobStatus.QUEUED),  # created at its start: counted
        ("q2", 5, JobStatus.QUEUED),
        ("s1", 6, JobStatus.STARTED),
        ("f1", 7, JobStatus.FAILED),
    )
    with open_session(db_url) as session:
        repo = JobRepository(session)
        counts = repo.count_by_status(T0)
        assert counts == {JobStatus.QUEUED: 2, JobStatus.STARTED: 1, JobStatus.FAILED: 1}
        assert repo.count_by_status(T0 + timedelta(seconds=6)) == {JobStatus.STARTED: 1, JobStatus.FAILED: 1}
        assert repo.count_by_status(T0 + timedelta(hours=1)) == {}


def test_completed_spans_are_the_started_jobs_completed_since(db_url: str) -> None:
    for job_id, finished in (("early", 2), ("job1", 8), ("job2", 20)):
        add_job(db_url, make_job(job_id))
        apply(db_url, started(job_id))
        apply(db_url, completed(job_id, at=T0 + timedelta(seconds=finished), duration=float(finished)))
    add_job(db_url, make_job("failed"))  # ended, but not completed
    apply(db_url, started("failed"))
    apply(db_url, failed("failed", at=T0 + timedelta(seconds=9)))
    add_job(db_url, make_job("unstarted"))  # completed without ever reporting `started`
    apply(db_url, completed("unstarted", at=T0 + timedelta(seconds=9)))
    with open_session(db_url) as session:
        spans = JobRepository(session).completed_spans(T0 + timedelta(seconds=5))
    assert sorted(spans, key=lambda span: span.completed_at) == [
        CompletedSpan(T0, T0 + timedelta(seconds=8), 8.0),
        CompletedSpan(T0, T0 + timedelta(seconds=20), 20.0),
    ]


def test_list_by_status_is_newest_first_and_limited(db_url: str) -> None:
    add_jobs_created(
        db_url,
        ("a", 1, JobStatus.QUEUED),
        ("b", 2, JobStatus.FAILED),
        ("c", 3, JobStatus.QUEUED),
        ("d", 4, JobStatus.QUEUED),
    )
    with open_session(db_url) as session:
        repo = JobRepository(session)
        assert [job.id for job in repo.list_by_status(JobStatus.QUEUED, 10)] == ["d", "c", "a"]
        assert [job.id for job in repo.list_by_status(JobStatus.QUEUED, 2)] == ["d", "c"]
        assert [job.id for job in repo.list_by_status(JobStatus.FAILED, 10)] == ["b"]
        assert repo.list_by_status(JobStatus.CANCELED, 10) == []

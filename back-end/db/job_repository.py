"""All SQL about jobs; the status transitions live here, in one place.

Repositories flush, they never commit: the request (or task) boundary commits.
"""

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from db.models import Job, JobStatus
from queueing.queues import (
    AUDIO_ANALYSIS,
    AUDIO_ANALYSIS_DIARIZE,
    DIARIZING_WORKER_QUEUES,
    HIGH_PRIORITY,
    HIGH_PRIORITY_DIARIZE,
    QueueName,
)

RECENT_JOBS_FOR_ESTIMATE = 20
"""How many recently completed jobs the wait estimate averages over."""

QUEUES_AHEAD: dict[str, tuple[str, ...]] = {
    HIGH_PRIORITY: (HIGH_PRIORITY,),
    AUDIO_ANALYSIS: (HIGH_PRIORITY, AUDIO_ANALYSIS),
    HIGH_PRIORITY_DIARIZE: (HIGH_PRIORITY, HIGH_PRIORITY_DIARIZE),
    AUDIO_ANALYSIS_DIARIZE: DIARIZING_WORKER_QUEUES,
}
"""Queued jobs of these queues wait ahead of a job of the key's queue (workers take high_priority first)."""


class CompletedSpan(NamedTuple):
    """When a completed job started and finished, and how many seconds of audio it held."""

    started_at: datetime
    completed_at: datetime
    audio_duration_s: float | None


class JobRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, job: Job) -> Job:
        self.session.add(job)
        self.session.flush()
        return job

    def get(self, job_id: str) -> Job | None:
        return self.session.get(Job, job_id)

    def get_for_owner(self, job_id: str, owner_id: str) -> Job | None:
        job = self.get(job_id)
        return job if job is not None and job.owner_id == owner_id else None

    def delete(self, job: Job) -> None:
        self.session.delete(job)
        self.session.flush()

    def apply(
        self,
        job: Job,
        kind: str,
        *,
        attempt: int,
        worker_id: str,
        occurred_at: datetime,
        result: dict[str, Any] | None = None,
        duration_s: float | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> bool:
        """Apply a task's event (`started`, `completed` with its result, `failed` with its error).

        False when it changes nothing: a replay, a job already ended, or an event missing its payload.
        """
        if job.status.is_terminal:
            return False
        if kind == "started":
            if job.status == JobStatus.STARTED and job.retry_count >= attempt - 1:
                return False
            job.status = JobStatus.STARTED
            job.started_at = occurred_at
            job.retry_count = attempt - 1
            job.current_step = "downloading"  # the task reports its own steps from here on
            job.progress = 0
        elif kind == "completed" and result is not None:
            job.status = JobStatus.COMPLETED
            job.result = result
            job.audio_duration_s = duration_s
            job.progress = 100
            job.current_step = None
        elif kind == "failed" and error_code is not None:
            job.status = JobStatus.FAILED
            job.error_code = error_code
            job.error_message = error_message
            job.current_step = None
        else:
            return False
        if kind != "started":
            job.completed_at = occurred_at
            job.retry_count = max(job.retry_count, attempt - 1)
        job.worker_id = worker_id
        self.session.flush()
        return True

    def cancel(self, job: Job, at: datetime) -> bool:
        """Mark the job canceled at `at`; False, changing nothing, when it has already ended."""
        if job.status.is_terminal:
            return False
        job.status = JobStatus.CANCELED
        job.completed_at = at
        job.current_step = None
        self.session.flush()
        return True

    def unfinished(self, created_before: datetime) -> list[Job]:
        """Queued or started jobs older than `created_before`, oldest first (what the reconciler checks)."""
        query = (
            select(Job)
            .where(Job.status.in_((JobStatus.QUEUED, JobStatus.STARTED)), Job.created_at < created_before)
            .order_by(Job.created_at)
        )
        return list(self.session.scalars(query))

    def reset_to_queued(self, job: Job, queue: QueueName | None = None) -> None:
        """Back to the start, to be run again (a requeue by an admin, or a job Redis lost)."""
        job.status = JobStatus.QUEUED
        job.queue = queue or job.queue
        job.progress = 0
        job.current_step = None
        job.error_code = job.error_message = None
        job.started_at = job.completed_at = None
        self.session.flush()

    def find_by_idempotency_key(self, owner_id: str, key: str) -> Job | None:
        query = select(Job).where(Job.owner_id == owner_id, Job.idempotency_key == key)
        return self.session.scalars(query).first()

    def seconds_per_audio_second(self) -> float | None:
        """Processing time per second of audio, over the most recently completed jobs."""
        recent = (
            select(Job.started_at, Job.completed_at, Job.audio_duration_s)
            .where(Job.status == JobStatus.COMPLETED, Job.started_at.is_not(None), Job.audio_duration_s > 0)
            .order_by(Job.completed_at.desc())
            .limit(RECENT_JOBS_FOR_ESTIMATE)
        )
        rows = [((c - s).total_seconds(), d) for s, c, d in self.session.execute(recent) if s and c and d]
        return sum(spent for spent, _ in rows) / sum(audio for _, audio in rows) if rows else None

    def queued_ahead(self, job: Job) -> tuple[int, float]:
        """How many queued jobs a worker takes before `job`, and how many seconds of audio they hold."""
        queues = QUEUES_AHEAD.get(job.queue, ())
        same_queue_earlier = and_(Job.queue == job.queue, Job.created_at < job.created_at)
        higher_queues = Job.queue.in_([q for q in queues if q != job.queue])
        query = select(func.count(), func.coalesce(func.sum(Job.audio_duration_s), 0.0)).where(
            Job.status == JobStatus.QUEUED, Job.id != job.id, or_(same_queue_earlier, higher_queues)
        )
        count, audio_s = self.session.execute(query).one()
        return int(count), float(audio_s or 0.0)

    def count_by_status(self, created_since: datetime) -> dict[JobStatus, int]:
        """How many jobs created at or after `created_since` are in each status (absent: none)."""
        query = select(Job.status, func.count()).where(Job.created_at >= created_since).group_by(Job.status)
        return {status: int(count) for status, count in self.session.execute(query)}

    def completed_spans(self, completed_since: datetime) -> list[CompletedSpan]:
        """The jobs completed at or after `completed_since` that reported their start, in no order."""
        query = select(Job.started_at, Job.completed_at, Job.audio_duration_s).where(
            Job.status == JobStatus.COMPLETED, Job.completed_at >= completed_since, Job.started_at.is_not(None)
        )
        return [
            CompletedSpan(started, finished, audio_s)
            for started, finished, audio_s in self.session.execute(query)
            if started is not None and finished is not None
        ]

    def list_by_status(self, status: JobStatus, limit: int) -> list[Job]:
        """Up to `limit` jobs in `status`, newest first."""
        query = select(Job).where(Job.status == status).order_by(Job.created_at.desc()).limit(limit)
        return list(self.session.scalars(query))

"""All SQL about jobs; the status transitions live here, in one place.

Repositories flush, they never commit: the request (or task) boundary commits.
"""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Job, JobStatus
from schemas.analysis import AnalysisEvent

RECENT_JOBS_FOR_ESTIMATE = 20
"""How many recently completed jobs the wait estimate averages over."""


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

    def apply(self, job: Job, event: AnalysisEvent) -> bool:
        """Apply a task's event; False when it changes nothing (a replay, or a job already ended)."""
        if job.status.is_terminal:
            return False
        if event.event == "started":
            if job.status == JobStatus.STARTED and job.retry_count >= event.attempt - 1:
                return False
            job.status = JobStatus.STARTED
            job.started_at = event.occurred_at
            job.retry_count = event.attempt - 1
            job.current_step = "transcribing"
            job.progress = 0
        elif event.event == "completed" and event.result is not None:
            job.status = JobStatus.COMPLETED
            job.result = event.result.model_dump(mode="json")
            job.audio_duration_s = event.result.duration
            job.progress = 100
            job.current_step = None
        elif event.event == "failed" and event.error is not None:
            job.status = JobStatus.FAILED
            job.error_code = event.error.code
            job.error_message = event.error.message
            job.current_step = None
        else:
            return False
        if event.event != "started":
            job.completed_at = event.occurred_at
            job.retry_count = max(job.retry_count, event.attempt - 1)
        job.worker_id = event.worker_id
        self.session.flush()
        return True

    def mean_processing_s(self) -> float | None:
        """Mean start-to-finish time of the most recently completed jobs."""
        recent = (
            select(Job.started_at, Job.completed_at)
            .where(Job.status == JobStatus.COMPLETED, Job.started_at.is_not(None))
            .order_by(Job.completed_at.desc())
            .limit(RECENT_JOBS_FOR_ESTIMATE)
        )
        spans = [(c - s).total_seconds() for s, c in self.session.execute(recent) if s and c]
        return sum(spans) / len(spans) if spans else None

    def count_active(self, queue: str) -> int:
        active = (JobStatus.QUEUED, JobStatus.STARTED)
        query = select(func.count()).select_from(Job).where(Job.queue == queue, Job.status.in_(active))
        return self.session.scalar(query) or 0

"""What ops see: RQ's queues and workers as Redis has them, and the jobs' record as the database has it."""

import math
from datetime import UTC, datetime, timedelta

from redis import Redis
from rq import Queue, Worker
from rq.worker import BaseWorker
from sqlalchemy.orm import Session

from core.settings import Settings
from db.job_repository import JobRepository
from db.models import JobStatus
from queueing.queues import ALL_QUEUES
from schemas.job import job_error
from schemas.ops import AdminJob, JobStats, QueueCounts, QueueStatus, WorkerInfo


def queue_status(session: Session, connection: Redis, settings: Settings) -> QueueStatus:
    return QueueStatus(
        use_rq_queue=settings.use_rq_queue,
        queues={name: _counts(Queue(name, connection=connection)) for name in ALL_QUEUES},
        workers=[_worker(w) for w in Worker.all(connection=connection)],
        stats=job_stats(session),
    )


def job_stats(session: Session, now: datetime | None = None) -> JobStats:
    now = now or datetime.now(UTC)
    day_ago, hour_ago = now - timedelta(days=1), now - timedelta(hours=1)
    repository = JobRepository(session)

    def by_status(since: datetime) -> dict[str, int]:
        return {str(status): count for status, count in repository.count_by_status(since).items()}

    spans: list[float] = []
    audio_last_hour = 0.0
    for started, finished, audio_s in repository.completed_spans(day_ago):
        spans.append((finished - started).total_seconds())
        if finished >= hour_ago:
            audio_last_hour += audio_s or 0.0
    spans.sort()
    return JobStats(
        last_hour=by_status(hour_ago),
        last_day=by_status(day_ago),
        avg_processing_s=round(sum(spans) / len(spans), 3) if spans else None,
        p95_processing_s=round(spans[math.ceil(0.95 * len(spans)) - 1], 3) if spans else None,
        audio_s_per_wall_s=round(audio_last_hour / 3600, 4),
    )


def admin_jobs(session: Session, status: JobStatus, limit: int) -> list[AdminJob]:
    return [
        AdminJob(
            job_id=job.id,
            owner_id=job.owner_id,
            status=job.status,
            queue=job.queue,
            worker_id=job.worker_id,
            retry_count=job.retry_count,
            error=job_error(job),
            created_at=job.created_at,
            started_at=job.started_at,
            completed_at=job.completed_at,
        )
        for job in JobRepository(session).list_by_status(status, limit)
    ]


def _counts(queue: Queue) -> QueueCounts:
    return QueueCounts(
        queued=queue.count,
        started=queue.started_job_registry.count,
        scheduled=queue.scheduled_job_registry.count,
        deferred=queue.deferred_job_registry.count,
        finished=queue.finished_job_registry.count,
        failed=queue.failed_job_registry.count,
    )


def _worker(worker: BaseWorker) -> WorkerInfo:
    return WorkerInfo(
        name=worker.name,
        state=str(worker.get_state()),
        current_job=worker.get_current_job_id(),
        last_heartbeat=worker.last_heartbeat.replace(tzinfo=UTC) if worker.last_heartbeat else None,
        queues=worker.queue_names(),
    )

"""What ops see: RQ's queues and workers as Redis has them, and the jobs' record as the database has it."""

import math
from datetime import UTC, datetime, timedelta

from redis import Redis
from rq import Queue, Worker
from rq.worker import BaseWorker
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.settings import Settings
from db.models import Job, JobStatus
from queueing.queues import WORKER_QUEUES
from schemas.job import job_error
from schemas.ops import AdminJob, JobStats, QueueCounts, QueueStatus, WorkerInfo


def queue_status(session: Session, connection: Redis, settings: Settings) -> QueueStatus:
    return QueueStatus(
        use_rq_queue=settings.use_rq_queue,
        queues={name: _counts(Queue(name, connection=connection)) for name in WORKER_QUEUES},
        workers=[_worker(w) for w in Worker.all(connection=connection)],
        stats=job_stats(session),
    )


def job_stats(session: Session, now: datetime | None = None) -> JobStats:
    now = now or datetime.now(UTC)
    day_ago, hour_ago = now - timedelta(days=1), now - timedelta(hours=1)

    def by_status(since: datetime) -> dict[str, int]:
        query = select(Job.status, func.count()).where(Job.created_at >= since).group_by(Job.status)
        return {str(status): int(count) for status, count in session.execute(query)}

    completed = select(Job.started_at, Job.completed_at, Job.audio_duration_s).where(
        Job.status == JobStatus.COMPLETED, Job.completed_at >= day_ago, Job.started_at.is_not(None)
    )
    spans: list[float] = []
    audio_last_hour = 0.0
    for started, finished, audio_s in session.execute(completed):
        if started is None or finished is None:
            continue
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
    query = select(Job).where(Job.status == status).order_by(Job.created_at.desc()).limit(limit)
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
        for job in session.scalars(query)
    ]


def _counts(queue: Queue) -> QueueCounts:
    queued = queue.count
    failed = queue.failed_job_registry.count
    return QueueCounts(
        queued=queued,
        started=queue.started_job_registry.count,
        scheduled=queue.scheduled_job_registry.count,
        deferred=queue.deferred_job_registry.count,
        finished=queue.finished_job_registry.count,
        failed=failed,
        length=queued,
        failed_count=failed,
    )


def _worker(worker: BaseWorker) -> WorkerInfo:
    return WorkerInfo(
        name=worker.name,
        state=str(worker.get_state()),
        current_job=worker.get_current_job_id(),
        last_heartbeat=worker.last_heartbeat.replace(tzinfo=UTC) if worker.last_heartbeat else None,
        queues=worker.queue_names(),
    )

"""Bodies of the operations endpoints (role admin)."""

from datetime import datetime

from pydantic import BaseModel

from db.models import JobStatus
from queueing.queues import QueueName
from schemas.analysis import JobErrorBody


class QueueCounts(BaseModel):
    queued: int
    started: int
    scheduled: int
    deferred: int
    finished: int
    failed: int


class WorkerInfo(BaseModel):
    name: str
    state: str
    current_job: str | None
    last_heartbeat: datetime | None
    queues: list[str]


class JobStats(BaseModel):
    last_hour: dict[str, int]
    """Jobs created in the last hour, by status."""
    last_day: dict[str, int]
    avg_processing_s: float | None
    """Start to finish of the jobs completed in the last day."""
    p95_processing_s: float | None
    audio_s_per_wall_s: float
    """Seconds of audio completed in the last hour, per second of that hour: throughput of all workers."""


class QueueStatus(BaseModel):
    use_rq_queue: bool
    queues: dict[str, QueueCounts]
    workers: list[WorkerInfo]
    stats: JobStats


class AdminJob(BaseModel):
    job_id: str
    owner_id: str
    status: JobStatus
    queue: QueueName
    worker_id: str | None
    retry_count: int
    error: JobErrorBody | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None

"""Bodies of the job endpoints."""

from datetime import datetime

from pydantic import BaseModel

from db.models import Job, JobStatus
from queueing.queues import QueueName
from schemas.analysis import AnalysisResult, JobErrorBody


class JobAccepted(BaseModel):
    """The 202 answer to an upload."""

    job_id: str
    status: JobStatus
    queue: QueueName
    position: int
    estimated_wait_s: float


class JobRead(BaseModel):
    job_id: str
    status: JobStatus
    progress: int
    current_step: str | None
    queue: QueueName
    retry_count: int
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    error: JobErrorBody | None
    result: AnalysisResult | None
    position: int | None = None
    """Jobs a worker takes before this one, while it is queued."""
    estimated_wait_s: float | None = None
    """Roughly how long until a worker takes it, while it is queued."""

    @classmethod
    def of(cls, job: Job, position: int | None = None, estimated_wait_s: float | None = None) -> "JobRead":
        return cls(
            job_id=job.id,
            status=job.status,
            progress=job.progress,
            current_step=job.current_step,
            queue=job.queue,
            retry_count=job.retry_count,
            created_at=job.created_at,
            started_at=job.started_at,
            completed_at=job.completed_at,
            error=job_error(job),
            result=AnalysisResult.model_validate(job.result) if job.result else None,
            position=position,
            estimated_wait_s=estimated_wait_s,
        )


def job_error(job: Job) -> JobErrorBody | None:
    """A failed job's `{"code", "message"}`; None for any other."""
    return JobErrorBody(code=job.error_code, message=job.error_message or "") if job.error_code else None


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every refusal: `{"error": {"code", "message"}}`."""

    error: ErrorDetail

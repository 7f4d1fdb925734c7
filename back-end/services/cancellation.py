"""Canceling a job: recorded at once, then taken out of RQ or stopped where it runs."""

import contextlib
import logging
from datetime import UTC, datetime

from redis.exceptions import RedisError
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job as RqJob
from rq.job import JobStatus as RqStatus
from sqlalchemy.orm import Session

from core.errors import Conflict
from core.metrics import JOBS_FINISHED
from core.settings import Settings
from db.job_repository import JobRepository
from db.models import Job
from queueing.connection import get_redis
from queueing.queues import BACKGROUND
from services.job_events import announce
from tasks.cancellation import mark_canceled
from workers.rq_job import part_ids

log = logging.getLogger(__name__)

_WAITING = (RqStatus.QUEUED, RqStatus.SCHEDULED, RqStatus.DEFERRED)


def cancel_job(job: Job, session: Session, settings: Settings) -> Job:
    """Mark the job canceled; a result that arrives later changes nothing (the row is terminal)."""
    if not JobRepository(session).cancel(job, datetime.now(UTC)):
        raise Conflict("job_finished", f"The job has already ended ({job.status.value}).")
    session.commit()
    connection = get_redis(settings)
    try:
        mark_canceled(connection, job.id)  # a task in any process sees it between two segments
        if job.queue != BACKGROUND:
            for rq_job_id in (job.id, *part_ids(connection, job.id)):  # a long recording's chunks and merge too
                _stop_in_rq(connection, rq_job_id)
    except RedisError as exc:
        log.warning("cancel not signalled to the queue", extra={"job_id": job.id, "error": repr(exc)})
    JOBS_FINISHED.labels("canceled").inc()
    announce(job, "canceled", settings)
    log.info("job canceled", extra={"job_id": job.id})
    return job


def _stop_in_rq(connection: object, job_id: str) -> None:
    try:
        rq_job = RqJob.fetch(job_id, connection=connection)  # type: ignore[arg-type]
    except NoSuchJobError:
        return
    status = rq_job.get_status()
    if status in _WAITING:
        rq_job.cancel()  # out of its queue (or the scheduler's registry) before any worker takes it
    elif status == RqStatus.STARTED:
        with contextlib.suppress(InvalidJobOperation):  # between dequeue and start: the marker stops it instead
            send_stop_job_command(connection, job_id)  # type: ignore[arg-type]

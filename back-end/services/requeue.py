"""Running a job again from the start: an admin's requeue of a dead letter, or a job that Redis lost."""

import contextlib
import logging

from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job as RqJob
from sqlalchemy.orm import Session

from core.settings import Settings
from db.job_repository import JobRepository
from db.models import Job
from queueing.connection import get_redis
from queueing.queues import BACKGROUND, queue_name_for
from services.dispatch import RunInBackground, hand_over
from services.job_events import announce

log = logging.getLogger(__name__)


def run_again(job: Job, session: Session, settings: Settings, run_in_background: RunInBackground) -> Job:
    """Reset the row to queued and dispatch the job afresh (RQ or in-process, as USE_RQ_QUEUE says now)."""
    _forget_rq_job(job.id, settings)
    queue_name = queue_name_for(job.priority) if settings.use_rq_queue else BACKGROUND  # type: ignore[arg-type]
    JobRepository(session).reset_to_queued(job, queue_name)
    session.commit()
    announce(job, "status", settings)
    hand_over(job, session, settings, run_in_background)
    log.info("job %s dispatched again on %s", job.id, job.queue)
    return job


def _forget_rq_job(job_id: str, settings: Settings) -> None:
    """Drop RQ's old record (e.g. in the failed registry) so the job id can be enqueued anew."""
    with contextlib.suppress(NoSuchJobError, RedisError):
        RqJob.fetch(job_id, connection=get_redis(settings)).delete()

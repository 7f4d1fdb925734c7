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
from events.progress import progress_key
from queueing.connection import get_redis
from queueing.queues import BACKGROUND, queue_name_for
from services.dispatch import RunInBackground, hand_over
from services.job_events import announce
from tasks.cancellation import cancel_key
from workers.rq_job import part_ids, parts_key

log = logging.getLogger(__name__)


def run_again(job: Job, session: Session, settings: Settings, run_in_background: RunInBackground) -> Job:
    """Reset the row to queued and dispatch the job afresh (RQ or in-process, as USE_RQ_QUEUE says now)."""
    _forget_rq_job(job.id, settings)
    queue_name = queue_name_for(job.priority, job.diarize) if settings.use_rq_queue else BACKGROUND  # type: ignore[arg-type]
    JobRepository(session).reset_to_queued(job, queue_name)
    session.commit()
    announce(job, "status", settings)
    hand_over(job, session, settings, run_in_background)
    log.info("job %s dispatched again on %s", job.id, job.queue)
    return job


def _forget_rq_job(job_id: str, settings: Settings) -> None:
    """Drop what Redis remembers of the last run: RQ's records of the job and of its chunks (e.g. in the failed
    registry, so the ids can be enqueued anew), its stop marker (a failed chunk sets one) and its progress."""
    connection = get_redis(settings)
    with contextlib.suppress(RedisError):
        for rq_job_id in (job_id, *part_ids(connection, job_id)):
            with contextlib.suppress(NoSuchJobError):
                RqJob.fetch(rq_job_id, connection=connection).delete()
        connection.delete(parts_key(job_id), progress_key(job_id), cancel_key(job_id))

"""Making Redis agree with the database again, periodically and at API start.

The database is the record of every accepted job; Redis can forget (restarted without persistence, a failover
that lost writes) and workers can die. For every queued or started job older than RECONCILE_INTERVAL_S:
- RQ has no such job: the result the worker kept (results.outbox) is recorded if there is one, else the job is
  dispatched again;
- RQ finished it, or failed it, but the row never heard: the kept result is recorded, else (failed) the job is
  marked failed with `worker_lost`;
- started longer ago than JOB_TIMEOUT + STALE_GRACE_S (in RQ or in some API process's BackgroundTasks): run again,
  unless it is a long recording whose chunks or merge RQ still has queued or running (each chunk has its own
  JOB_TIMEOUT, and the sweeper puts a dead worker's chunk back).
A Redis lock lets one API process act per interval, however many there are.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job as RqJob
from rq.job import JobStatus as RqStatus
from sqlalchemy.orm import Session

from core.metrics import RECONCILER_REQUEUES
from core.settings import Settings
from db.engine import open_session
from db.job_repository import JobRepository
from db.models import Job, JobStatus
from queueing.connection import get_redis
from queueing.queues import BACKGROUND
from results import outbox
from schemas.analysis import AnalysisEvent, JobErrorBody
from services.dispatch import run_in_thread
from services.job_events import record_event
from services.requeue import run_again
from workers.rq_job import part_ids

log = logging.getLogger(__name__)

LOCK = "transcribe:reconciler:lock"

_UNDER_WAY = (RqStatus.QUEUED, RqStatus.SCHEDULED, RqStatus.DEFERRED, RqStatus.STARTED)


@dataclass
class Reconciled:
    requeued: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    """Results a worker kept because the API was away, recorded here."""
    failed: list[str] = field(default_factory=list)


def reconcile_if_leader(settings: Settings) -> Reconciled | None:
    """One pass, unless another API process has made one within the interval (or Redis is away)."""
    try:
        if not get_redis(settings).set(LOCK, 1, nx=True, ex=max(1, settings.reconcile_interval_s - 1)):
            return None
    except RedisError as exc:
        log.warning("reconciler skipped: Redis unreachable (%r)", exc)
        return None
    return reconcile(settings)


def reconcile(settings: Settings) -> Reconciled:
    done = Reconciled()
    connection = get_redis(settings)
    now = datetime.now(UTC)
    with open_session(settings.sqlalchemy_url) as session:
        for job in JobRepository(session).unfinished(now - timedelta(seconds=settings.reconcile_interval_s)):
            try:
                _reconcile_job(job, session, connection, settings, now, done)
            except RedisError as exc:
                log.warning("reconciler stopped early: Redis unreachable (%r)", exc)
                break
    if done.requeued or done.recovered or done.failed:
        log.warning("reconciled: requeued %s, recovered %s, failed %s", done.requeued, done.recovered, done.failed)
    return done


def _reconcile_job(
    job: Job, session: Session, connection: Redis, settings: Settings, now: datetime, done: Reconciled
) -> None:
    stale = (
        job.status == JobStatus.STARTED
        and job.started_at is not None
        and job.started_at < now - timedelta(seconds=settings.job_timeout_s + settings.stale_grace_s)
    )
    if job.queue == BACKGROUND:
        if stale or (job.status == JobStatus.QUEUED and job.created_at < now - timedelta(seconds=60)):
            _run_again(job, session, settings, done)  # the API process that had it is gone
        return
    status = _rq_status(connection, job.id)
    if status in (None, RqStatus.FINISHED, RqStatus.FAILED) and _record_kept_result(job.id, session, settings):
        done.recovered.append(job.id)
    elif _parts_in_rq(connection, job.id):
        return  # a long recording's chunks (or their merge) are queued or running: each has its own JOB_TIMEOUT
    elif status is None or stale:
        _run_again(job, session, settings, done)
    elif status == RqStatus.FAILED:
        event = AnalysisEvent(
            job_id=job.id,
            event="failed",
            attempt=job.retry_count + 1,
            worker_id=job.worker_id or "unknown",
            occurred_at=now,
            error=JobErrorBody(code="worker_lost", message="The worker running this job stopped before it ended."),
        )
        record_event(event, session, settings)
        done.failed.append(job.id)


def _run_again(job: Job, session: Session, settings: Settings, done: Reconciled) -> None:
    run_again(job, session, settings, run_in_thread)
    RECONCILER_REQUEUES.inc()
    done.requeued.append(job.id)


def _record_kept_result(job_id: str, session: Session, settings: Settings) -> bool:
    kept = outbox.load(job_id, settings)
    if kept is None:
        return False
    record_event(kept, session, settings)
    outbox.discard(job_id, settings)
    return True


def _parts_in_rq(connection: Redis, job_id: str) -> bool:
    return any(_rq_status(connection, part) in _UNDER_WAY for part in part_ids(connection, job_id))


def _rq_status(connection: Redis, job_id: str) -> RqStatus | None:
    try:
        return RqJob.fetch(job_id, connection=connection).get_status()
    except NoSuchJobError:
        return None

"""Recording what happens to a job on its row, and announcing it on the job's event stream.

A job on an RQ worker sends its events through the signed results webhook, whose handler calls
`record_event`; a job running in the API process (BackgroundTasks) calls it directly. Either way the
transition is `JobRepository.apply`, and what changed is published for the job's SSE subscribers.
"""

import logging

from sqlalchemy.orm import Session

from callbacks.delivery import plan as plan_callback
from callbacks.dispatcher import wake_dispatcher
from core.errors import NotFound
from core.metrics import JOB_DURATION, JOBS_FINISHED, QUEUE_WAIT, REAL_TIME_FACTOR, RETRIES
from core.settings import Settings, get_settings
from db.engine import open_session
from db.job_repository import JobRepository
from db.models import Job
from events.job_stream import publish
from queueing.connection import get_redis
from schemas.analysis import AnalysisEvent
from schemas.job import JobRead

log = logging.getLogger(__name__)

STREAM_EVENT = {"started": "status", "completed": "completed", "failed": "failed"}
"""The SSE event that announces each task event."""


def record_event(event: AnalysisEvent, session: Session, settings: Settings | None = None) -> bool:
    """Apply the event and commit; False when it changed nothing (a replay, or a job already ended)."""
    repository = JobRepository(session)
    job = repository.get(event.job_id)
    if job is None:
        raise NotFound("job_not_found", "No such job.")
    applied = repository.apply(
        job,
        event.event,
        attempt=event.attempt,
        worker_id=event.worker_id,
        occurred_at=event.occurred_at,
        result=event.result.model_dump(mode="json", exclude_none=True) if event.result else None,
        duration_s=event.result.duration if event.result else None,
        error_code=event.error.code if event.error else None,
        error_message=event.error.message if event.error else None,
    )
    settings = settings or get_settings()
    callback = applied and plan_callback(job, session, settings) is not None  # in the transition's transaction
    session.commit()
    log.info("job event", extra={"job_id": event.job_id, "event": event.event, "applied": applied})
    if applied:
        observe(job, event)
        announce(job, STREAM_EVENT[event.event], settings)
    if callback:
        wake_dispatcher()  # the callback is posted from the dispatcher's thread, never from here
    return applied


def observe(job: Job, event: AnalysisEvent) -> None:
    """The metrics of a transition that was just applied."""
    if event.event == "started":
        QUEUE_WAIT.observe(max(0.0, (event.occurred_at - job.created_at).total_seconds()))
        if event.attempt > 1:
            RETRIES.inc()
        return
    JOBS_FINISHED.labels(event.event).inc()
    if event.event == "completed" and job.started_at is not None and event.result is not None:
        spent = max(0.0, (event.occurred_at - job.started_at).total_seconds())
        JOB_DURATION.observe(spent)
        if event.result.duration > 0:
            REAL_TIME_FACTOR.observe(spent / event.result.duration)


def record_event_in_process(event: AnalysisEvent, settings: Settings) -> None:
    with open_session(settings.sqlalchemy_url) as session:
        record_event(event, session, settings)


def announce(job: Job, kind: str, settings: Settings, read: JobRead | None = None) -> None:
    """Publish the job's status body as SSE event `kind` (status, completed, failed, canceled)."""
    body = read or JobRead.of(job)
    publish(get_redis(settings), job.id, kind, body.model_dump(mode="json"))

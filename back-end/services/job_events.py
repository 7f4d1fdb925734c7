"""Recording a task's events (started, completed, failed) on the job row: the same code for both transports.

A job on an RQ worker sends its events through the signed results webhook, whose handler calls
`record_event`; a job running in the API process (BackgroundTasks) calls it directly.
"""

import logging

from sqlalchemy.orm import Session

from core.errors import NotFound
from core.settings import Settings
from db.engine import open_session
from db.job_repository import JobRepository
from schemas.analysis import AnalysisEvent

log = logging.getLogger(__name__)


def record_event(event: AnalysisEvent, session: Session) -> bool:
    """Apply the event and commit; False when it changed nothing (a replay, or a job already ended)."""
    repository = JobRepository(session)
    job = repository.get(event.job_id)
    if job is None:
        raise NotFound("job_not_found", "No such job.")
    applied = repository.apply(job, event)
    session.commit()
    log.info("job event", extra={"job_id": event.job_id, "event": event.event, "applied": applied})
    return applied


def record_event_in_process(event: AnalysisEvent, settings: Settings) -> None:
    with open_session(settings.sqlalchemy_url) as session:
        record_event(event, session)

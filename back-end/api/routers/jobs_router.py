"""A job's status, transcript and cancellation, for its owner only (anyone else gets 404)."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import CurrentReader, CurrentUser, SessionDep, SettingsDep
from api.responses import error_responses
from core.errors import Conflict, NotFound
from core.settings import Settings
from db.job_repository import JobRepository
from db.models import Job, JobStatus
from events.job_stream import read_live
from queueing.connection import get_redis
from schemas.analysis import AnalysisResult
from schemas.job import JobRead
from services.cancellation import cancel_job
from services.estimates import place_in_line
from transcripts.formats import MEDIA_TYPES, TranscriptFormat, render

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

_ERRORS = error_responses(400, 401, 404, 409)


def owned_job(session: Session, job_id: str, user_id: str) -> Job:
    job = JobRepository(session).get_for_owner(job_id, user_id)
    if job is None:
        raise NotFound("job_not_found", "No such job.")  # also for another user's job: existence is not leaked
    return job


def job_status(job: Job, session: Session, settings: Settings) -> JobRead:
    """The status body: the row, the latest progress from the event stream, and the place in line."""
    position, wait_s = place_in_line(job, JobRepository(session), settings)
    status = JobRead.of(job, position, wait_s)
    if job.status == JobStatus.STARTED and (live := read_live(get_redis(settings), job.id)):
        status = status.model_copy(update={"progress": live[0], "current_step": live[1]})
    return status


@router.get("/{job_id}", responses=_ERRORS)
def read_job(job_id: str, user: CurrentReader, session: SessionDep, settings: SettingsDep) -> JobRead:
    return job_status(owned_job(session, job_id, user.user_id), session, settings)


@router.delete("/{job_id}/cancel", responses=_ERRORS)
def cancel(job_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep) -> JobRead:
    """Queued: taken out of its queue. Started: stopped between two segments. Ended already: 409."""
    job = cancel_job(owned_job(session, job_id, user.user_id), session, settings)
    return JobRead.of(job)


@router.get(
    "/{job_id}/transcript",
    responses={**_ERRORS, 200: {"content": {media: {} for media in MEDIA_TYPES.values()}}},
    response_class=Response,
)
def read_transcript(
    job_id: str,
    user: CurrentReader,
    session: SessionDep,
    format: Annotated[TranscriptFormat, Query(description="json, txt, srt or vtt")] = "json",
) -> Response:
    job = owned_job(session, job_id, user.user_id)
    if job.status != JobStatus.COMPLETED or job.result is None:
        raise Conflict("job_not_completed", f"The job is {job.status.value}; its transcript comes when it completes.")
    body = render(AnalysisResult.model_validate(job.result), format)
    disposition = f'inline; filename="{job.id}.{format}"'
    return Response(body, media_type=MEDIA_TYPES[format], headers={"Content-Disposition": disposition})

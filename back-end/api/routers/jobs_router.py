"""A job's status and result, for its owner only."""

from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep
from core.errors import NotFound
from db.job_repository import JobRepository
from schemas.job import ErrorBody, JobRead

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


@router.get("/{job_id}", responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}})
def read_job(job_id: str, user: CurrentUser, session: SessionDep) -> JobRead:
    job = JobRepository(session).get_for_owner(job_id, user.user_id)
    if job is None:
        raise NotFound("job_not_found", "No such job.")  # also for another user's job: existence is not leaked
    return JobRead.of(job)

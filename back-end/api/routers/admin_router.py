"""Operations on jobs for role `admin`: requeue a dead letter (a job that failed for good)."""

from fastapi import APIRouter, BackgroundTasks

from api.deps import AdminUser, SessionDep, SettingsDep
from api.responses import error_responses
from core.errors import Conflict, NotFound
from db.job_repository import JobRepository
from db.models import JobStatus
from schemas.job import JobRead
from services.requeue import run_again

router = APIRouter(prefix="/api/admin", tags=["admin"])


@router.post("/jobs/{job_id}/requeue", responses=error_responses(401, 403, 404, 409, 503))
def requeue_job(
    job_id: str, _: AdminUser, session: SessionDep, settings: SettingsDep, background_tasks: BackgroundTasks
) -> JobRead:
    """A failed job runs again from the start (any user's job: this is the admin's view)."""
    job = JobRepository(session).get(job_id)
    if job is None:
        raise NotFound("job_not_found", "No such job.")
    if job.status != JobStatus.FAILED:
        raise Conflict("job_not_failed", f"Only failed jobs are requeued; this one is {job.status.value}.")
    return JobRead.of(run_again(job, session, settings, background_tasks.add_task))

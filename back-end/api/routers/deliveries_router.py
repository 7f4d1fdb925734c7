"""`GET /api/jobs/{job_id}/deliveries`: the job's callbacks and their attempts, for its owner only."""

from fastapi import APIRouter

from api.deps import CurrentReader, SessionDep
from api.responses import error_responses
from api.routers.jobs_router import owned_job
from callbacks.repository import DeliveryRepository
from callbacks.schemas import DeliveryRead, JobDeliveries

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


@router.get("/{job_id}/deliveries", responses=error_responses(400, 401, 404))
def read_deliveries(job_id: str, user: CurrentReader, session: SessionDep) -> JobDeliveries:
    """Each callback (one per announced status) with every attempt, newest last; another user's job is a 404."""
    job = owned_job(session, job_id, user.user_id)
    deliveries = DeliveryRepository(session).for_job(job.id)
    return JobDeliveries(
        job_id=job.id, callback_url=job.callback_url, deliveries=[DeliveryRead.of(d) for d in deliveries]
    )

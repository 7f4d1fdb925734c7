"""For ops: the queues' status (role admin) and Prometheus metrics."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError

from api.deps import AdminUser, SessionDep, SettingsDep
from api.responses import error_responses
from core.errors import ServiceUnavailable
from core.metrics import render
from db.models import JobStatus
from queueing.connection import get_redis
from queueing.metrics import RedisCollector
from schemas.ops import AdminJob, QueueStatus
from services.queue_status import admin_jobs, queue_status

router = APIRouter(tags=["operations"])


@router.get("/api/queue/status", responses=error_responses(401, 403, 503))
def read_queue_status(_: AdminUser, session: SessionDep, settings: SettingsDep) -> QueueStatus:
    try:
        return queue_status(session, get_redis(settings), settings)
    except RedisError as exc:
        raise ServiceUnavailable("queue_unavailable", "Redis is unreachable; the database is fine.") from exc


@router.get("/api/admin/jobs", responses=error_responses(400, 401, 403))
def list_jobs(
    _: AdminUser,
    session: SessionDep,
    status: Annotated[Literal["failed", "started", "queued"], Query(description="which list")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AdminJob]:
    """The "failed list" and the "processing list": newest first, with error codes and workers."""
    return admin_jobs(session, JobStatus(status), limit)


@router.get("/metrics", include_in_schema=False)
def read_metrics(settings: SettingsDep) -> Response:
    """Prometheus text format. Keep it (and /rq) off the public ingress: scrape it from inside."""
    return Response(render(RedisCollector(lambda: get_redis(settings))), media_type=CONTENT_TYPE_LATEST)

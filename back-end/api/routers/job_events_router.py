"""`GET /api/jobs/{job_id}/events`: a job's life as Server-Sent Events, live and resumable.

Without `Last-Event-ID` the stream opens with the job's current status (its terminal event, at once, for a
finished job); with it, it replays exactly what came after that event. Either way it follows the job's Redis
Stream until a terminal event (`completed`, `failed`, `canceled`), then closes. A comment every 15 s keeps
proxies from closing an idle stream. The database is read once at the start, and once per idle period in
case the stream lost a terminal event (e.g. Redis restarted): no tight polling.
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentReader, SettingsDep
from api.responses import error_responses
from api.routers.jobs_router import job_status, owned_job
from core.errors import BadRequest, ServiceUnavailable
from core.settings import Settings
from db.engine import open_session
from events.job_follow import follow, position_then_row, stream_redis
from events.job_stream import JobEvent, is_event_id
from schemas.job import JobRead

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

IDLE_S = 15.0
"""How long one read waits for the next event before the job's row is checked again."""


@router.get(
    "/{job_id}/events",
    response_class=EventSourceResponse,
    responses=error_responses(400, 401, 404, 503),
)
async def stream_job_events(
    job_id: str,
    user: CurrentReader,
    settings: SettingsDep,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id_query: Annotated[str | None, Query(alias="last_event_id")] = None,
) -> EventSourceResponse:
    resume_after = last_event_id_header or last_event_id_query
    if resume_after is not None and not is_event_id(resume_after):
        raise BadRequest("invalid_last_event_id", "Last-Event-ID is not an event id of this stream.")
    redis = await stream_redis(settings)

    async def read_status() -> JobRead:
        return await run_in_threadpool(_read_status, job_id, user.user_id, settings)

    try:  # the position also proves Redis answers, before the response starts; the row read may be a 404
        cursor, current = await position_then_row(redis, job_id, read_status)
    except RedisError as exc:
        raise ServiceUnavailable("events_unavailable", "Live events are unavailable; try again shortly.") from exc
    first = None if resume_after else _status_event(current, cursor)
    return EventSourceResponse(_events(redis, job_id, first, resume_after or cursor, read_status))


async def _events(
    redis: AsyncRedis,
    job_id: str,
    first: JobEvent | None,
    cursor: str,
    read_status: Callable[[], Awaitable[JobRead]],
) -> AsyncIterator[ServerSentEvent]:
    """`first` (the current status) unless resuming, then the stream after `cursor` up to a terminal event."""

    async def row_ended(cursor: str) -> JobEvent | None:
        current = _status_event(await read_status(), cursor)
        return current if current.is_terminal else None

    if first is not None:
        yield _sse(first)
        if first.is_terminal:
            return
    try:
        async for event in follow(redis, job_id, cursor, row_ended, IDLE_S):
            yield _sse(event)
    except RedisError as exc:  # end the stream cleanly: the client resumes from its Last-Event-ID
        log.warning("event stream interrupted", extra={"job_id": job_id, "error": repr(exc)})


def _sse(event: JobEvent) -> ServerSentEvent:
    return ServerSentEvent(data=event.data, event=event.kind, id=event.id)


def _status_event(job: JobRead, cursor: str) -> JobEvent:
    """The job's row as an event: its terminal one if it has ended, else `status`; with the stream's cursor as id."""
    return JobEvent(cursor, job.status.value if job.status.is_terminal else "status", job.model_dump_json())


def _read_status(job_id: str, user_id: str, settings: Settings) -> JobRead:
    with open_session(settings.sqlalchemy_url) as session:
        return job_status(owned_job(session, job_id, user_id), session, settings)

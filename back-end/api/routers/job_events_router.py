"""`GET /api/jobs/{job_id}/events`: a job's life as Server-Sent Events, live and resumable.

Without `Last-Event-ID` the stream opens with the job's current status (its terminal event, at once, for a
finished job); with it, it replays exactly what came after that event. Either way it follows the job's Redis
Stream until a terminal event (`completed`, `failed`, `canceled`), then closes. A comment every 15 s keeps
proxies from closing an idle stream. The database is read once at the start, and once per idle period in
case the stream lost a terminal event (e.g. Redis restarted): no tight polling.
"""

import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentReader, SettingsDep
from api.responses import error_responses
from api.routers.jobs_router import job_status, owned_job
from core.errors import BadRequest, ServiceUnavailable
from core.settings import Settings
from db.engine import open_session
from events.job_stream import is_event_id, last_event_id, read_after
from queueing.connection import CONNECT_TIMEOUT_S, redis_url
from schemas.job import JobRead

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

IDLE_BLOCK_MS = 15_000
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
    redis = AsyncRedis.from_url(
        redis_url(settings), socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=IDLE_BLOCK_MS / 1000 + 5
    )
    try:
        # The stream position first, then the row: an event landing in between is sent, not skipped.
        cursor = await last_event_id(redis, job_id)  # also proves Redis answers, before the response starts
        first = await run_in_threadpool(_read_status, job_id, user.user_id, settings)  # 404 before streaming
    except RedisError as exc:
        await redis.aclose()
        raise ServiceUnavailable("events_unavailable", "Live events are unavailable; try again shortly.") from exc
    except BaseException:
        await redis.aclose()
        raise
    cursor = resume_after or cursor
    events = _events(redis, job_id, user.user_id, None if resume_after else first, cursor, settings)
    return EventSourceResponse(events, background=BackgroundTask(redis.aclose))


async def _events(
    redis: AsyncRedis, job_id: str, user_id: str, first: JobRead | None, cursor: str, settings: Settings
) -> AsyncIterator[ServerSentEvent]:
    """`first` (the current status) unless resuming, then the stream after `cursor` up to a terminal event."""
    if first is not None:
        kind = first.status.value if first.status.is_terminal else "status"
        yield ServerSentEvent(data=first.model_dump_json(), event=kind, id=cursor)
        if first.status.is_terminal:
            return
    while True:
        try:
            events = await read_after(redis, job_id, cursor, IDLE_BLOCK_MS)
        except RedisError as exc:  # end the stream cleanly: the client resumes from its Last-Event-ID
            log.warning("event stream interrupted", extra={"job_id": job_id, "error": repr(exc)})
            return
        for event in events:
            yield ServerSentEvent(data=event.data, event=event.kind, id=event.id)
            if event.is_terminal:
                return
            cursor = event.id
        if not events:  # idle: did the job end without its event reaching the stream?
            current = await run_in_threadpool(_read_status, job_id, user_id, settings)
            if current.status.is_terminal:
                yield ServerSentEvent(data=current.model_dump_json(), event=current.status.value, id=cursor)
                return


def _read_status(job_id: str, user_id: str, settings: Settings) -> JobRead:
    with open_session(settings.sqlalchemy_url) as session:
        return job_status(owned_job(session, job_id, user_id), session, settings)

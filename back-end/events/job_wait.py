"""Waiting, without blocking the event loop, until a job ends: on its Redis Stream, or by reading its row.

The stream is followed as the SSE endpoint follows it (events/job_follow.py: the position before the row, then the
row read again every IDLE_CHECK_S while the stream is quiet, in case Redis lost the terminal event). Without Redis
(unreachable, or it fails on the way) the row is read every POLL_INTERVAL_S. A waiter whose client has gone
(`abandoned`) stops at its next check: the job itself goes on.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from core.settings import Settings
from db.engine import open_session
from db.job_repository import JobRepository
from events.job_follow import follow, position_then_row, stream_redis
from events.job_stream import JobEvent

log = logging.getLogger(__name__)

IDLE_CHECK_S = 5.0
"""The longest one stream read blocks before the row is read again."""

POLL_INTERVAL_S = 0.25
"""How often the row is read when Redis cannot say when the job ends."""


Abandoned = Callable[[], Awaitable[bool]]
"""True once nobody waits for the answer any more (e.g. `Request.is_disconnected`)."""


async def _never() -> bool:
    return False


async def wait_until_ended(job_id: str, settings: Settings, timeout_s: float, abandoned: Abandoned = _never) -> bool:
    """True once the job's row has a terminal status; False when `timeout_s` passed first (or nobody waits)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    gone = False

    def remaining() -> float:
        return -1.0 if gone else deadline - loop.time()

    async def quiet() -> bool:
        """Called between reads: notes a client that has gone."""
        nonlocal gone
        if not gone and await abandoned():
            gone = True
            log.info("job %s: nobody waits for it any more; it goes on", job_id)
        return gone

    ended = RowCheck(job_id, settings)
    try:
        redis = await stream_redis(settings)
    except Exception as exc:  # no Redis to be had: the row alone tells
        log.warning("job %s: waiting without Redis (%r)", job_id, exc)
        return await _poll(ended, remaining, quiet)
    try:
        return await _follow(redis, job_id, ended, remaining, quiet)
    except RedisError as exc:
        log.warning("job %s: waiting without Redis (%r)", job_id, exc)
        return await _poll(ended, remaining, quiet)


async def _follow(
    redis: AsyncRedis, job_id: str, ended: "RowCheck", remaining: Callable[[], float], quiet: Abandoned
) -> bool:
    cursor, done = await position_then_row(redis, job_id, ended)
    if done:
        return True

    async def row_ended(cursor: str) -> JobEvent | None:
        """The idle check: did the job end without its event reaching the stream? (Else: does anyone still wait?)"""
        if await ended():
            return JobEvent(cursor, "ended", "{}")  # not a stream event: the row tells how it ended
        await quiet()
        return None

    async for event in follow(redis, job_id, cursor, row_ended, IDLE_CHECK_S, remaining):
        if event.is_terminal:
            return True  # published after the row was committed
        await quiet()
    return await ended()  # time is up, nobody waits, or the row said the job ended


async def _poll(ended: "RowCheck", remaining: Callable[[], float], quiet: Abandoned) -> bool:
    while not await ended():
        if (left := remaining()) <= 0 or await quiet():
            return False
        await asyncio.sleep(min(POLL_INTERVAL_S, left))
    return True


class RowCheck:
    """Reads whether the job's row is terminal, on a worker thread."""

    def __init__(self, job_id: str, settings: Settings) -> None:
        self.job_id = job_id
        self.settings = settings

    async def __call__(self) -> bool:
        return await run_in_threadpool(self._read)

    def _read(self) -> bool:
        with open_session(self.settings.sqlalchemy_url) as session:
            job = JobRepository(session).get(self.job_id)
            return job is None or job.status.is_terminal  # a row removed meanwhile waits no longer

"""Following one job's Redis Stream until the job ends: the SSE endpoint and the OpenAI wait both do it this way.

Open with `position_then_row`: the stream position is taken before the job's row is read, so an event landing in
between is after the cursor and gets followed. (Row first, and a terminal event published between the two reads
would be behind the cursor: the job would look unfinished until the next idle check.) Then `follow` reads on from
that cursor, with blocking XREAD, until a terminal event. While the stream is quiet, it asks the injected idle check
whether the job ended without its event reaching the stream (Redis restarted, say): the row is the record.

Reads go through `stream_redis`: one client per event loop, whose pool gives each blocked XREAD a connection.
"""

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis as AsyncRedis

from core.settings import Settings
from events.job_stream import JobEvent, last_event_id, read_after
from queueing.connection import CONNECT_TIMEOUT_S, redis_url

MAX_IDLE_S = 15.0
"""The longest one read blocks, whatever idle period a follower asks for."""

READ_TIMEOUT_S = MAX_IDLE_S + 5
"""The socket timeout of stream reads: a blocked XREAD answers within MAX_IDLE_S."""

IdleCheck = Callable[[str], Awaitable[JobEvent | None]]
"""Called with the cursor after a read found nothing: the event to end with (the job's end, told by its row,
carrying the cursor as its id), or None while the job goes on."""

Row = TypeVar("Row")

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, AsyncRedis]] = weakref.WeakKeyDictionary()


async def stream_redis(settings: Settings) -> AsyncRedis:
    """This event loop's client for reading job streams (its connections cannot serve another loop)."""
    url = await asyncio.to_thread(redis_url, settings)  # may start the embedded redis-server: not on the loop
    clients = _clients.setdefault(asyncio.get_running_loop(), {})
    if url not in clients:
        clients[url] = AsyncRedis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=READ_TIMEOUT_S)
    return clients[url]


async def close_stream_redis() -> None:
    """Close this event loop's clients (at shutdown)."""
    for client in _clients.pop(asyncio.get_running_loop(), {}).values():
        await client.aclose()


async def position_then_row(redis: AsyncRedis, job_id: str, read_row: Callable[[], Awaitable[Row]]) -> tuple[str, Row]:
    """The stream's position, then what `read_row` reads: in that order, the one `follow` needs."""
    cursor = await last_event_id(redis, job_id)
    return cursor, await read_row()


async def follow(
    redis: AsyncRedis,
    job_id: str,
    after: str,
    idle_check: IdleCheck,
    idle_s: float,
    time_left: Callable[[], float] | None = None,
) -> AsyncIterator[JobEvent]:
    """The job's events after `after`, up to a terminal one or the idle check's; both are yielded, last.

    A read waits up to `idle_s` (MAX_IDLE_S at most) for an event before the idle check runs. With `time_left`,
    following also stops, with no end yielded, once it is no longer positive. A Redis error is raised through.
    """
    cursor = after
    while True:
        wait_s = min(idle_s, MAX_IDLE_S) if time_left is None else min(idle_s, MAX_IDLE_S, time_left())
        if wait_s <= 0:
            return
        events = await read_after(redis, job_id, cursor, max(1, int(wait_s * 1000)))
        for event in events:
            yield event
            if event.is_terminal:
                return
            cursor = event.id
        if not events and (end := await idle_check(cursor)) is not None:
            yield end
            return

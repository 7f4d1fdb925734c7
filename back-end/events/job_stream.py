"""Each job's events in a Redis Stream: capped, expiring, and replayable from any event id.

Entries carry `event` (status, progress, completed, failed, canceled) and `data` (JSON). The stream id of an
entry is its SSE `id:`, so `Last-Event-ID` resumes exactly after it. Beside the stream, a small hash holds the
latest progress and step, for the status endpoint. Publishing never fails a caller: the database is the record,
the stream is the live view.
"""

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

STREAM_MAXLEN = 1000
"""Entries kept per job (approximately); progress is throttled, so a job rarely comes near it."""

STREAM_TTL_S = 24 * 3600
"""A job's stream and live values expire a day after their last event."""

TERMINAL_EVENTS = frozenset({"completed", "failed", "canceled"})

START = "0-0"
"""The position before a stream's first entry."""

_EVENT_ID = re.compile(r"\d{1,20}-\d{1,20}")


@dataclass(frozen=True)
class JobEvent:
    id: str
    kind: str
    data: str
    """JSON text, passed through to the SSE `data:` field as it is."""

    @property
    def is_terminal(self) -> bool:
        return self.kind in TERMINAL_EVENTS


def stream_key(job_id: str) -> str:
    return f"transcribe:job:{job_id}:events"


def live_key(job_id: str) -> str:
    return f"transcribe:job:{job_id}:live"


def is_event_id(value: str) -> bool:
    return _EVENT_ID.fullmatch(value) is not None


def publish(connection: Redis, job_id: str, kind: str, data: dict[str, Any]) -> str | None:
    """Append an event; also remember progress and step. Returns the entry id, or None if Redis failed."""
    key = stream_key(job_id)
    try:
        with connection.pipeline(transaction=False) as pipe:
            pipe.xadd(key, {"event": kind, "data": json.dumps(data)}, maxlen=STREAM_MAXLEN, approximate=True)
            pipe.expire(key, STREAM_TTL_S)
            if kind == "progress":
                live = {"progress": int(data["progress"]), "current_step": str(data["current_step"])}
                pipe.hset(live_key(job_id), mapping=live)  # type: ignore[arg-type]
                pipe.expire(live_key(job_id), STREAM_TTL_S)
            entry_id = pipe.execute()[0]
    except RedisError as exc:
        log.warning("event not published", extra={"job_id": job_id, "event": kind, "error": repr(exc)})
        return None
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


def read_live(connection: Redis, job_id: str) -> tuple[int, str] | None:
    """The latest (progress, current_step) a task reported, if Redis still has it."""
    try:
        values: dict[bytes, bytes] = connection.hgetall(live_key(job_id))  # type: ignore[assignment]
    except RedisError:
        return None
    if not values:
        return None
    return int(values[b"progress"]), values[b"current_step"].decode()


async def last_event_id(connection: AsyncRedis, job_id: str) -> str:
    entries: Any = await connection.xrevrange(stream_key(job_id), count=1)
    return _decode_id(entries[0][0]) if entries else START


async def read_after(connection: AsyncRedis, job_id: str, after: str, block_ms: int) -> list[JobEvent]:
    """Events after `after`, waiting up to `block_ms` for the first one."""
    answer: Any = await connection.xread(  # [(key, [(id, {field: value})])], bytes throughout
        {stream_key(job_id): after}, count=100, block=block_ms
    )
    return [
        JobEvent(_decode_id(entry_id), fields[b"event"].decode(), fields[b"data"].decode())
        for _, entries in answer or ()
        for entry_id, fields in entries
    ]


def _decode_id(entry_id: bytes | str) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id

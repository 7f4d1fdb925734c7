"""Following a job's stream (events/job_follow.py) on fakeredis: from a cursor to a terminal event, or to the end
the idle check reads from the row; the position taken before the row; one client per event loop."""

import asyncio
from collections.abc import Callable
from typing import cast

import fakeredis
import pytest

from core.settings import Settings
from events.job_follow import IdleCheck, close_stream_redis, follow, position_then_row, stream_redis
from events.job_stream import START, JobEvent, publish

JOB = "job-1"


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


def publish_all(server: fakeredis.FakeServer, *kinds: str) -> list[str]:
    connection = fakeredis.FakeRedis(server=server)
    ids = [publish(connection, JOB, kind, {"progress": 50, "current_step": "transcribing"}) for kind in kinds]
    assert None not in ids
    return cast(list[str], ids)


async def never_ends(_cursor: str) -> JobEvent | None:
    return None


async def followed(
    server: fakeredis.FakeServer,
    after: str,
    idle_check: IdleCheck = never_ends,
    time_left: Callable[[], float] | None = None,
) -> list[JobEvent]:
    redis = fakeredis.FakeAsyncRedis(server=server)
    try:
        return [event async for event in follow(redis, JOB, after, idle_check, 0.05, time_left)]
    finally:
        await redis.aclose()


def test_it_resumes_after_the_cursor_and_stops_at_the_terminal_event(server: fakeredis.FakeServer) -> None:
    ids = publish_all(server, "status", "progress", "progress", "completed", "progress")

    events = asyncio.run(followed(server, after=ids[1]))

    assert [(event.id, event.kind) for event in events] == [(ids[2], "progress"), (ids[3], "completed")]


def test_a_quiet_stream_ends_with_the_idle_checks_event(server: fakeredis.FakeServer) -> None:
    ids = publish_all(server, "status", "progress")
    cursors: list[str] = []

    async def ends_on_second_check(cursor: str) -> JobEvent | None:
        cursors.append(cursor)
        return JobEvent(cursor, "failed", "{}") if len(cursors) == 2 else None

    events = asyncio.run(followed(server, after=START, idle_check=ends_on_second_check))

    assert [event.kind for event in events] == ["status", "progress", "failed"]
    assert events[-1].id == ids[-1]
    assert cursors == [ids[-1], ids[-1]]


def test_it_stops_without_an_end_when_time_is_up(server: fakeredis.FakeServer) -> None:
    publish_all(server, "status")

    assert asyncio.run(followed(server, after=START, time_left=lambda: 0.0)) == []


def test_an_event_landing_while_the_row_is_read_is_followed(server: fakeredis.FakeServer) -> None:
    before = publish_all(server, "status")[0]
    landed: list[str] = []

    async def read_row() -> str:
        landed.extend(publish_all(server, "completed"))  # the job ends between the two reads
        return "started"

    async def open_and_follow() -> tuple[str, str, list[JobEvent]]:
        redis = fakeredis.FakeAsyncRedis(server=server)
        cursor, row = await position_then_row(redis, JOB, read_row)
        events = [event async for event in follow(redis, JOB, cursor, never_ends, 0.05)]
        await redis.aclose()
        return cursor, row, events

    cursor, row, events = asyncio.run(open_and_follow())

    assert (cursor, row) == (before, "started")
    assert [(event.id, event.kind) for event in events] == [(landed[0], "completed")]


def test_one_client_per_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("events.job_follow.redis_url", lambda _: "redis://127.0.0.1:1/0")
    settings = cast(Settings, None)

    async def two_lookups() -> tuple[object, object]:
        first, again = await stream_redis(settings), await stream_redis(settings)
        await close_stream_redis()
        return first, again

    first, again = asyncio.run(two_lookups())
    other, _ = asyncio.run(two_lookups())

    assert first is again
    assert other is not first

"""Handing a job to its transport: an RQ queue, or FastAPI's BackgroundTasks when USE_RQ_QUEUE=false.

The transport is the only difference: both run `process_audio_analysis` with the same arguments.
"""

from typing import Any, TypedDict

from fastapi import BackgroundTasks
from redis.exceptions import RedisError
from rq import Retry, Worker

from core.errors import ServiceUnavailable
from core.settings import Settings
from queueing.connection import get_redis
from queueing.queues import BACKGROUND, QueueName, get_queue
from tasks.audio_analysis import process_audio_analysis

RESULT_TTL_S = 3600
"""RQ keeps a finished job's small return value this long; the transcript itself lives in the database."""

FAILURE_TTL_S = 7 * 24 * 3600
"""Failed RQ jobs (with their tracebacks) stay visible on rq-dashboard for a week."""


class TaskArgs(TypedDict):
    job_id: str
    s3_url: str
    token_info: dict[str, Any]
    word_timestamps: bool


def dispatch(args: TaskArgs, queue_name: QueueName, settings: Settings, background_tasks: BackgroundTasks) -> None:
    """Hand the job over. Raises ServiceUnavailable if Redis fails."""
    if queue_name == BACKGROUND:
        background_tasks.add_task(process_audio_analysis, **args)
        return
    connection = get_redis(settings)
    try:
        get_queue(queue_name, connection).enqueue(
            process_audio_analysis,
            kwargs=dict(args),  # passed apart: `job_id` is also RQ's own option, set just below
            job_id=args["job_id"],
            retry=Retry(max=settings.max_retries, interval=settings.retry_intervals) if settings.max_retries else None,
            job_timeout=settings.job_timeout,
            result_ttl=RESULT_TTL_S,
            failure_ttl=FAILURE_TTL_S,
            description=f"audio analysis {args['job_id']}",
        )
    except RedisError as exc:
        raise ServiceUnavailable("queue_unavailable", "The job queue is unavailable; try again shortly.") from exc


def connected_workers(settings: Settings) -> int:
    """RQ workers alive now (0 if Redis cannot say)."""
    try:
        return int(Worker.count(connection=get_redis(settings)))
    except RedisError:
        return 0

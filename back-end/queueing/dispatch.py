"""Handing a job to its transport: an RQ queue, or in-process (BackgroundTasks) when USE_RQ_QUEUE=false.

The transport is the only difference: both run `process_audio_analysis` with the same arguments. When Redis
cannot be reached at upload, the job falls back to running in the API process (FALLBACK_TO_BACKGROUND), or the
upload is refused with 503.
"""

import logging
import threading
from collections.abc import Callable
from typing import Any, TypedDict

from redis import Redis
from redis.exceptions import RedisError
from rq import Retry, Worker

from core.errors import ServiceUnavailable
from core.metrics import FALLBACKS
from core.settings import Settings
from queueing.connection import get_redis
from queueing.queues import BACKGROUND, WORKER_QUEUES, QueueName, get_queue
from tasks.audio_analysis import process_audio_analysis

log = logging.getLogger(__name__)

RESULT_TTL_S = 3600
"""RQ keeps a finished job's small return value this long; the transcript itself lives in the database."""

FAILURE_TTL_S = 7 * 24 * 3600
"""Failed RQ jobs (with their tracebacks) stay visible on rq-dashboard for a week: the dead letters."""

QUEUE_FULL_RETRY_AFTER_S = 60

RunInBackground = Callable[..., Any]
"""`BackgroundTasks.add_task` in a request; `run_in_thread` where the job must start at once or outside a request."""


def run_in_thread(func: Callable[..., Any], **kwargs: Any) -> None:
    """Start an in-process job now, on a daemon thread of its own: for the reconciler (no request to attach it to)
    and for `/v1/audio/transcriptions` (its response waits for the job, so BackgroundTasks would run it too late)."""
    threading.Thread(target=func, kwargs=kwargs, name=f"job-{kwargs.get('job_id')}", daemon=True).start()


class TaskArgs(TypedDict):
    job_id: str
    s3_url: str
    token_info: dict[str, Any]
    word_timestamps: bool
    language: str | None
    """ISO-639-1 code of the spoken language, or None to let the model detect it."""
    prompt: str | None
    """Whisper's initial prompt: spelling, style and vocabulary to follow."""


def dispatch(
    args: TaskArgs, queue_name: QueueName, settings: Settings, run_in_background: RunInBackground
) -> QueueName:
    """Hand the job over; return where it went (BACKGROUND after a fallback). 503 when it cannot go anywhere."""
    if queue_name == BACKGROUND:
        run_in_background(process_audio_analysis, **args)
        return BACKGROUND
    try:
        enqueue_analysis(args, queue_name, settings, get_redis(settings))
    except RedisError as exc:
        if not settings.fallback_to_background:
            raise ServiceUnavailable("queue_unavailable", "The job queue is unavailable; try again shortly.") from exc
        log.warning("job %s: Redis unreachable (%r), running it in the API process instead", args["job_id"], exc)
        FALLBACKS.inc()
        run_in_background(process_audio_analysis, **args)
        return BACKGROUND
    return queue_name


def enqueue_analysis(args: TaskArgs, queue_name: str, settings: Settings, connection: Redis) -> None:
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


def check_capacity(settings: Settings) -> None:
    """Refuse new work (503 queue_full) while QUEUE_MAX_LENGTH jobs already wait; no opinion without Redis."""
    connection = get_redis(settings)
    try:
        with connection.pipeline(transaction=False) as pipe:
            for name in WORKER_QUEUES:
                pipe.llen(get_queue(name, connection).key)
            waiting = sum(pipe.execute())
    except RedisError:
        return  # dispatch decides: fall back, or 503
    if waiting >= settings.queue_max_length:
        raise ServiceUnavailable(
            "queue_full", f"{waiting} jobs are waiting; try again later.", retry_after_s=QUEUE_FULL_RETRY_AFTER_S
        )


def connected_workers(settings: Settings) -> int:
    """RQ workers alive now (0 if Redis cannot say)."""
    try:
        return int(Worker.count(connection=get_redis(settings)))
    except RedisError:
        return 0

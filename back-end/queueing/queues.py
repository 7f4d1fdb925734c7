"""The queues, in the order workers consume them, what an upload's priority maps to, and how full they are."""

from typing import Any, Final, Literal

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry, Worker

from core.errors import ServiceUnavailable
from core.settings import Settings
from queueing.connection import get_redis

HIGH_PRIORITY: Final = "high_priority"
AUDIO_ANALYSIS: Final = "audio_analysis"
HIGH_PRIORITY_DIARIZE: Final = "high_priority_diarize"
AUDIO_ANALYSIS_DIARIZE: Final = "audio_analysis_diarize"
"""Jobs that ask for speaker diarization: only workers with the optional install consume these."""
BACKGROUND: Final = "background"
"""Not an RQ queue: the job runs in the API process through FastAPI's BackgroundTasks."""

WORKER_QUEUES = (HIGH_PRIORITY, AUDIO_ANALYSIS)
"""Strict order: a worker takes `high_priority` jobs before any `audio_analysis` job."""
DIARIZING_WORKER_QUEUES = (HIGH_PRIORITY, HIGH_PRIORITY_DIARIZE, AUDIO_ANALYSIS, AUDIO_ANALYSIS_DIARIZE)
"""A worker that can diarize takes those jobs too, high priority first: this is how it advertises that it can."""
ALL_QUEUES = DIARIZING_WORKER_QUEUES

Priority = Literal["normal", "high"]
QueueName = Literal["high_priority", "audio_analysis", "high_priority_diarize", "audio_analysis_diarize", "background"]


def queue_name_for(priority: Priority, diarize: bool = False) -> QueueName:
    if diarize:
        return HIGH_PRIORITY_DIARIZE if priority == "high" else AUDIO_ANALYSIS_DIARIZE
    return HIGH_PRIORITY if priority == "high" else AUDIO_ANALYSIS


def worker_queues(diarizes: bool) -> tuple[str, ...]:
    """The queues a worker consumes, in order."""
    return DIARIZING_WORKER_QUEUES if diarizes else WORKER_QUEUES


def get_queue(name: str, connection: Redis) -> Queue:
    return Queue(name, connection=connection)


RESULT_TTL_S = 3600
"""RQ keeps a finished job's small return value this long; the transcript itself lives in the database."""

PART_RESULT_TTL_S = 24 * 3600
"""A chunk's transcript waits this long in RQ for the job's merge (which runs as soon as the last chunk is done)."""

FAILURE_TTL_S = 7 * 24 * 3600
"""Failed RQ jobs (with their tracebacks) stay visible on rq-dashboard for a week: the dead letters."""

QUEUE_FULL_RETRY_AFTER_S = 60


def job_options(settings: Settings) -> dict[str, Any]:
    """What every transcription job is enqueued with: RQ's retries, JOB_TIMEOUT, and how long RQ keeps it."""
    retry = Retry(max=settings.max_retries, interval=settings.retry_intervals) if settings.max_retries else None
    return {
        "retry": retry,
        "job_timeout": settings.job_timeout,
        "result_ttl": RESULT_TTL_S,
        "failure_ttl": FAILURE_TTL_S,
    }


def check_capacity(settings: Settings) -> None:
    """Refuse new work (503 queue_full) while QUEUE_MAX_LENGTH jobs already wait; no opinion without Redis."""
    connection = get_redis(settings)
    try:
        with connection.pipeline(transaction=False) as pipe:
            for name in ALL_QUEUES:
                pipe.llen(get_queue(name, connection).key)
            waiting = sum(pipe.execute())
    except RedisError:
        return  # the hand-over decides: fall back, or 503
    if waiting >= settings.queue_max_length:
        raise ServiceUnavailable(
            "queue_full", f"{waiting} jobs are waiting; try again later.", retry_after_s=QUEUE_FULL_RETRY_AFTER_S
        )


def workers_consuming(queue_name: str, settings: Settings) -> int:
    """RQ workers alive now that take jobs from `queue_name`; raises RedisError when Redis cannot say."""
    return sum(queue_name in worker.queue_names() for worker in Worker.all(connection=get_redis(settings)))


def connected_workers(settings: Settings) -> int:
    """RQ workers alive now (0 if Redis cannot say)."""
    try:
        return int(Worker.count(connection=get_redis(settings)))
    except RedisError:
        return 0

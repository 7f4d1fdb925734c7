"""The queues, in the order workers consume them, and what an upload's priority maps to."""

from typing import Final, Literal

from redis import Redis
from rq import Queue

HIGH_PRIORITY: Final = "high_priority"
AUDIO_ANALYSIS: Final = "audio_analysis"
BACKGROUND: Final = "background"
"""Not an RQ queue: the job runs in the API process through FastAPI's BackgroundTasks."""

WORKER_QUEUES = (HIGH_PRIORITY, AUDIO_ANALYSIS)
"""Strict order: a worker takes `high_priority` jobs before any `audio_analysis` job."""

Priority = Literal["normal", "high"]
QueueName = Literal["high_priority", "audio_analysis", "background"]


def queue_name_for(priority: Priority) -> QueueName:
    return HIGH_PRIORITY if priority == "high" else AUDIO_ANALYSIS


def get_queue(name: str, connection: Redis) -> Queue:
    return Queue(name, connection=connection)


def jobs_ahead(name: str, connection: Redis) -> int:
    """Jobs a newly enqueued job of queue `name` waits behind (itself excluded), in one round trip."""
    ahead = WORKER_QUEUES[: WORKER_QUEUES.index(name) + 1]
    with connection.pipeline(transaction=False) as pipe:
        for queue_name in ahead:
            pipe.llen(get_queue(queue_name, connection).key)
        lengths: list[int] = pipe.execute()
    return max(0, sum(lengths) - 1)

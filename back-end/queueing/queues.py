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

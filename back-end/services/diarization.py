"""Whether a `diarize=true` upload can be served: some live worker (or, in rollback mode, this API process) must be
able to diarize, or the upload is refused with 503 `diarization_unavailable` rather than waiting forever.

Workers that can diarize say so by consuming the diarization queues (`queueing.queues.worker_queues`).
"""

from redis.exceptions import RedisError

from core.errors import ServiceUnavailable
from core.settings import Settings
from queueing.queues import BACKGROUND, workers_consuming
from speakers import diarizes_here

RETRY_AFTER_S = 60


def can_diarize(queue_name: str, settings: Settings) -> bool:
    """Whether a job on `queue_name` would find someone to diarize it: a live worker consuming that queue, or this
    process for the API's own queue (and when Redis is away, where the job would fall back to)."""
    if queue_name == BACKGROUND:
        return diarizes_here(settings)
    try:
        return workers_consuming(queue_name, settings) > 0
    except RedisError:
        return settings.fallback_to_background and diarizes_here(settings)


def require_diarization(queue_name: str, settings: Settings) -> None:
    """503 `diarization_unavailable` when nobody could diarize a job on `queue_name`."""
    if can_diarize(queue_name, settings):
        return
    where = "this server (the API runs jobs itself)" if queue_name == BACKGROUND else "any live worker"
    raise ServiceUnavailable(
        "diarization_unavailable",
        f"Speaker diarization is not available on {where}: install it (make diarization) or send diarize=false.",
        retry_after_s=RETRY_AFTER_S,
    )

"""`deliver_kept_result`: sending a finished job's result that the API could not take when it was ready.

Enqueued on `high_priority` (it takes a moment, never a transcription) with RQ retries at growing, jittered
intervals that add up to more than ten minutes; each attempt sends the event kept in the outbox.
"""

import logging
import random
from typing import Any

from redis import Redis
from rq import Retry

from core.settings import get_settings
from queueing.connection import get_redis
from queueing.metrics import count_in_redis
from queueing.queues import HIGH_PRIORITY, get_queue
from results import outbox
from results.sender import DeliveryError, deliver

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 5
BACKOFF_CAP_S = 120
BACKOFF_STEPS = 9
"""5, 10, 20, 40, 80, then 120 s four times: about 635 s, a little over ten minutes, before jitter."""

JITTER = 0.2
"""Each wait is stretched or shrunk by up to this fraction, so many workers' retries do not arrive at once."""


def backoff_intervals() -> list[int]:
    waits = [min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**step) for step in range(BACKOFF_STEPS)]
    return [max(1, round(wait * random.uniform(1 - JITTER, 1 + JITTER))) for wait in waits]  # noqa: S311


def schedule_delivery(job_id: str, connection: Redis) -> None:
    get_queue(HIGH_PRIORITY, connection).enqueue(
        deliver_kept_result,
        kwargs={"job_id": job_id},
        job_id=f"{job_id}-delivery",
        retry=Retry(max=BACKOFF_STEPS, interval=backoff_intervals()),
        description=f"deliver result of {job_id}",
    )


def deliver_kept_result(job_id: str) -> dict[str, Any]:
    settings = get_settings()
    event = outbox.load(job_id, settings)
    if event is None:
        return {"job_id": job_id, "delivered": False}  # delivered already (e.g. by the reconciler)
    try:
        deliver(event, settings)
    except DeliveryError:
        count_in_redis(get_redis(settings), "webhook_failures")
        raise  # the API is still away: RQ tries again later
    outbox.discard(job_id, settings)
    log.info("job %s: kept result delivered", job_id)
    return {"job_id": job_id, "delivered": True}

"""Finding the jobs of workers that died, and giving them to the living.

A worker keeps its running job's entry in RQ's started registry alive with a heartbeat every
HEARTBEAT_INTERVAL_S, good for HEARTBEAT_TTL_S. When a worker is killed (SIGKILL, OOM, the machine gone) the entry
expires. Every SWEEP_INTERVAL_S one worker (a Redis lock picks it) puts such jobs back at the front of their
queue, counting it as one of their retries; a job with no retries left goes to RQ's failed registry by RQ's own
clean-up. No scheduler is involved, so recovery does not wait for RQ's scheduler lock to change hands.
"""

import logging
import threading
from collections.abc import Callable

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import JobStatus
from rq.utils import current_timestamp, parse_composite_key

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_S = 5
"""How often a busy worker renews its job's entry in the started registry."""

HEARTBEAT_TTL_S = 20
"""How long an entry lives without renewal: four missed heartbeats mean the worker is gone."""

SWEEP_INTERVAL_S = 10
"""How often some worker looks for expired entries. Recovery takes at most TTL + this + a dequeue."""

SWEEP_LOCK = "transcribe:sweeper:lock"


def requeue_abandoned(queue: Queue) -> list[str]:
    """Put the expired jobs of `queue`'s started registry back at its front; return their ids."""
    registry = queue.started_job_registry
    connection = queue.connection
    requeued: list[str] = []
    expired: list[bytes] = connection.zrangebyscore(registry.key, 0, current_timestamp())  # type: ignore[assignment]
    for entry in expired:
        job_id, _ = parse_composite_key(entry.decode())
        job = queue.fetch_job(job_id)
        if job is None or job.get_status() != JobStatus.STARTED or not job.retries_left:
            continue  # finished meanwhile, or no retries left: RQ's clean-up below fails it
        job.retries_left -= 1
        with connection.pipeline() as pipe:
            pipe.zrem(registry.key, entry)
            queue._enqueue_job(job, pipeline=pipe, at_front=True)
            pipe.execute()
        requeued.append(job_id)
        log.warning("job %s abandoned by a dead worker: requeued, %s retries left", job_id, job.retries_left)
    registry.cleanup()
    return requeued


def sweep(connection: Redis, queues: list[Queue]) -> list[str]:
    """One sweep, if no other worker has done one within SWEEP_INTERVAL_S."""
    if not connection.set(SWEEP_LOCK, 1, nx=True, ex=SWEEP_INTERVAL_S):
        return []
    return [job_id for queue in queues for job_id in requeue_abandoned(queue)]


class Sweeper(threading.Thread):
    """Sweeps every SWEEP_INTERVAL_S until stopped, whether this worker is busy or idle."""

    def __init__(self, connection: Redis, queues: list[Queue]) -> None:
        super().__init__(name="sweeper", daemon=True)
        self.connection = connection
        self.queues = queues
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(SWEEP_INTERVAL_S):
            try:
                sweep(self.connection, self.queues)
            except RedisError as exc:
                log.warning("sweep skipped: %r", exc)


class Heartbeat(threading.Thread):
    """Calls `beat` every HEARTBEAT_INTERVAL_S while a job runs in the worker's main thread."""

    def __init__(self, beat: Callable[[], None]) -> None:
        super().__init__(name="heartbeat", daemon=True)
        self.beat = beat
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(HEARTBEAT_INTERVAL_S):
            try:
                self.beat()
            except RedisError as exc:
                log.warning("heartbeat missed: %r", exc)

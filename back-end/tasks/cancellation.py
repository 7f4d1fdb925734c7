"""Stopping a running job between two segments.

Two signals, checked together by `raise_if_canceled`:
- RQ's stop-job command: the worker runs jobs in its own process, so `SttWorker.kill_horse` (called by RQ's
  pubsub thread) calls `request_stop` for the job it is running;
- a marker in Redis, set by the API when a job is canceled: it reaches a task in any process, including one
  running in BackgroundTasks, and a job that a worker has taken but not yet started.
"""

import threading

from redis import Redis
from redis.exceptions import RedisError

MARKER_TTL_S = 24 * 3600
"""A cancellation marker outlives any job that could still look for it."""

_lock = threading.Lock()
_stop_requested: set[str] = set()


class JobCanceled(Exception):
    """Raised inside a task whose job was canceled; it ends the task without reporting anything."""


def cancel_key(job_id: str) -> str:
    return f"transcribe:job:{job_id}:cancel"


def request_stop(job_id: str) -> None:
    with _lock:
        _stop_requested.add(job_id)


def mark_canceled(connection: Redis, job_id: str) -> None:
    connection.set(cancel_key(job_id), 1, ex=MARKER_TTL_S)


def raise_if_canceled(connection: Redis, job_id: str) -> None:
    with _lock:
        if job_id in _stop_requested:
            _stop_requested.discard(job_id)
            raise JobCanceled(job_id)
    try:
        canceled = connection.exists(cancel_key(job_id))
    except RedisError:
        return  # without Redis a task cannot be told; the API ignores anything it reports for a canceled job
    if canceled:
        raise JobCanceled(job_id)

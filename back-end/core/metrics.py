"""Prometheus metrics, served by the API at `GET /metrics`.

Everything is counted where the API learns of it (an upload, a task's event arriving, the reconciler), so one
scrape of the API sees all STT servers. What the workers alone know (results that could not be delivered, model
loads) they count in Redis, and a collector reads it, with the queue depths, at scrape time. Under several
uvicorn processes set PROMETHEUS_MULTIPROC_DIR (an empty directory shared by them, cleared at deploy) and the
counters of all of them are summed (prometheus-client's multiprocess mode).
"""

import contextlib
import os
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector
from redis import Redis
from redis.exceptions import RedisError

JOBS_FINISHED = Counter("transcribe_jobs_finished", "Jobs that reached a final status", ["status"])
JOB_DURATION = Histogram(
    "transcribe_job_duration_seconds",
    "Start to finish of a completed job (fetch, decode, transcribe, deliver)",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 900),
)
QUEUE_WAIT = Histogram(
    "transcribe_queue_wait_seconds",
    "Upload to start of a job",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900),
)
REAL_TIME_FACTOR = Histogram(
    "transcribe_stt_real_time_factor",
    "Processing time over audio duration of a completed job",
    buckets=(0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2),
)
RETRIES = Counter("transcribe_job_retries", "Attempts beyond the first")
FALLBACKS = Counter("transcribe_fallbacks_to_background", "Uploads run in the API process because Redis was down")
RECONCILER_REQUEUES = Counter("transcribe_reconciler_requeues", "Jobs the reconciler dispatched again")
UPLOADS_REFUSED = Counter("transcribe_uploads_refused", "Uploads refused", ["code"])

WORKER_COUNTERS_KEY = "transcribe:metrics:workers"
"""A Redis hash of counters only the workers see, by name."""

WORKER_COUNTERS = {
    "webhook_failures": "Results webhook deliveries that failed (the worker keeps the result and retries)",
    "model_loads": "Whisper models loaded by worker processes (one per process, never per job)",
}


ConnectionFactory = Callable[[], Redis]


def count_in_redis(connection: Redis, name: str) -> None:
    """A worker-side counter; never fails its caller."""
    with contextlib.suppress(RedisError):
        connection.hincrby(WORKER_COUNTERS_KEY, name, 1)


class RedisCollector(Collector):
    """Queue depths, live workers and the workers' counters, read from Redis at scrape time."""

    def __init__(self, connection_factory: ConnectionFactory) -> None:
        self.connection_factory = connection_factory

    def collect(self) -> Iterator[Metric]:
        from rq import Queue, Worker

        from queueing.queues import WORKER_QUEUES

        depth = GaugeMetricFamily("transcribe_queue_depth", "Jobs waiting in each RQ queue", labels=["queue"])
        workers = GaugeMetricFamily("transcribe_workers", "RQ workers alive")
        try:
            connection = self.connection_factory()
            for name in WORKER_QUEUES:
                depth.add_metric([name], Queue(name, connection=connection).count)
            workers.add_metric([], Worker.count(connection=connection))
            counts = {k.decode(): int(v) for k, v in connection.hgetall(WORKER_COUNTERS_KEY).items()}  # type: ignore[union-attr]
        except RedisError:
            return
        yield depth
        yield workers
        for name, help_text in WORKER_COUNTERS.items():
            yield CounterMetricFamily(f"transcribe_worker_{name}", help_text, value=counts.get(name, 0))


def render(connection_factory: ConnectionFactory) -> bytes:
    """The text exposition: this process's metrics (or all processes', in multiprocess mode), plus Redis's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)  # type: ignore[no-untyped-call]
        own = generate_latest(processes)
    else:
        own = generate_latest(REGISTRY)
    from_redis = CollectorRegistry()
    from_redis.register(RedisCollector(connection_factory))
    return own + generate_latest(from_redis)

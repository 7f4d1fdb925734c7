"""What only Redis knows, for `GET /metrics`: queue depths, live workers, and counters only the workers see.

Workers count what the API never learns of (results that could not be delivered, model loads) in a Redis hash;
`RedisCollector` reads it, with the queues and workers, at scrape time (`core.metrics.render`).
"""

import contextlib
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker

from queueing.queues import ALL_QUEUES

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
        depth = GaugeMetricFamily("transcribe_queue_depth", "Jobs waiting in each RQ queue", labels=["queue"])
        workers = GaugeMetricFamily("transcribe_workers", "RQ workers alive")
        try:
            connection = self.connection_factory()
            for name in ALL_QUEUES:
                depth.add_metric([name], Queue(name, connection=connection).count)
            workers.add_metric([], Worker.count(connection=connection))
            counts = {k.decode(): int(v) for k, v in connection.hgetall(WORKER_COUNTERS_KEY).items()}  # type: ignore[union-attr]
        except RedisError:
            return
        yield depth
        yield workers
        for name, help_text in WORKER_COUNTERS.items():
            yield CounterMetricFamily(f"transcribe_worker_{name}", help_text, value=counts.get(name, 0))

"""Prometheus metrics, served by the API at `GET /metrics`.

Everything is counted where the API learns of it (an upload, a task's event arriving, the reconciler), so one
scrape of the API sees all STT servers. What the workers alone know (results that could not be delivered, model
loads) they count in Redis, and `queueing.metrics.RedisCollector` reads it, with the queue depths, at scrape
time. Under several uvicorn processes set PROMETHEUS_MULTIPROC_DIR (an empty directory shared by them, cleared at
deploy) and the counters of all of them are summed (prometheus-client's multiprocess mode).
"""

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

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


def render(*collectors: Collector) -> bytes:
    """The text exposition: this process's metrics (or all processes', in multiprocess mode), plus `collectors`'
    (read at scrape time, e.g. `queueing.metrics.RedisCollector`)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)  # type: ignore[no-untyped-call]
        own = generate_latest(processes)
    else:
        own = generate_latest(REGISTRY)
    extra = CollectorRegistry()
    for collector in collectors:
        extra.register(collector)
    return own + generate_latest(extra)

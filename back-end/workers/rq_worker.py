"""The RQ worker of an STT server: `python workers/rq_worker.py` (start_worker.sh starts WORKER_COUNT of them).

It consumes `high_priority` before `audio_analysis`, runs RQ's scheduler (retry intervals need it) and loads the
Whisper model once, before its first job. Jobs run in this process (a `SimpleWorker`): CTranslate2 models hang
in a forked child, so forking a work-horse per job would mean loading the model per job. SIGTERM lets the
current job finish, then the worker exits.
"""

import logging
import signal
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the source root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rq import SimpleWorker

from core.settings import Settings, get_settings
from queueing.connection import get_worker_redis
from queueing.queues import WORKER_QUEUES, get_queue
from stt import get_engine
from tasks.cancellation import request_stop

log = logging.getLogger("workers.rq_worker")


class SttWorker(SimpleWorker):
    """A SimpleWorker whose process holds the one STT model every job uses."""

    def kill_horse(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """RQ's stop-job command. There is no horse to kill: ask the running task to stop between two segments.

        (A SimpleWorker's cold shutdown does not come here: it has no horse pid.)
        """
        job_id = self.get_current_job_id()
        if job_id is not None:
            request_stop(job_id)


def build_worker(settings: Settings) -> SttWorker:
    connection = get_worker_redis(settings)
    queues = [get_queue(name, connection) for name in WORKER_QUEUES]
    return SttWorker(queues, connection=connection, name=settings.worker_id)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    get_engine(settings)  # load the model before the first job, not during it
    worker = build_worker(settings)
    log.info("worker %s consuming %s", worker.name, ", ".join(WORKER_QUEUES))
    worker.work(with_scheduler=True, logging_level="INFO")
    return 0


if __name__ == "__main__":
    sys.exit(main())

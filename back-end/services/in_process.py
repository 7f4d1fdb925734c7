"""The in-process adapter: `run_in_process`, how the API process runs the analysis task (USE_RQ_QUEUE=false, or
Redis down at upload), through FastAPI's BackgroundTasks or a thread of its own.

Each event is recorded on the job's row at once (`services.job_events.record_event_in_process`), as the results
webhook's handler does for a worker's events. There is one attempt: any failure is final and reported `failed`;
nothing is raised, since nobody would catch it. A long recording's chunks run here one after the other, through
the same functions a worker runs; JOB_TIMEOUT limits each chunk as it does on a worker (checked between segments:
no signal can stop a thread).
"""

import logging

from core.settings import get_settings
from schemas.analysis import AnalysisEvent
from services.job_events import record_event_in_process
from tasks.audio_analysis import Attempt, TaskArgs, TaskFailure, finish_chunks, process_audio_analysis, process_chunk
from tasks.cancellation import JobCanceled
from tasks.chunks import Chunk

log = logging.getLogger(__name__)


def run_in_process(args: TaskArgs) -> None:
    settings = get_settings()

    def record(event: AnalysisEvent) -> None:
        record_event_in_process(event, settings)

    attempt = Attempt(args.job_id, settings.worker_id)
    time_limit_s = settings.job_timeout_s  # per chunk, as on a worker

    def one_after_the_other(chunks: list[Chunk]) -> None:
        results = [process_chunk(args, chunk, time_limit_s) for chunk in chunks]
        finish_chunks(args, attempt, record, chunks, results)

    try:
        process_audio_analysis(args, attempt, record, one_after_the_other, time_limit_s)
    except JobCanceled:
        log.info("job %s canceled", args.job_id)
    except TaskFailure as failure:
        log.warning("job %s failed: %s", args.job_id, failure.code, exc_info=failure)
        record(attempt.event("failed", error=failure.body))

"""The in-process adapter: `run_in_process`, how the API process runs the analysis task (USE_RQ_QUEUE=false, or
Redis down at upload), through FastAPI's BackgroundTasks or a thread of its own.

Each event is recorded on the job's row at once (`services.job_events.record_event_in_process`), as the results
webhook's handler does for a worker's events. There is one attempt: any failure is final and reported `failed`;
nothing is raised, since nobody would catch it.
"""

import logging

from core.settings import get_settings
from schemas.analysis import AnalysisEvent
from services.job_events import record_event_in_process
from tasks.audio_analysis import Attempt, TaskArgs, TaskFailure, process_audio_analysis
from tasks.cancellation import JobCanceled

log = logging.getLogger(__name__)


def run_in_process(args: TaskArgs) -> None:
    settings = get_settings()

    def record(event: AnalysisEvent) -> None:
        record_event_in_process(event, settings)

    attempt = Attempt(args.job_id, settings.worker_id)
    try:
        process_audio_analysis(args, attempt, record)
    except JobCanceled:
        log.info("job %s canceled", args.job_id)
    except TaskFailure as failure:
        log.warning("job %s failed: %s", args.job_id, failure.code, exc_info=failure)
        record(attempt.event("failed", error=failure.body))

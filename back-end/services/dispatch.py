"""Handing a job to its transport: an RQ queue, or the API process when USE_RQ_QUEUE=false.

The transport is the only difference: both run the task `tasks.audio_analysis.process_audio_analysis` with the
same `TaskArgs`, built from the job's row, through their adapter (`workers.rq_job.run_analysis` on a worker,
`services.in_process.run_in_process` here). When Redis cannot be reached, the job falls back to running in the
API process (FALLBACK_TO_BACKGROUND), or the hand-over is refused with 503.
"""

import logging
import threading
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from core.errors import ServiceUnavailable
from core.metrics import FALLBACKS
from core.settings import Settings
from db.models import Job
from queueing.connection import get_redis
from queueing.queues import BACKGROUND, QueueName, get_queue, job_options
from services.in_process import run_in_process
from services.job_events import announce
from tasks.audio_analysis import TaskArgs
from workers.rq_job import run_analysis

log = logging.getLogger(__name__)

RunInBackground = Callable[..., Any]
"""`BackgroundTasks.add_task` in a request; `run_in_thread` where the job must start at once or outside a request."""


def run_in_thread(func: Callable[[TaskArgs], object], args: TaskArgs) -> None:
    """Start an in-process job now, on a daemon thread of its own: for the reconciler (no request to attach it to)
    and for `/v1/audio/transcriptions` (its response waits for the job, so BackgroundTasks would run it too late)."""
    threading.Thread(target=func, args=(args,), name=f"job-{args.job_id}", daemon=True).start()


def task_args(job: Job) -> TaskArgs:
    """What the task needs of the job's row."""
    return TaskArgs(
        job_id=job.id,
        audio_url=job.audio_url,
        owner_id=job.owner_id,
        word_timestamps=job.word_timestamps,
        language=job.language,
        prompt=job.prompt,
        task="translate" if job.task == "translate" else "transcribe",
        vad=job.vad,
        diarize=job.diarize,
        min_speakers=job.min_speakers,
        max_speakers=job.max_speakers,
    )


def hand_over(job: Job, session: Session, settings: Settings, run_in_background: RunInBackground) -> None:
    """Give a committed job to the transport its row names; if Redis is away and it runs here, the row says so."""
    went_to = dispatch(task_args(job), job.queue, settings, run_in_background)
    if went_to != job.queue:
        job.queue = went_to
        session.commit()
        announce(job, "status", settings)


def dispatch(
    args: TaskArgs, queue_name: QueueName, settings: Settings, run_in_background: RunInBackground
) -> QueueName:
    """Hand the job over; return where it went (BACKGROUND after a fallback). 503 when it cannot go anywhere."""
    if queue_name == BACKGROUND:
        run_in_background(run_in_process, args)
        return BACKGROUND
    try:
        enqueue_analysis(args, queue_name, settings, get_redis(settings))
    except RedisError as exc:
        if not settings.fallback_to_background:
            raise ServiceUnavailable("queue_unavailable", "The job queue is unavailable; try again shortly.") from exc
        log.warning("job %s: Redis unreachable (%r), running it in the API process instead", args.job_id, exc)
        FALLBACKS.inc()
        run_in_background(run_in_process, args)
        return BACKGROUND
    return queue_name


def enqueue_analysis(args: TaskArgs, queue_name: str, settings: Settings, connection: Redis) -> None:
    get_queue(queue_name, connection).enqueue(
        run_analysis,
        kwargs=args.as_kwargs(),  # passed apart: `job_id` is also RQ's own option, set just below
        job_id=args.job_id,
        description=f"audio analysis {args.job_id}",
        **job_options(settings),
    )

"""The RQ adapter: `run_analysis`, the function RQ runs for an analysis job, around the transport-free task.

- Reports go to the API through the signed results webhook. A finished result the API cannot take is kept in the
  outbox and delivered later (`tasks.result_delivery`), never transcribed again; a `started` that cannot be
  delivered fails the attempt (nothing is done yet), so RQ retries it.
- Failures become RQ's decisions: a permanent one (or a cancel) zeroes `retries_left`, so RQ does not retry; the
  job is reported `failed` once, on its final attempt. The failure is raised on, so RQ records it.
- `SttJob` reads jobs enqueued before the task took its current arguments (see `upgrade_legacy`).
"""

import logging
from typing import Any

from rq import get_current_job
from rq.job import Job

from core.settings import Settings, get_settings
from queueing.connection import get_redis
from queueing.metrics import count_in_redis
from results import outbox
from results.sender import DeliveryError, deliver
from schemas.analysis import AnalysisEvent
from tasks.audio_analysis import Attempt, TaskArgs, TaskFailure, process_audio_analysis
from tasks.cancellation import JobCanceled
from tasks.result_delivery import schedule_delivery

log = logging.getLogger(__name__)


def run_analysis(**kwargs: Any) -> dict[str, Any]:
    """The RQ job function: `kwargs` are `TaskArgs`' fields."""
    settings = get_settings()
    rq_job = get_current_job()
    if rq_job is None:
        raise RuntimeError("run_analysis runs on an RQ worker; in the API process use services.in_process")
    args = TaskArgs(**kwargs)
    attempt = Attempt(args.job_id, rq_job.worker_name or settings.worker_id, _count_attempt(rq_job))

    def report(event: AnalysisEvent) -> None:
        deliver_or_keep(event, settings)

    try:
        result = process_audio_analysis(args, attempt, report)
    except JobCanceled:
        log.info("job %s canceled", args.job_id)
        rq_job.retries_left = 0
        raise
    except TaskFailure as failure:
        if failure.permanent:
            rq_job.retries_left = 0  # RQ reads this when it handles the failure: no retry
        final = failure.permanent or not rq_job.retries_left
        log.warning("job %s attempt %s failed: %s (final: %s)", args.job_id, attempt.number, failure.code, final)
        if final:
            report(attempt.event("failed", error=failure.body))
        raise  # RQ records the traceback, and retries unless that was the last attempt
    return {"job_id": args.job_id, "status": "completed", "audio_s": result.duration}


def deliver_or_keep(event: AnalysisEvent, settings: Settings) -> None:
    """Send the event to the API; if it is away, keep a finished job's event for later delivery."""
    try:
        deliver(event, settings)
    except DeliveryError:
        redis = get_redis(settings)
        count_in_redis(redis, "webhook_failures")
        if event.event == "started":
            raise  # nothing done yet: the attempt fails and RQ retries it
        outbox.keep(event, settings)  # done: never transcribe again because the API was away
        schedule_delivery(event.job_id, redis)
        log.warning("job %s: API unreachable, %s result kept for later delivery", event.job_id, event.event)


def _count_attempt(rq_job: Job) -> int:
    """This run's attempt number (1 = first try), kept in the RQ job's meta across retries."""
    attempt = int(rq_job.meta.get("attempt", 0)) + 1
    rq_job.meta["attempt"] = attempt
    rq_job.save_meta()  # type: ignore[no-untyped-call]
    return attempt


LEGACY_FUNC_NAME = "tasks.audio_analysis.process_audio_analysis"
"""What analysis jobs were enqueued as until the task became transport-free (with `s3_url`, `token_info`)."""


def upgrade_legacy(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of an analysis job enqueued by the previous release, as this one enqueues them.

    Kept for one release, so jobs waiting in Redis across the upgrade (queued, scheduled for a retry, or failed and
    requeued from rq-dashboard) still run. The previous release named `audio_url` `s3_url`, and passed `token_info`,
    of which only `sub` (now `owner_id`) was used.
    """
    upgraded = {key: value for key, value in kwargs.items() if key not in ("s3_url", "token_info")}
    upgraded["audio_url"] = kwargs["s3_url"]
    upgraded["owner_id"] = str(kwargs["token_info"].get("sub", ""))
    return upgraded


class SttJob(Job):
    """RQ's job, reading an analysis job enqueued by the previous release as this one enqueues it."""

    def _deserialize_data(self) -> None:
        super()._deserialize_data()  # type: ignore[no-untyped-call]
        if self.func_name == LEGACY_FUNC_NAME:
            self.func_name = f"{run_analysis.__module__}.{run_analysis.__name__}"
            self.kwargs = upgrade_legacy(self.kwargs)

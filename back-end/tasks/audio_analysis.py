"""`process_audio_analysis`: the one task both dispatch modes run (an RQ worker, or the API's BackgroundTasks).

It fetches the upload from storage, decodes it, transcribes it with the process's model, and reports each
step (started, completed, failed): from an RQ worker through the signed results webhook, from the API process
directly; either way `services.job_events.record_event` writes it to the job row. Progress (step, and how far
decoding has come) goes straight to the job's event stream in Redis, in both modes.

Under RQ a transient error is raised so RQ retries it (`Retry(max=MAX_RETRIES)`); a permanent one (audio that
cannot be decoded, a file missing from storage, running past JOB_TIMEOUT) cancels the remaining retries and fails
the job at once. A finished result that the API cannot take is kept and delivered later, never transcribed
again (`tasks.result_delivery`). A canceled job stops between two segments and reports nothing: the API has
already recorded the cancellation.
"""

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rq import get_current_job
from rq.job import Job as RqJob
from rq.timeouts import JobTimeoutException

from audio.decode import STT_SAMPLE_RATE, AudioDecodeError, decode_for_stt
from core.metrics import count_in_redis
from core.settings import Settings, get_settings
from events.job_stream import publish
from events.progress import ProgressReporter
from queueing.connection import get_redis
from results import outbox
from results.sender import DeliveryError, deliver
from schemas.analysis import AnalysisEvent, AnalysisResult, JobErrorBody
from services.job_events import record_event_in_process
from storage import ObjectNotFound, storage_for_url
from stt import get_engine
from tasks.cancellation import JobCanceled, raise_if_canceled
from tasks.result_delivery import schedule_delivery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    permanent: bool


def process_audio_analysis(
    job_id: str,
    s3_url: str,
    token_info: dict[str, Any],
    word_timestamps: bool = False,
    language: str | None = None,
    prompt: str | None = None,
) -> dict[str, Any]:
    """Transcribe the audio at `s3_url` (a storage URL) for job `job_id`, uploaded by `token_info["sub"]`.

    `language` (ISO-639-1, None = detect) and `prompt` (Whisper's initial prompt) go to the engine as they are.
    """
    settings = get_settings()
    redis = get_redis(settings)
    rq_job = get_current_job()
    attempt = _count_attempt(rq_job)
    worker_id = (rq_job.worker_name if rq_job else None) or settings.worker_id
    context = {"job_id": job_id, "user_id": token_info.get("sub"), "attempt": attempt, "worker_id": worker_id}

    def report(kind: str, **fields: Any) -> None:
        event = AnalysisEvent(
            job_id=job_id, event=kind, attempt=attempt, worker_id=worker_id, occurred_at=datetime.now(UTC), **fields
        )
        if rq_job is None:
            record_event_in_process(event, settings)
            return
        try:
            deliver(event, settings)
        except DeliveryError:
            count_in_redis(redis, "webhook_failures")
            if kind == "started":
                raise  # nothing done yet: RQ retries the job
            outbox.keep(event, settings)  # done: never transcribe again because the API was away
            schedule_delivery(job_id, redis)
            log.warning("job %s: API unreachable, %s result kept for later delivery", job_id, kind)

    def send_progress(data: dict[str, Any]) -> None:
        publish(redis, job_id, "progress", data)

    progress = ProgressReporter(job_id, send_progress)
    try:
        raise_if_canceled(redis, job_id)
        report("started")
        log.info("job %s started, attempt %s", job_id, attempt, extra=context)
        result = analyse(
            s3_url,
            settings,
            progress,
            word_timestamps,
            lambda: raise_if_canceled(redis, job_id),
            language=language,
            prompt=prompt,
        )
        progress.enter("delivering")
        report("completed", result=result)
    except JobCanceled:
        log.info("job %s canceled", job_id, extra=context)
        if rq_job is None:
            return {"job_id": job_id, "status": "canceled"}
        rq_job.retries_left = 0
        raise
    except Exception as exc:
        failure = classify(exc)
        if failure.permanent and rq_job is not None:
            rq_job.retries_left = 0  # RQ reads this when it handles the failure: no retry
        final = failure.permanent or rq_job is None or not rq_job.retries_left
        log.warning("job %s attempt %s failed: %s (final: %s)", job_id, attempt, failure.code, final, exc_info=exc)
        if final:
            report("failed", error=JobErrorBody(code=failure.code, message=failure.message))
        if rq_job is None:
            return {"job_id": job_id, "status": "failed", "code": failure.code}
        raise  # RQ records the traceback, and retries unless that was the last attempt
    log.info("job %s transcribed: %.1f s of audio", job_id, result.duration, extra=context)
    return {"job_id": job_id, "status": "completed", "audio_s": result.duration}


def analyse(
    audio_url: str,
    settings: Settings,
    progress: ProgressReporter,
    word_timestamps: bool = False,
    check_canceled: Callable[[], None] = lambda: None,
    *,
    language: str | None = None,
    prompt: str | None = None,
) -> AnalysisResult:
    """Fetch, decode and transcribe, telling `progress` how far it is; `check_canceled` may raise to stop."""
    with tempfile.TemporaryDirectory(prefix="stt-") as scratch:
        path = Path(scratch) / "audio"
        progress.enter("downloading")
        storage_for_url(audio_url, settings).fetch(audio_url, path)
        check_canceled()
        progress.enter("decoding")
        audio = decode_for_stt(path)
    progress.duration_s = len(audio) / STT_SAMPLE_RATE
    progress.enter("transcribing")

    def on_segment(end_s: float) -> None:
        check_canceled()
        progress.decoded_until(end_s)

    return get_engine(settings).transcribe(
        audio,
        on_segment=lambda segment: on_segment(segment.end),
        word_timestamps=word_timestamps,
        language=language,
        prompt=prompt,
    )


def classify(exc: Exception) -> Failure:
    """Permanent failures will fail again on retry; anything else might not."""
    if isinstance(exc, JobTimeoutException):
        return Failure("timeout", "Transcription took longer than JOB_TIMEOUT.", permanent=True)
    if isinstance(exc, AudioDecodeError):
        return Failure("undecodable_audio", str(exc), permanent=True)
    if isinstance(exc, ObjectNotFound):
        return Failure("audio_missing", "The uploaded audio is no longer in storage.", permanent=True)
    return Failure("processing_failed", f"Transcription failed: {type(exc).__name__}", permanent=False)


def _count_attempt(rq_job: RqJob | None) -> int:
    """This run's attempt number (1 = first try), kept in the RQ job's meta across retries."""
    if rq_job is None:
        return 1
    attempt = int(rq_job.meta.get("attempt", 0)) + 1
    rq_job.meta["attempt"] = attempt
    rq_job.save_meta()  # type: ignore[no-untyped-call]
    return attempt

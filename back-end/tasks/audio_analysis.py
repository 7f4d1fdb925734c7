"""`process_audio_analysis`: the one task both transports run, and nothing in it knows which one runs it.

It fetches the upload from storage, decodes it, transcribes it with the process's model, reports `started` and
`completed` through the `report` it is given, and publishes progress (step, and how far transcription has come)
to the job's event stream in Redis. It ends in one of three ways:
- it returns the result (already reported as `completed`);
- it raises `TaskFailure`: `PermanentFailure` (audio that cannot be decoded, a file missing from storage, running
  past JOB_TIMEOUT, no model to be had: another attempt would fail the same way) or `TransientFailure` (anything else);
- it raises `JobCanceled` (from `tasks.cancellation`): it stopped between two segments and reported nothing, since
  the API has already recorded the cancellation.

What a report or a failure means is the adapter's business: `workers.rq_job` (an RQ worker: the signed results
webhook, the outbox when the API is away, RQ's retries) and `services.in_process` (the API process: the event is
recorded on the row directly; one attempt). `USE_RQ_QUEUE` picks the adapter and nothing else.

TaskFailure                 the task ended without a result; `code` and `message` become the job's error
├── PermanentFailure        retrying cannot help: the job fails at once
└── TransientFailure        another attempt might succeed: retried while retries remain
"""

import logging
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from rq.timeouts import JobTimeoutException

from audio.decode import STT_SAMPLE_RATE, AudioDecodeError, decode_for_stt
from core.settings import Settings, get_settings
from events.job_stream import publish
from events.progress import ProgressReporter
from queueing.connection import get_redis
from schemas.analysis import AnalysisEvent, AnalysisResult, JobErrorBody
from storage import ObjectNotFound, storage_for_url
from stt import ModelUnavailable, get_engine
from stt.engine import Task
from tasks.cancellation import JobCanceled, raise_if_canceled

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskArgs:
    """What the task needs to know of its job: plain values, so RQ can keep them (as keyword arguments)."""

    job_id: str
    audio_url: str
    """Where the upload is stored (`local://…` or `s3://…`)."""
    owner_id: str
    word_timestamps: bool = False
    language: str | None = None
    """ISO-639-1 code of the spoken language, or None to let the model detect it."""
    prompt: str | None = None
    """Whisper's initial prompt: spelling, style and vocabulary to follow."""
    task: Task = "transcribe"
    """`translate`: English, whatever was spoken."""
    vad: bool = True
    """Skip silence and noise (Silero VAD) before Whisper sees the audio."""

    def as_kwargs(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Attempt:
    """Which run of the job this is, and where: every event the task or its adapter reports carries it."""

    job_id: str
    worker_id: str
    number: int = 1
    """1 for the first try."""

    def event(
        self,
        kind: Literal["started", "completed", "failed"],
        *,
        result: AnalysisResult | None = None,
        error: JobErrorBody | None = None,
    ) -> AnalysisEvent:
        return AnalysisEvent(
            job_id=self.job_id,
            event=kind,
            attempt=self.number,
            worker_id=self.worker_id,
            occurred_at=datetime.now(UTC),
            result=result,
            error=error,
        )


Report = Callable[[AnalysisEvent], None]
"""Takes the task's `started` and `completed` events (and the adapter's `failed`) to the job's row."""


class TaskFailure(Exception):
    """Raised when the task ends without a result; the root of the failures an adapter handles."""

    permanent: ClassVar[bool] = False

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def body(self) -> JobErrorBody:
        return JobErrorBody(code=self.code, message=self.message)


class PermanentFailure(TaskFailure):
    """Raised when another attempt would fail the same way: the job fails at once."""

    permanent = True


class TransientFailure(TaskFailure):
    """Raised when another attempt might succeed: retried while retries remain."""


def process_audio_analysis(args: TaskArgs, attempt: Attempt, report: Report) -> AnalysisResult:
    """Transcribe the job's audio; `report` gets `started`, then `completed` with the result (also returned)."""
    settings = get_settings()
    redis = get_redis(settings)

    def send_progress(data: dict[str, Any]) -> None:
        publish(redis, args.job_id, "progress", data)

    progress = ProgressReporter(args.job_id, send_progress)
    context = {"job_id": args.job_id, "user_id": args.owner_id, "attempt": attempt.number}
    try:
        raise_if_canceled(redis, args.job_id)
        report(attempt.event("started"))
        log.info("job %s started, attempt %s", args.job_id, attempt.number, extra=context)
        result = analyse(args, settings, progress, lambda: raise_if_canceled(redis, args.job_id))
        progress.enter("delivering")
        report(attempt.event("completed", result=result))
    except (JobCanceled, TaskFailure):
        raise
    except Exception as exc:
        raise classify(exc) from exc
    log.info("job %s transcribed: %.1f s of audio", args.job_id, result.duration, extra=context)
    return result


def analyse(
    args: TaskArgs, settings: Settings, progress: ProgressReporter, check_canceled: Callable[[], None] = lambda: None
) -> AnalysisResult:
    """Fetch, decode and transcribe, telling `progress` how far it is; `check_canceled` may raise to stop."""
    with tempfile.TemporaryDirectory(prefix="stt-") as scratch:
        path = Path(scratch) / "audio"
        progress.enter("downloading")
        storage_for_url(args.audio_url, settings).fetch(args.audio_url, path)
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
        word_timestamps=args.word_timestamps,
        language=args.language,
        prompt=args.prompt,
        task=args.task,
        vad=args.vad,
    )


def classify(exc: Exception) -> TaskFailure:
    """Permanent failures will fail again on retry; anything else might not."""
    if isinstance(exc, JobTimeoutException):
        return PermanentFailure("timeout", "Transcription took longer than JOB_TIMEOUT.")
    if isinstance(exc, AudioDecodeError):
        return PermanentFailure("undecodable_audio", str(exc))
    if isinstance(exc, ObjectNotFound):
        return PermanentFailure("audio_missing", "The uploaded audio is no longer in storage.")
    if isinstance(exc, ModelUnavailable):  # in the API process: a worker would not have started
        return PermanentFailure("model_unavailable", str(exc))
    return TransientFailure("processing_failed", f"Transcription failed: {type(exc).__name__}")

"""`process_audio_analysis`: the one task both transports run, and nothing in it knows which one runs it.

It fetches the upload from storage, measures it, decodes it, transcribes it with the process's model, reports
`started` and `completed` through the `report` it is given, and publishes progress (step, and how far
transcription has come) to the job's event stream in Redis. It ends in one of four ways:
- it returns the result (already reported as `completed`);
- the recording is long: it cuts it into chunks (`tasks.chunks`) and hands them to its `fan_out`, which runs
  `process_chunk` on each (on every worker at once, or one after the other) and then `finish_chunks`, which
  merges their transcripts and reports `completed`;
- it raises `TaskFailure`: `PermanentFailure` (audio that cannot be decoded, a file missing from storage, running
  past JOB_TIMEOUT, no model to be had: another attempt would fail the same way) or `TransientFailure`
  (anything else);
- it raises `JobCanceled` (from `tasks.cancellation`): it stopped between two segments and reported nothing, since
  the API has already recorded the cancellation.

What a report or a failure means is the adapter's business: `workers.rq_job` (an RQ worker: the signed results
webhook, the outbox when the API is away, RQ's retries) and `services.in_process` (the API process: the event is
recorded on the row directly; one attempt). `USE_RQ_QUEUE` picks the adapter and nothing else.

TaskFailure                 the task ended without a result; `code` and `message` become the job's error
├── PermanentFailure        retrying cannot help: the job fails at once
└── TransientFailure        another attempt might succeed: retried while retries remain
"""

import contextlib
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from rq.timeouts import JobTimeoutException

from audio.decode import AudioDecodeError, measure_duration
from core.settings import Settings, get_settings
from events.job_stream import publish
from events.progress import ProgressReporter
from queueing.connection import get_redis
from schemas.analysis import AnalysisEvent, AnalysisResult, JobErrorBody
from speakers import DiarizationUnavailable
from storage import ObjectNotFound, storage_for_url
from stt import ModelUnavailable
from stt.engine import Task
from tasks.cancellation import JobCanceled, raise_if_canceled
from tasks.chunks import Chunk, ChunkTranscript, Speakers, merged, plan_chunks, transcribe_chunk

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
    diarize: bool = False
    """Tell who said what (speaker labels on segments and words)."""
    min_speakers: int | None = None
    max_speakers: int | None = None

    def as_kwargs(self) -> dict[str, Any]:
        return asdict(self)

    def engine_options(self) -> dict[str, Any]:
        """What the engine's `transcribe` takes of them."""
        options = self.as_kwargs()
        for name in ("job_id", "audio_url", "owner_id", "diarize", "min_speakers", "max_speakers"):
            del options[name]
        return options

    def speakers(self) -> Speakers | None:
        """Diarization, when asked for."""
        return Speakers(self.min_speakers, self.max_speakers) if self.diarize else None


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


TIMEOUT = ("timeout", "Transcription took longer than JOB_TIMEOUT (for one chunk of a long recording).")


FanOut = Callable[[list[Chunk]], None]
"""Hands a long recording's chunks to the transport, which runs `process_chunk` on each and then `finish_chunks`."""


def process_audio_analysis(
    args: TaskArgs, attempt: Attempt, report: Report, fan_out: FanOut, time_limit_s: float | None = None
) -> AnalysisResult | None:
    """Transcribe the job's audio; `report` gets `started`, then `completed` with the result (also returned).

    A recording longer than CHUNK_ABOVE_S is cut into chunks instead, which go to `fan_out`; then this returns None
    and `finish_chunks` reports the job completed. `time_limit_s` stops it (`timeout`) where nothing else would:
    in the API process (on a worker, RQ's JOB_TIMEOUT does).
    """
    settings = get_settings()
    context = {"job_id": args.job_id, "user_id": args.owner_id, "attempt": attempt.number}
    with typed_failures():
        check = stop_check(args.job_id, time_limit_s)
        check()
        report(attempt.event("started"))
        log.info("job %s started, attempt %s", args.job_id, attempt.number, extra=context)
        progress = _progress(args.job_id, 0.0)
        with fetched(args, settings, progress) as path:
            progress.enter("decoding")
            chunks = plan_chunks(path, measure_duration(path), settings)
            if len(chunks) > 1:
                log.info("job %s: %.0f s of audio in %s chunks", args.job_id, chunks[0].total_s, len(chunks))
                fan_out(chunks)
                return None
            progress.total_s = chunks[0].total_s
            transcript = transcribe_chunk(
                path, chunks[0], args.engine_options(), args.speakers(), settings, progress, check
            )
        result = merged([transcript], chunks, args.speakers())
        progress.enter("delivering")
        report(attempt.event("completed", result=result))
    log.info("job %s transcribed: %.1f s of audio", args.job_id, result.duration, extra=context)
    return result


def process_chunk(args: TaskArgs, chunk: Chunk, time_limit_s: float | None = None) -> ChunkTranscript:
    """One chunk of a long recording, transcribed (and diarized, if asked) in the recording's time; nothing
    reported: `finish_chunks` does."""
    settings = get_settings()
    with typed_failures():
        check = stop_check(args.job_id, time_limit_s)
        check()
        progress = _progress(args.job_id, chunk.total_s, chunk)
        with fetched(args, settings, progress) as path:
            transcript = transcribe_chunk(
                path, chunk, args.engine_options(), args.speakers(), settings, progress, check
            )
    log.info("job %s: chunk %s (%.0f-%.0f s) transcribed", args.job_id, chunk.index, chunk.start_s, chunk.end_s)
    return transcript


def finish_chunks(
    args: TaskArgs, attempt: Attempt, report: Report, chunks: list[Chunk], transcripts: list[ChunkTranscript]
) -> AnalysisResult:
    """The chunks' transcripts merged into the job's, reported `completed`."""
    with typed_failures():
        _progress(args.job_id, chunks[0].total_s, chunks[-1]).enter("delivering")
        result = merged(transcripts, chunks, args.speakers())
        report(attempt.event("completed", result=result))
    log.info("job %s transcribed: %.1f s of audio in %s chunks", args.job_id, result.duration, len(chunks))
    return result


def stop_check(job_id: str, time_limit_s: float | None) -> Callable[[], None]:
    """What a task calls between two steps or segments: raises when the job was canceled or ran out of time."""
    redis = get_redis(get_settings())
    deadline = None if time_limit_s is None else time.monotonic() + time_limit_s

    def check() -> None:
        raise_if_canceled(redis, job_id)
        if deadline is not None and time.monotonic() > deadline:
            raise PermanentFailure(*TIMEOUT)

    return check


@contextlib.contextmanager
def fetched(args: TaskArgs, settings: Settings, progress: ProgressReporter) -> Iterator[Path]:
    """The job's upload, fetched from storage into a scratch file, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="stt-") as scratch:
        path = Path(scratch) / "audio"
        if not progress.chunk:
            progress.enter("downloading")
        storage_for_url(args.audio_url, settings).fetch(args.audio_url, path)
        yield path


@contextlib.contextmanager
def typed_failures() -> Iterator[None]:
    """Any exception but a cancel leaves as a `TaskFailure`, permanent or not (`classify`)."""
    try:
        yield
    except (JobCanceled, TaskFailure):
        raise
    except Exception as exc:
        raise classify(exc) from exc


def _progress(job_id: str, total_s: float, chunk: Chunk | None = None) -> ProgressReporter:
    redis = get_redis(get_settings())

    def send(data: dict[str, Any]) -> None:
        publish(redis, job_id, "progress", data)

    if chunk is None:
        return ProgressReporter(job_id, send, redis, total_s)
    return ProgressReporter(job_id, send, redis, total_s, chunk.index, chunk.start_s)


def classify(exc: Exception) -> TaskFailure:
    """Permanent failures will fail again on retry; anything else might not."""
    if isinstance(exc, JobTimeoutException):
        return PermanentFailure(*TIMEOUT)
    if isinstance(exc, AudioDecodeError):
        return PermanentFailure("undecodable_audio", str(exc))
    if isinstance(exc, ObjectNotFound):
        return PermanentFailure("audio_missing", "The uploaded audio is no longer in storage.")
    if isinstance(exc, ModelUnavailable):  # in the API process: a worker would not have started
        return PermanentFailure("model_unavailable", str(exc))
    if isinstance(exc, DiarizationUnavailable):  # in the API process: no worker without it takes such a job
        return PermanentFailure("diarization_unavailable", str(exc))
    return TransientFailure("processing_failed", f"Transcription failed: {type(exc).__name__}")

"""The RQ adapter: the functions RQ runs for an analysis job, around the transport-free task.

- `run_analysis` runs the task. A long recording's chunks become RQ jobs of their own on the job's queue
  (`run_part`, RQ job ids `<job id>-part<n>`), so every idle worker on every STT server takes one, each with the job's
  retries and JOB_TIMEOUT; the merge (`run_merge`, `<job id>-merge`) waits for all of them through RQ's
  `Dependency` and reads their transcripts from RQ's results.
- Reports go to the API through the signed results webhook. A finished result the API cannot take is kept in the
  outbox and delivered later (`tasks.result_delivery`), never transcribed again; a `started` that cannot be
  delivered fails the attempt (nothing is done yet), so RQ retries it.
- Failures become RQ's decisions: a permanent one (or a cancel) zeroes `retries_left`, so RQ does not retry; the
  job is reported `failed` once, on its final attempt, and its other chunks are told to stop. The failure is
  raised on, so RQ records it. A killed worker loses only its own chunk: the sweeper puts that one back.
- `SttJob` reads jobs enqueued before the task took its current arguments (see `upgrade_legacy`).
"""

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from redis import Redis
from rq import Queue, get_current_job
from rq.job import Dependency, Job

from core.settings import Settings, get_settings
from queueing.connection import get_redis
from queueing.metrics import count_in_redis
from queueing.queues import PART_RESULT_TTL_S, job_options
from results import outbox
from results.sender import DeliveryError, deliver
from schemas.analysis import AnalysisEvent, AnalysisResult
from tasks.audio_analysis import (
    Attempt,
    Report,
    TaskArgs,
    TaskFailure,
    TransientFailure,
    finish_chunks,
    process_audio_analysis,
    process_chunk,
)
from tasks.cancellation import JobCanceled, mark_canceled
from tasks.chunks import Chunk, ChunkTranscript
from tasks.result_delivery import schedule_delivery

log = logging.getLogger(__name__)

Outcome = TypeVar("Outcome")

PARTS_TTL_S = 7 * 24 * 3600
"""How long the list of a job's chunk jobs is kept (for cancel and the reconciler)."""


def run_analysis(**kwargs: Any) -> dict[str, Any]:
    """The RQ job function: `kwargs` are `TaskArgs`' fields."""
    args = TaskArgs(**kwargs)

    def analyse(attempt: Attempt, report: Report) -> dict[str, Any]:
        result = process_audio_analysis(args, attempt, report, lambda chunks: enqueue_parts(args, chunks))
        return {"job_id": args.job_id, "status": "completed" if result else "split", "audio_s": _seconds(result)}

    return on_worker(args, analyse)


def run_part(chunk: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """One chunk of a long recording: its transcript, in the recording's time, kept as this RQ job's result."""
    args, part = TaskArgs(**kwargs), Chunk(**chunk)
    return on_worker(args, lambda _attempt, _report: process_chunk(args, part).model_dump(mode="json"))


def run_merge(chunks: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """After every chunk: their transcripts, from RQ's results, merged and reported `completed`."""
    args, parts = TaskArgs(**kwargs), [Chunk(**chunk) for chunk in chunks]

    def merge(attempt: Attempt, report: Report) -> dict[str, Any]:
        connection = get_redis(get_settings())
        results = [_part_result(connection, part_job_id(args.job_id, part.index)) for part in parts]
        result = finish_chunks(args, attempt, report, parts, results)
        return {"job_id": args.job_id, "status": "completed", "audio_s": result.duration}

    return on_worker(args, merge)


def on_worker(args: TaskArgs, work: Callable[[Attempt, Report], Outcome]) -> Outcome:
    """Run `work` as this RQ job's attempt, with the failure policy above."""
    settings = get_settings()
    rq_job = get_current_job()
    if rq_job is None:
        raise RuntimeError("RQ runs this on a worker; in the API process use services.in_process")
    attempt = Attempt(args.job_id, rq_job.worker_name or settings.worker_id, _count_attempt(rq_job))

    def report(event: AnalysisEvent) -> None:
        deliver_or_keep(event, settings)

    try:
        return work(attempt, report)
    except JobCanceled:
        log.info("job %s canceled (%s)", args.job_id, rq_job.id)
        rq_job.retries_left = 0
        raise
    except TaskFailure as failure:
        if failure.permanent:
            rq_job.retries_left = 0  # RQ reads this when it handles the failure: no retry
        final = failure.permanent or not rq_job.retries_left
        log.warning(
            "job %s: %s attempt %s failed: %s (final: %s)", args.job_id, rq_job.id, attempt.number, failure.code, final
        )
        if final:
            report(attempt.event("failed", error=failure.body))
            mark_canceled(get_redis(settings), args.job_id)  # the job's other chunks stop: it has failed
        raise  # RQ records the traceback, and retries unless that was the last attempt


def enqueue_parts(args: TaskArgs, chunks: list[Chunk]) -> None:
    """Each chunk as an RQ job on the current job's queue, then the merge, which RQ starts after all of them."""
    rq_job = get_current_job()
    assert rq_job is not None
    settings = get_settings()
    queue = Queue(rq_job.origin, connection=rq_job.connection)
    kwargs = args.as_kwargs()
    parts = [
        queue.enqueue(
            run_part,
            kwargs={**kwargs, "chunk": chunk.as_kwargs()},
            job_id=part_job_id(args.job_id, chunk.index),
            description=f"audio analysis {args.job_id}, {chunk.start_s:.0f}-{chunk.end_s:.0f} s",
            **{**job_options(settings), "result_ttl": PART_RESULT_TTL_S},
        )
        for chunk in chunks
    ]
    merge = queue.enqueue(
        run_merge,
        kwargs={**kwargs, "chunks": [chunk.as_kwargs() for chunk in chunks]},
        job_id=merge_job_id(args.job_id),
        depends_on=Dependency(jobs=parts, enqueue_at_front=True),
        description=f"audio analysis {args.job_id}, merge of {len(chunks)} chunks",
        **job_options(settings),
    )
    remember_parts(rq_job.connection, args.job_id, [*(part.id for part in parts), merge.id])


def part_job_id(job_id: str, index: int) -> str:
    return f"{job_id}-part{index}"


def merge_job_id(job_id: str) -> str:
    return f"{job_id}-merge"


def parts_key(job_id: str) -> str:
    return f"transcribe:job:{job_id}:parts"


def remember_parts(connection: Redis, job_id: str, rq_job_ids: list[str]) -> None:
    with connection.pipeline() as pipe:
        pipe.delete(parts_key(job_id))
        pipe.rpush(parts_key(job_id), *rq_job_ids)
        pipe.expire(parts_key(job_id), PARTS_TTL_S)
        pipe.execute()


def part_ids(connection: Redis, job_id: str) -> list[str]:
    """The RQ jobs a long recording's job became (its chunks, then its merge); none for a short one."""
    return [raw.decode() for raw in connection.lrange(parts_key(job_id), 0, -1)]  # type: ignore[union-attr]


def _part_result(connection: Redis, rq_job_id: str) -> ChunkTranscript:
    job = Job.fetch(rq_job_id, connection=connection)
    value = job.return_value()
    if value is None:  # RQ no longer has it (expired, or Redis lost it): the reconciler runs the job again
        raise TransientFailure("chunk_lost", f"The transcript of {rq_job_id} is no longer in the queue.")
    if "result" not in value:  # a chunk transcribed by the previous release, which kept the bare result
        return ChunkTranscript(result=AnalysisResult.model_validate(value))
    return ChunkTranscript.model_validate(value)


def _seconds(result: AnalysisResult | None) -> float | None:
    return None if result is None else result.duration


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

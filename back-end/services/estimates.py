"""Where a queued job stands: jobs ahead of it, and roughly how long until a worker takes it."""

from core.settings import Settings
from db.job_repository import JobRepository
from db.models import Job, JobStatus
from queueing.queues import BACKGROUND, connected_workers

DEFAULT_SECONDS_PER_AUDIO_SECOND = 0.15
"""Processing time per audio second assumed until a job has completed (base, int8: RTF ~0.1-0.25, measured)."""


def place_in_line(job: Job, repository: JobRepository, settings: Settings) -> tuple[int | None, float | None]:
    """(position, estimated_wait_s) of a queued job: audio ahead x recent processing rate / workers."""
    if job.status != JobStatus.QUEUED:
        return None, None
    if job.queue == BACKGROUND:
        return 0, 0.0  # runs as soon as the upload's response is sent
    count, audio_ahead_s = repository.queued_ahead(job)
    if count == 0:
        return 0, 0.0
    rate = repository.seconds_per_audio_second() or DEFAULT_SECONDS_PER_AUDIO_SECOND
    return count, round(audio_ahead_s * rate / max(1, connected_workers(settings)), 1)

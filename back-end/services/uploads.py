"""Accepting an upload: check it is audio, store it, record the job, announce it, hand it to its transport.

A 202 means the stored file and the job row both exist; any refusal leaves neither behind.
"""

import logging
import uuid
from typing import BinaryIO

from fastapi import BackgroundTasks
from sqlalchemy.orm import Session

from audio.decode import AudioDecodeError, AudioInfo, probe_audio
from audio.format import SNIFF_BYTES, sniff_format
from core.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from core.security import Principal
from core.settings import Settings
from db.job_repository import JobRepository
from db.models import Job, JobStatus
from queueing.dispatch import TaskArgs, dispatch
from queueing.queues import BACKGROUND, Priority, queue_name_for
from schemas.job import JobAccepted, JobRead
from services.estimates import place_in_line
from services.job_events import announce
from storage import Storage, audio_key, get_storage

log = logging.getLogger(__name__)


def accept_upload(
    source: BinaryIO,
    size: int,
    filename: str | None,
    priority: Priority,
    word_timestamps: bool,
    principal: Principal,
    settings: Settings,
    session: Session,
    background_tasks: BackgroundTasks,
) -> JobAccepted:
    audio_format, info = check_audio(source, size, settings)
    job_id = uuid.uuid4().hex
    queue_name = queue_name_for(priority) if settings.use_rq_queue else BACKGROUND
    storage = get_storage(settings)
    url = storage.put(audio_key(job_id, audio_format), source)
    repository = JobRepository(session)
    try:
        job = repository.add(
            Job(
                id=job_id,
                owner_id=principal.user_id,
                status=JobStatus.QUEUED,
                queue=queue_name,
                priority=priority,
                audio_url=url,
                audio_format=audio_format,
                audio_bytes=size,
                audio_duration_s=info.duration_s,
                original_filename=(filename or "")[:255] or None,
                word_timestamps=word_timestamps,
                progress=0,
                retry_count=0,
            )
        )
        session.commit()
        position, wait_s = place_in_line(job, repository, settings)
        announce(job, "status", settings, JobRead.of(job, position, wait_s))  # before any worker can start it
        args = TaskArgs(job_id=job_id, s3_url=url, token_info=principal.token_info(), word_timestamps=word_timestamps)
        dispatch(args, queue_name, settings, background_tasks)
    except BaseException:
        _undo(session, repository, job_id, storage, url)
        raise
    log.info("upload accepted", extra={"job_id": job_id, "queue": queue_name, "audio_bytes": size})
    return JobAccepted(
        job_id=job.id, status=job.status, queue=queue_name, position=position or 0, estimated_wait_s=wait_s or 0.0
    )


def check_audio(source: BinaryIO, size: int, settings: Settings) -> tuple[str, AudioInfo]:
    """The upload's audio format and what the probe found, or the refusal that fits it."""
    if size == 0:
        raise BadRequest("empty_file", "The uploaded file is empty.")
    if size > settings.max_upload_bytes:
        raise PayloadTooLarge("file_too_large", f"The file is larger than {settings.max_upload_mb} MB.")
    audio_format = sniff_format(source.read(SNIFF_BYTES))
    source.seek(0)
    if audio_format is None:
        raise UnsupportedMediaType(
            "unsupported_media_type", "The file is not audio in a supported format (wav, flac, mp3, ogg, m4a, webm)."
        )
    try:
        info = probe_audio(source)
    except AudioDecodeError as exc:
        raise BadRequest("undecodable_audio", str(exc)) from exc
    finally:
        source.seek(0)
    return audio_format, info


def _undo(session: Session, repository: JobRepository, job_id: str, storage: Storage, url: str) -> None:
    """Remove what a failed acceptance left: the row (if committed) and the stored file."""
    try:
        session.rollback()
        job = repository.get(job_id)
        if job is not None:
            repository.delete(job)
            session.commit()
    finally:
        storage.delete(url)

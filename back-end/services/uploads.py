"""Accepting an upload: check it is audio, store it, record the job, announce it, hand it to its transport.

A 202 means the stored file and the job row both exist; any refusal leaves neither behind. The same
`Idempotency-Key` from the same user within IDEMPOTENCY_WINDOW answers with the first job instead of a new one.
"""

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audio.decode import AudioDecodeError, AudioInfo, probe_audio
from audio.format import SNIFF_BYTES, sniff_format
from callbacks.address_guard import accept_callback_url
from core.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from core.security import Principal
from core.settings import Settings
from db.job_repository import JobRepository
from db.models import Job, JobStatus
from queueing.queues import BACKGROUND, Priority, check_capacity, queue_name_for
from schemas.job import JobAccepted, JobRead
from services.diarization import require_diarization
from services.dispatch import RunInBackground, hand_over
from services.estimates import place_in_line
from services.job_events import announce
from services.transcription_options import check_language, check_prompt, check_speakers, check_task
from storage import Storage, audio_key, get_storage
from stt.engine import Task

log = logging.getLogger(__name__)

IDEMPOTENCY_WINDOW = timedelta(hours=24)
MAX_IDEMPOTENCY_KEY_LENGTH = 255


def accept_upload(
    source: BinaryIO,
    size: int,
    filename: str | None,
    priority: Priority,
    word_timestamps: bool,
    idempotency_key: str | None,
    principal: Principal,
    settings: Settings,
    session: Session,
    run_in_background: RunInBackground,
    *,
    language: str | None = None,
    prompt: str | None = None,
    task: Task = "transcribe",
    vad: bool | None = None,
    callback_url: str | None = None,
    diarize: bool = False,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> JobAccepted:
    """`language` (Whisper's codes; None = detect), `prompt` and `task` are checked here and reach the engine as they
    are; `vad` None means the deployment's STT_VAD; `diarize` needs someone who can (else 503)."""
    language, prompt, task = check_language(language, settings), check_prompt(prompt), check_task(task, settings)
    min_speakers, max_speakers = check_speakers(diarize, min_speakers, max_speakers)
    callback_url = accept_callback_url(callback_url, settings.callback_allowed_hosts)  # SSRF: before anything is kept
    repository = JobRepository(session)
    if idempotency_key is not None and (earlier := _earlier_job(repository, principal, idempotency_key)):
        return _accepted(earlier, *place_in_line(earlier, repository, settings))
    queue_name = queue_name_for(priority, diarize) if settings.use_rq_queue else BACKGROUND
    if queue_name != BACKGROUND:
        check_capacity(settings)
    if diarize:
        require_diarization(queue_name, settings)
    audio_format, info = check_audio(source, size, settings)
    job_id = uuid.uuid4().hex
    storage = get_storage(settings)
    url = storage.put(audio_key(job_id, audio_format), source)
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
                language=language,
                prompt=prompt,
                task=task,
                vad=settings.stt_vad if vad is None else vad,
                diarize=diarize,
                min_speakers=min_speakers,
                max_speakers=max_speakers,
                callback_url=callback_url,
                idempotency_key=idempotency_key,
                progress=0,
                retry_count=0,
            )
        )
        session.commit()
        position, wait_s = place_in_line(job, repository, settings)
        announce(job, "status", settings, JobRead.of(job, position, wait_s))  # before a worker can say "started"
        hand_over(job, session, settings, run_in_background)
    except IntegrityError:  # the same Idempotency-Key raced in from another request, which won
        _undo(session, repository, job_id, storage, url)
        assert idempotency_key is not None
        winner = repository.find_by_idempotency_key(principal.user_id, idempotency_key)
        assert winner is not None
        return _accepted(winner, *place_in_line(winner, repository, settings))
    except BaseException:
        _undo(session, repository, job_id, storage, url)
        raise
    log.info("job %s accepted on %s (%s bytes)", job_id, job.queue, size)
    if job.queue == BACKGROUND:  # it went there for want of Redis: it runs now
        position, wait_s = 0, 0.0
    return _accepted(job, position, wait_s)


def check_audio(source: BinaryIO, size: int, settings: Settings) -> tuple[str, AudioInfo]:
    """The upload's audio format and what the probe found (its duration measured, never the header's claim), or the
    refusal that fits it."""
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
        info = probe_audio(source, longest_s=settings.max_audio_minutes * 60)
    except AudioDecodeError as exc:
        raise BadRequest("undecodable_audio", str(exc)) from exc
    finally:
        source.seek(0)
    if info.duration_s > settings.max_audio_minutes * 60:
        raise PayloadTooLarge("audio_too_long", f"The audio lasts longer than {settings.max_audio_minutes} minutes.")
    return audio_format, info


def _earlier_job(repository: JobRepository, principal: Principal, key: str) -> Job | None:
    """The job this user created with `key` within the window; an older one gives its key up."""
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise BadRequest("invalid_idempotency_key", "Idempotency-Key must be 1-255 printable ASCII characters.")
    job = repository.find_by_idempotency_key(principal.user_id, key)
    if job is None or job.created_at > datetime.now(UTC) - IDEMPOTENCY_WINDOW:
        return job
    job.idempotency_key = None
    repository.session.commit()
    return None


def _accepted(job: Job, position: int | None, wait_s: float | None) -> JobAccepted:
    return JobAccepted(
        job_id=job.id, status=job.status, queue=job.queue, position=position or 0, estimated_wait_s=wait_s or 0.0
    )


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

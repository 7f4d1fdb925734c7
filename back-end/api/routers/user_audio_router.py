"""Uploads: `POST /api/audio` stores the file, records the job and answers 202 at once."""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Header, UploadFile

from api.deps import CurrentUser, SessionDep, SettingsDep
from api.rate_limit import enforce_upload_rate
from api.responses import error_responses
from core.errors import BadRequest
from queueing.queues import Priority
from schemas.job import JobAccepted
from schemas.stt import LANGUAGE_FIELD
from services.uploads import accept_upload
from stt.engine import Task

router = APIRouter(prefix="/api", tags=["audio"])

_ERRORS = error_responses(400, 401, 413, 415, 429, 503)


@router.post(
    "/audio",
    status_code=202,
    response_model=JobAccepted,
    responses=_ERRORS,
    dependencies=[Depends(enforce_upload_rate)],
)
def create_audio_job(
    user: CurrentUser,
    settings: SettingsDep,
    session: SessionDep,
    background_tasks: BackgroundTasks,
    file: Annotated[UploadFile | None, File(description="The recording (wav, flac, mp3, ogg, m4a, webm)")] = None,
    priority: Annotated[Priority, Form()] = "normal",
    word_timestamps: Annotated[bool, Form(description="Also time every word")] = False,
    language: Annotated[str | None, Form(description=LANGUAGE_FIELD, examples=["de"])] = None,
    prompt: Annotated[str | None, Form(description="Whisper's initial prompt: spelling, names, style")] = None,
    task: Annotated[
        Task, Form(description="`transcribe` (in the spoken language) or `translate` (into English)")
    ] = "transcribe",
    vad: Annotated[
        bool | None, Form(description="Skip silence and noise first (Silero VAD); empty = the server's STT_VAD")
    ] = None,
    callback_url: Annotated[
        str | None, Form(description="http(s) URL that gets the status body, signed, when the job completes or fails")
    ] = None,
    diarize: Annotated[
        bool, Form(description="Tell who said what: a speaker on every segment and word (503 if no worker can)")
    ] = False,
    min_speakers: Annotated[int | None, Form(description="With diarize: at least this many speakers (1-15)")] = None,
    max_speakers: Annotated[int | None, Form(description="With diarize: at most this many speakers (1-15)")] = None,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", description="Same key, same user, within 24 h: the same job")
    ] = None,
) -> JobAccepted:
    if file is None:
        raise BadRequest("missing_file", "Send the recording in the multipart field 'file'.")
    return accept_upload(
        file.file,
        file.size or 0,
        file.filename,
        priority,
        word_timestamps,
        idempotency_key,
        user,
        settings,
        session,
        background_tasks.add_task,
        language=language,
        prompt=prompt,
        task=task,
        vad=vad,
        callback_url=callback_url,
        diarize=diarize,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
    )

"""OpenAI's audio API, served by this project's queue and workers: `POST /v1/audio/transcriptions` and
`POST /v1/audio/translations` (into English), and `GET /v1/models`.

An OpenAI client points its `base_url` at `/v1` and passes the user's JWT as its `api_key`. The upload is accepted
exactly like `POST /api/audio` (`services.uploads.accept_upload`), then the request waits for the job, without
blocking the event loop, up to OPENAI_WAIT_TIMEOUT_S, and answers in the format asked for. A job still running by
then is answered 202 with its id and `Location: /api/jobs/{id}`; it carries on. Both routes share that path; a
translation is a job with Whisper's task `translate` and a detected language (translations take no `language`).

- `model`: `whisper-1` (what OpenAI clients send) or the name of STT_MODEL; both run the server's model, which
  the `X-Model` header names and `GET /v1/models` lists. Any other name: 400 `model_not_found`.
- An English-only STT_MODEL (`*.en`) cannot translate: 400 `unsupported_task`.
- Silence is skipped or not as STT_VAD says (OpenAI's API has no such field).
- `temperature` (0-1) is accepted and not used: the engine decodes at 0 with Whisper's fallback schedule.
- `timestamp_granularities[]=word` needs `verbose_json` (OpenAI's rule) and turns on word timestamps.
- `stream=true` is refused (400 `stream_unsupported`): an OpenAI client would wait for SSE transcript deltas.
- `response_format=diarized_json` (transcriptions) turns diarization on: the segments come with their speakers,
  labelled `SPEAKER_1`, `SPEAKER_2`, … (OpenAI's own are `A`, `B`, …; its `known_speaker_names[]` is not
  supported), 503 `diarization_unavailable` when no live worker can diarize. Translations have no diarized
  format, at OpenAI as here: 400 `unsupported_response_format`.
- `chunking_strategy` (`auto`, or `server_vad` with its settings) is accepted and not used: long recordings are
  cut in pauses as CHUNK_ABOVE_S says, and silence is skipped as STT_VAD says, whatever it asks.
- A failed job answers in OpenAI's error shape: 400 for audio that cannot be decoded, 500 otherwise, and 409 for a
  job canceled meanwhile, each with `x-should-retry: false` (the job's own retries have run; a client retry would
  only upload it again).
"""

from dataclasses import dataclass
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentUser, SettingsDep
from api.errors import error_response
from api.rate_limit import enforce_upload_rate
from core.errors import BadRequest, NotFound
from core.security import Principal
from core.settings import Settings
from db.engine import open_session
from db.job_repository import JobRepository
from db.models import Job, JobStatus
from events.job_wait import wait_until_ended
from schemas.analysis import AnalysisResult
from schemas.job import JobAccepted
from schemas.openai_audio import (
    DiarizedTranscription,
    Granularity,
    OpenAiErrorBody,
    OpenAiFormat,
    OpenAiModel,
    OpenAiModelList,
    Transcription,
    TranscriptionPending,
    VerboseTranscription,
)
from schemas.stt import LANGUAGE_FIELD
from services.dispatch import run_in_thread
from services.uploads import accept_upload
from stt.engine import Task
from transcripts.openai_formats import render_openai

router = APIRouter(prefix="/v1", tags=["openai"])

WHISPER_1 = "whisper-1"
"""The model name OpenAI clients send; here it means the server's own model."""

WHISPER_RELEASED = 1663718400
"""2022-09-21, Unix time: `created` of every model `GET /v1/models` lists."""

OWNED_BY = "system"
"""`owned_by` of the models listed: OpenAI's word for a model the platform itself provides."""

FAILED_JOB_STATUS = {"undecodable_audio": 400}
"""The status a failed job answers with, by its error code; any other code is 500."""

NO_RETRY = {"x-should-retry": "false"}
"""OpenAI's clients obey this header: a finished job gives the same answer however often it is asked."""


def _errors(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": OpenAiErrorBody} for code in status_codes}


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": Transcription | VerboseTranscription | DiarizedTranscription,
        "description": "The transcript (a translation's is English), in `response_format`",
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "application/x-subrip": {"schema": {"type": "string"}},
            "text/vtt": {"schema": {"type": "string"}},
        },
    },
    202: {"model": TranscriptionPending, "description": "Still running after OPENAI_WAIT_TIMEOUT_S"},
    **_errors(400, 401, 409, 413, 415, 429, 500, 503),
}

ModelField = Annotated[
    str, Form(description="whisper-1, or the server's STT_MODEL name: both run STT_MODEL", examples=[WHISPER_1])
]
FileField = Annotated[UploadFile | None, File(description="The recording (wav, flac, mp3, ogg, m4a, webm)")]
PromptField = Annotated[
    str | None,
    Form(description="Whisper's initial prompt: spelling, names, style (in English for a translation)"),
]
TemperatureField = Annotated[float, Form(ge=0, le=1, description="Accepted, not used: decoding starts at 0")]
ChunkingStrategyField = Annotated[
    str | None,
    Form(description="Accepted, not used: long recordings are cut in pauses (CHUNK_ABOVE_S), silence as STT_VAD says"),
]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", description="Same key, same user, within 24 h: the same job")
]


@router.post(
    "/audio/transcriptions",
    response_class=Response,
    responses=_RESPONSES,
    dependencies=[Depends(enforce_upload_rate)],
    description=(
        "Whisper's task `transcribe`: the text in the spoken language. Silence is skipped as STT_VAD says. "
        "`response_format=diarized_json` also tells the speakers apart (`SPEAKER_1`, … in the order they first speak)."
    ),
)
async def create_transcription(
    request: Request,
    user: CurrentUser,
    settings: SettingsDep,
    model: ModelField,
    file: FileField = None,
    language: Annotated[str | None, Form(description=LANGUAGE_FIELD, examples=["de"])] = None,
    prompt: PromptField = None,
    response_format: Annotated[OpenAiFormat, Form()] = "json",
    temperature: TemperatureField = 0.0,
    timestamp_granularities: Annotated[
        list[Granularity] | None,
        Form(alias="timestamp_granularities[]", description="segment (the default) and/or word (verbose_json only)"),
    ] = None,
    stream: Annotated[bool, Form(description="Not supported: follow /api/jobs/{id}/events instead")] = False,
    chunking_strategy: ChunkingStrategyField = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    if stream:
        raise BadRequest(
            "stream_unsupported",
            "Streaming is not supported; without it the answer is the whole transcript "
            "(live progress: GET /api/jobs/{id}/events).",
            param="stream",
        )
    granularities = frozenset(timestamp_granularities or ())
    if "word" in granularities and response_format != "verbose_json":
        raise BadRequest(
            "invalid_request",
            "timestamp_granularities[]=word needs response_format=verbose_json.",
            param="timestamp_granularities",
        )
    asked = OpenAiJob(
        file,
        model,
        prompt,
        idempotency_key,
        "transcribe",
        language,
        "word" in granularities,
        diarize=response_format == "diarized_json",
    )
    return await run_and_answer(asked, response_format, granularities, request, user, settings)


@router.post(
    "/audio/translations",
    response_class=Response,
    responses=_RESPONSES,
    dependencies=[Depends(enforce_upload_rate)],
    description=(
        "Whisper's task `translate`: English text, whatever language is spoken. The spoken language is detected "
        "(among STT_LANGUAGES when set) and reported as `language` in verbose_json. Needs a multilingual "
        "STT_MODEL: an English-only one answers 400 `unsupported_task`. Silence is skipped as STT_VAD says."
    ),
)
async def create_translation(
    request: Request,
    user: CurrentUser,
    settings: SettingsDep,
    model: ModelField,
    file: FileField = None,
    prompt: PromptField = None,
    response_format: Annotated[OpenAiFormat, Form()] = "json",
    temperature: TemperatureField = 0.0,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    if response_format == "diarized_json":
        raise BadRequest(
            "unsupported_response_format",
            "A translation has no diarized_json (nor has it at OpenAI): ask /v1/audio/transcriptions for speakers.",
            param="response_format",
        )
    asked = OpenAiJob(file, model, prompt, idempotency_key, "translate")
    return await run_and_answer(asked, response_format, frozenset(), request, user, settings)


@router.get("/models", response_model=OpenAiModelList, responses=_errors(401))
def list_models(_: CurrentUser, settings: SettingsDep) -> OpenAiModelList:
    """The model this server runs (STT_MODEL's name) and `whisper-1`, the name OpenAI clients send for it."""
    return OpenAiModelList(data=[model_entry(name) for name in dict.fromkeys((served_model(settings), WHISPER_1))])


@router.get("/models/{model_id:path}", response_model=OpenAiModel, responses=_errors(401, 404))
def read_model(model_id: str, _: CurrentUser, settings: SettingsDep) -> OpenAiModel:
    """One of the two models `GET /v1/models` lists; any other: 404 `model_not_found`."""
    if model_id not in (served_model(settings), WHISPER_1):
        raise NotFound("model_not_found", f"The model {model_id[:64]!r} does not exist here.", param="model")
    return model_entry(model_id)


def served_model(settings: Settings) -> str:
    """STT_MODEL's name: `base`, `tiny.en`, or the last part of a path or hub name."""
    return PurePath(settings.stt_model).name


def model_entry(model_id: str) -> OpenAiModel:
    return OpenAiModel(id=model_id, created=WHISPER_RELEASED, owned_by=OWNED_BY)


def check_model(model: str, settings: Settings) -> None:
    served = served_model(settings)
    if model not in (WHISPER_1, settings.stt_model, served):
        raise BadRequest(
            "model_not_found",
            f"The model {model[:64]!r} is not served here: use {WHISPER_1} or {served} (both run {served}).",
            param="model",
        )


@dataclass(frozen=True)
class OpenAiJob:
    """What an upload to /v1/audio asks for, whichever of its two routes took it."""

    file: UploadFile | None
    model: str
    prompt: str | None
    idempotency_key: str | None
    task: Task
    language: str | None = None
    word_timestamps: bool = False
    diarize: bool = False
    """Tell the speakers apart: asked by `response_format=diarized_json`."""


async def run_and_answer(
    asked: OpenAiJob,
    fmt: OpenAiFormat,
    granularities: frozenset[Granularity],
    request: Request,
    user: Principal,
    settings: Settings,
) -> Response:
    """Accept the upload as a job, wait for it, and answer with its transcript, its error, or 202."""
    if asked.file is None:
        raise BadRequest("missing_file", "Send the recording in the multipart field 'file'.", param="file")
    check_model(asked.model, settings)
    accepted = await run_in_threadpool(_accept, asked.file, asked, user, settings)
    await wait_until_ended(accepted.job_id, settings, settings.openai_wait_timeout_s, request.is_disconnected)
    job = await run_in_threadpool(_read_job, accepted.job_id, settings)
    return answer(job, fmt, granularities, settings, request.url.path)


def answer(
    job: Job | None, fmt: OpenAiFormat, granularities: frozenset[Granularity], settings: Settings, path: str
) -> Response:
    """The transcript, the failed job's error, or 202 while the job goes on."""
    if job is None:  # removed while we waited (not something this API does)
        return error_response(500, "job_lost", "The job disappeared.", NO_RETRY, path=path)
    headers = {"X-Job-Id": job.id, "X-Model": served_model(settings)}
    if job.status == JobStatus.COMPLETED and job.result is not None:
        body, media_type = render_openai(AnalysisResult.model_validate(job.result), fmt, granularities)
        return Response(body, media_type=media_type, headers=headers)
    if job.status == JobStatus.FAILED:
        code = job.error_code or "processing_failed"
        status = FAILED_JOB_STATUS.get(code, 500)
        message = job.error_message or "Transcription failed."
        param = "file" if status == 400 else None
        return error_response(status, code, message, {**headers, **NO_RETRY}, path=path, param=param)
    if job.status == JobStatus.CANCELED:
        return error_response(409, "job_canceled", "The job was canceled.", {**headers, **NO_RETRY}, path=path)
    status_url = f"/api/jobs/{job.id}"
    pending = TranscriptionPending(
        job_id=job.id,
        status=job.status,
        queue=job.queue,
        status_url=status_url,
        transcript_url=f"{status_url}/transcript",
        message=f"Not finished within {settings.openai_wait_timeout_s:g} s; the job goes on: follow it at status_url.",
    )
    return JSONResponse(pending.model_dump(mode="json"), 202, headers={**headers, "Location": status_url})


def _accept(file: UploadFile, asked: OpenAiJob, user: Principal, settings: Settings) -> JobAccepted:
    """Accept on a worker thread, with a session of its own, closed before the wait (no connection held)."""
    with open_session(settings.sqlalchemy_url) as session:
        return accept_upload(
            file.file,
            file.size or 0,
            file.filename,
            "normal",
            asked.word_timestamps,
            asked.idempotency_key,
            user,
            settings,
            session,
            run_in_thread,  # at once: BackgroundTasks would run it after this response, which waits for it
            language=asked.language,
            prompt=asked.prompt,
            task=asked.task,
            diarize=asked.diarize,
        )


def _read_job(job_id: str, settings: Settings) -> Job | None:
    with open_session(settings.sqlalchemy_url) as session:
        return JobRepository(session).get(job_id)

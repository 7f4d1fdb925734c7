"""The job table: the system of record for every accepted upload."""

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from queueing.queues import QueueName


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_owner_created", "owner_id", "created_at"),
        Index("ix_jobs_status_completed", "status", "completed_at"),
        Index("ix_jobs_status_queue_created", "status", "queue", "created_at"),
        UniqueConstraint("owner_id", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=JobStatus.QUEUED,
    )
    queue: Mapped[QueueName] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16))

    audio_url: Mapped[str] = mapped_column(String(1024))
    audio_format: Mapped[str] = mapped_column(String(16))
    audio_bytes: Mapped[int] = mapped_column(Integer)
    original_filename: Mapped[str | None] = mapped_column(String(255))
    """Shown to its owner only; never used to build a storage key."""
    word_timestamps: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(16))
    """The spoken language the client named (ISO-639-1), or None to let the model detect it."""
    prompt: Mapped[str | None] = mapped_column(Text)
    """Text that guides the model's style or vocabulary (Whisper's initial prompt)."""
    task: Mapped[str] = mapped_column(String(16), default="transcribe", server_default="transcribe")
    """Whisper's task: `transcribe`, or `translate` (into English)."""
    vad: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """Whether Silero VAD skips silence and noise before Whisper (the upload's choice, else STT_VAD)."""
    diarize: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Whether speakers are told apart (who said what)."""
    min_speakers: Mapped[int | None] = mapped_column(Integer)
    max_speakers: Mapped[int | None] = mapped_column(Integer)
    callback_url: Mapped[str | None] = mapped_column(String(2048))
    """Where the job's status body is posted when it completes or fails (checked against SSRF at upload)."""
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    """The client's `Idempotency-Key`: one job per key and user for IDEMPOTENCY_WINDOW."""

    progress: Mapped[int] = mapped_column(Integer, default=0)
    current_step: Mapped[str | None] = mapped_column(String(32))
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(255))

    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    audio_duration_s: Mapped[float | None] = mapped_column(Float)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

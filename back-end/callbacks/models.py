"""The tables of client callbacks: one delivery per terminal event of a job, and every attempt to make it."""

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models import Base, UTCDateTime, utcnow


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    """An attempt is due at `next_attempt_at` (the first one, or a retry after a failed one)."""
    DELIVERED = "delivered"
    """The receiver answered 2xx."""
    FAILED = "failed"
    """Given up at once: the URL now reaches an address that is not allowed (retrying would not change that)."""
    EXHAUSTED = "exhausted"
    """Every attempt of the schedule failed, or the retry window ended."""


class CallbackDelivery(Base):
    __tablename__ = "callback_deliveries"
    __table_args__ = (
        Index("ix_callback_deliveries_state_next", "state", "next_attempt_at"),
        Index("ix_callback_deliveries_job", "job_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The `webhook-id` header: the same on every attempt, so a receiver can drop what it has seen."""
    job_id: Mapped[str] = mapped_column(String(32), ForeignKey("jobs.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(16))
    """The job's status that is announced: completed or failed."""
    url: Mapped[str] = mapped_column(String(2048))
    payload: Mapped[str] = mapped_column(Text)
    """The status body at the terminal transition, sent unchanged on every attempt."""
    state: Mapped[DeliveryState] = mapped_column(
        Enum(DeliveryState, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    attempts_made: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """While an attempt is under way, no other process makes it; a claim that outlives this was lost."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    attempts: Mapped[list["CallbackAttempt"]] = relationship(
        order_by="CallbackAttempt.attempt", lazy="selectin", cascade="all, delete-orphan"
    )


class CallbackAttempt(Base):
    __tablename__ = "callback_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "attempt", name="uq_callback_attempts_delivery_attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(64), ForeignKey("callback_deliveries.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    """1 for the first attempt; unique per delivery, so an attempt is recorded once."""
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(255))
    """Why no answer came (connection refused, timeout, address refused), when none did."""
    latency_ms: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    """The first RESPONSE_BODY_LIMIT bytes of the answer."""
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the next attempt was planned after this one; None when this was the last."""

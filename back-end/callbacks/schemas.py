"""Bodies of `GET /api/jobs/{job_id}/deliveries`: a job's callbacks and every attempt, newest last."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from callbacks.models import CallbackDelivery, DeliveryState


class AttemptRead(BaseModel):
    """One attempt, read straight from its row."""

    model_config = ConfigDict(from_attributes=True)

    attempt: int
    attempted_at: datetime
    status_code: int | None
    """The receiver's HTTP status; None when no answer came (see `error`)."""
    error: str | None
    latency_ms: int
    response_body: str | None
    """The first 1 KiB of the receiver's answer."""
    next_attempt_at: datetime | None
    """When the next attempt was planned after this one; None after the last."""


class DeliveryRead(BaseModel):
    webhook_id: str
    """The `webhook-id` header of every attempt of this delivery."""
    event: str
    """The status announced: completed or failed."""
    url: str
    state: DeliveryState
    next_attempt_at: datetime | None
    created_at: datetime
    attempts: list[AttemptRead]

    @classmethod
    def of(cls, delivery: CallbackDelivery) -> "DeliveryRead":
        return cls(
            webhook_id=delivery.id,
            event=delivery.event,
            url=delivery.url,
            state=delivery.state,
            next_attempt_at=delivery.next_attempt_at if delivery.state == DeliveryState.PENDING else None,
            created_at=delivery.created_at,
            attempts=[AttemptRead.model_validate(attempt) for attempt in delivery.attempts],
        )


class JobDeliveries(BaseModel):
    job_id: str
    callback_url: str | None
    deliveries: list[DeliveryRead]
    """One per announced status (a failed job an admin requeued may end, and be announced, again), oldest first."""

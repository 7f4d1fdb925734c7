"""All SQL about callback deliveries. Repositories flush, they never commit: the caller's boundary commits."""

from datetime import datetime

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from callbacks.models import CallbackAttempt, CallbackDelivery, DeliveryState


class DeliveryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, delivery: CallbackDelivery) -> CallbackDelivery:
        self.session.add(delivery)
        self.session.flush()
        return delivery

    def get(self, delivery_id: str) -> CallbackDelivery | None:
        return self.session.get(CallbackDelivery, delivery_id, populate_existing=True)

    def for_job(self, job_id: str) -> list[CallbackDelivery]:
        query = (
            select(CallbackDelivery)
            .where(CallbackDelivery.job_id == job_id)
            .order_by(CallbackDelivery.created_at, CallbackDelivery.id)
        )
        return list(self.session.scalars(query))

    def due(self, now: datetime, limit: int) -> list[str]:
        """Pending deliveries whose attempt is due and that nobody holds, the longest waiting first."""
        query = (
            select(CallbackDelivery.id)
            .where(
                CallbackDelivery.state == DeliveryState.PENDING,
                CallbackDelivery.next_attempt_at <= now,
                _unclaimed(now),
            )
            .order_by(CallbackDelivery.next_attempt_at)
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def next_due_at(self) -> datetime | None:
        """The earliest moment a pending delivery becomes due (a held one: when its claim runs out)."""
        held_or_due = case(
            (
                and_(
                    CallbackDelivery.claimed_until.is_not(None),
                    CallbackDelivery.claimed_until > CallbackDelivery.next_attempt_at,
                ),
                CallbackDelivery.claimed_until,
            ),
            else_=CallbackDelivery.next_attempt_at,
        )
        query = select(func.min(held_or_due)).where(CallbackDelivery.state == DeliveryState.PENDING)
        earliest = self.session.scalar(query)
        return earliest if isinstance(earliest, datetime) else None

    def claim(self, delivery_id: str, token: str, now: datetime, until: datetime) -> bool:
        """Hold a due delivery for one attempt; False if it is not due or another process holds it."""
        result = self.session.execute(
            update(CallbackDelivery)
            .where(
                CallbackDelivery.id == delivery_id,
                CallbackDelivery.state == DeliveryState.PENDING,
                CallbackDelivery.next_attempt_at <= now,
                _unclaimed(now),
            )
            .values(claim_token=token, claimed_until=until)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def finish(self, delivery_id: str, token: str, attempt: CallbackAttempt, state: DeliveryState) -> bool:
        """Record an attempt made under `token` and release the claim; False if the claim was lost meanwhile."""
        result = self.session.execute(
            update(CallbackDelivery)
            .where(CallbackDelivery.id == delivery_id, CallbackDelivery.claim_token == token)
            .values(
                state=state,
                attempts_made=attempt.attempt,
                next_attempt_at=attempt.next_attempt_at,
                claim_token=None,
                claimed_until=None,
                updated_at=attempt.attempted_at,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        self.session.add(attempt)
        self.session.flush()
        return True


def _unclaimed(now: datetime) -> ColumnElement[bool]:
    return or_(CallbackDelivery.claimed_until.is_(None), CallbackDelivery.claimed_until <= now)

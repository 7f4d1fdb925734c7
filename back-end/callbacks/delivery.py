"""A callback's life: planned with the job's terminal transition, then attempted until delivered or given up.

`plan` runs inside the transaction that records `completed` or `failed` (services.job_events.record_event), so
the delivery exists exactly when the transition does, and survives any restart. `claim_due` takes due deliveries
for one attempt each: a conditional UPDATE, so among any number of API processes one makes the attempt.
`attempt` posts outside any database transaction and records what happened, with the next attempt's time.
"""

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.orm import Session

from callbacks.address_guard import AllowList, Resolver
from callbacks.models import CallbackAttempt, CallbackDelivery, DeliveryState
from callbacks.repository import DeliveryRepository
from callbacks.schedule import first_attempt_at, next_attempt_at
from callbacks.sender import post_signed
from callbacks.signing import signer
from core.settings import Settings
from db.engine import open_session
from db.models import Job, JobStatus
from schemas.job import JobRead

log = logging.getLogger(__name__)

ANNOUNCED = (JobStatus.COMPLETED, JobStatus.FAILED)
"""The statuses a callback announces (a canceled job was canceled by its owner, who knows)."""

CLAIM_MARGIN_S = 30.0
"""A claim lasts the request timeout plus this; a process that died mid-attempt frees it when it runs out."""


@dataclass(frozen=True)
class Claim:
    """A delivery held for one attempt, as it was when claimed."""

    delivery_id: str
    token: str
    job_id: str
    url: str
    payload: str
    attempt: int
    planned_at: datetime


def new_webhook_id() -> str:
    return f"msg_{secrets.token_hex(16)}"


def plan(job: Job, session: Session, settings: Settings) -> CallbackDelivery | None:
    """Add the delivery that announces the job's terminal status, if it has a callback URL (not committed)."""
    if not job.callback_url or job.status not in ANNOUNCED:
        return None
    now = datetime.now(UTC)
    delivery = CallbackDelivery(
        id=new_webhook_id(),
        job_id=job.id,
        event=job.status.value,
        url=job.callback_url,
        payload=JobRead.of(job).model_dump_json(),
        state=DeliveryState.PENDING,
        attempts_made=0,
        next_attempt_at=first_attempt_at(now, settings),
        created_at=now,
        updated_at=now,
    )
    return DeliveryRepository(session).add(delivery)


def claim_due(settings: Settings, limit: int, now: datetime | None = None) -> list[Claim]:
    """Hold up to `limit` due deliveries, one attempt each, committed before any attempt starts."""
    moment = now or datetime.now(UTC)
    until = moment + timedelta(seconds=settings.callback_timeout_s + CLAIM_MARGIN_S)
    claims = []
    with open_session(settings.sqlalchemy_url) as session:
        repository = DeliveryRepository(session)
        for delivery_id in repository.due(moment, limit):
            token = uuid.uuid4().hex
            if not repository.claim(delivery_id, token, moment, until):
                continue  # another API process took it between the two statements
            session.commit()
            delivery = repository.get(delivery_id)
            assert delivery is not None
            claims.append(
                Claim(
                    delivery.id,
                    token,
                    delivery.job_id,
                    delivery.url,
                    delivery.payload,
                    delivery.attempts_made + 1,
                    delivery.created_at,
                )
            )
    return claims


def attempt(
    claim: Claim, settings: Settings, transport: httpx.BaseTransport | None = None, resolve: Resolver | None = None
) -> DeliveryState:
    """Make the claimed attempt and record it; the delivery's state afterwards."""
    outcome = post_signed(
        claim.url,
        claim.delivery_id,
        claim.payload,
        signer(settings),
        AllowList.of(settings.callback_allowed_hosts),
        settings.callback_timeout_s,
        transport,
        resolve,
    )
    following: datetime | None = None
    if outcome.delivered:
        state = DeliveryState.DELIVERED
    elif outcome.refused:
        state = DeliveryState.FAILED
    else:
        following = next_attempt_at(claim.attempt, outcome.attempted_at, claim.planned_at, settings)
        state = DeliveryState.PENDING if following is not None else DeliveryState.EXHAUSTED
    record = CallbackAttempt(
        delivery_id=claim.delivery_id,
        attempt=claim.attempt,
        attempted_at=outcome.attempted_at,
        status_code=outcome.status_code,
        error=outcome.error,
        latency_ms=outcome.latency_ms,
        response_body=outcome.response_body,
        next_attempt_at=following,
    )
    with open_session(settings.sqlalchemy_url) as session:
        if not DeliveryRepository(session).finish(claim.delivery_id, claim.token, record, state):
            log.warning("callback %s: claim lost during attempt %s; not recorded", claim.delivery_id, claim.attempt)
            return state
        session.commit()
    log.info(
        "callback attempt",
        extra={
            "job_id": claim.job_id,
            "webhook_id": claim.delivery_id,
            "attempt": claim.attempt,
            "status_code": outcome.status_code,
            "error": outcome.error,
            "latency_ms": outcome.latency_ms,
            "state": state.value,
        },
    )
    return state

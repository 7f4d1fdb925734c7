"""`POST /internal/webhooks/analysis`: tasks report started / completed / failed here, signed with WEBHOOK_SECRET."""

from fastapi import APIRouter, Request
from pydantic import ValidationError
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from api.deps import SettingsDep
from api.responses import error_responses
from core.errors import BadRequest, PayloadTooLarge, Unauthorized
from core.settings import Settings
from db.engine import open_session
from queueing.connection import get_redis
from results.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, TOLERANCE_S, InvalidSignature, verify
from schemas.analysis import AnalysisEvent
from services.job_events import record_event

router = APIRouter(prefix="/internal/webhooks", tags=["internal"])

MAX_WEBHOOK_BYTES = 4 * 1024 * 1024
"""A transcript of hours of speech fits easily; anything bigger is refused before it is read whole."""


def refuse_replay(signature: str, settings: Settings) -> None:
    """A signed body is accepted once: a captured request sent again within the window is refused."""
    try:
        first = get_redis(settings).set(f"transcribe:webhook:seen:{signature}", 1, nx=True, ex=2 * TOLERANCE_S)
    except RedisError:
        return  # applying an event twice has no effect anyway; without Redis only that protects
    if not first:
        raise Unauthorized("replayed_webhook", "This signed request was already received.")


@router.post("/analysis", responses=error_responses(400, 401, 404, 413))
async def receive_analysis_event(request: Request, settings: SettingsDep) -> dict[str, bool]:
    """Reads the body here; checks and records it on a worker thread, never blocking the event loop."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            raise PayloadTooLarge("webhook_too_large", "The webhook body is too large.")
    headers = (request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER))
    applied = await run_in_threadpool(apply_signed_event, bytes(body), *headers, settings)
    return {"applied": applied}


def apply_signed_event(body: bytes, timestamp: str | None, signature: str | None, settings: Settings) -> bool:
    try:
        verify(body, settings.secret("webhook_secret"), timestamp, signature)
    except InvalidSignature as exc:
        raise Unauthorized("invalid_signature", str(exc)) from exc
    assert signature is not None
    refuse_replay(signature, settings)
    try:
        event = AnalysisEvent.model_validate_json(body)
    except ValidationError as exc:
        raise BadRequest("invalid_event", f"The event is not valid: {exc.error_count()} error(s).") from exc
    with open_session(settings.sqlalchemy_url) as session:
        return record_event(event, session, settings)

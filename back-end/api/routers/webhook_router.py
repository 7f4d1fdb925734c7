"""`POST /internal/webhooks/analysis`: tasks report started / completed / failed here, signed with WEBHOOK_SECRET."""

from fastapi import APIRouter, Request
from pydantic import ValidationError

from api.deps import SessionDep, SettingsDep
from api.responses import error_responses
from core.errors import BadRequest, PayloadTooLarge, Unauthorized
from schemas.analysis import AnalysisEvent
from services.job_events import record_event
from webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, InvalidSignature, verify

router = APIRouter(prefix="/internal/webhooks", tags=["internal"])

MAX_WEBHOOK_BYTES = 4 * 1024 * 1024
"""A transcript of hours of speech fits easily; anything bigger is refused before it is read whole."""


@router.post("/analysis", responses=error_responses(400, 401, 404, 413))
async def receive_analysis_event(request: Request, settings: SettingsDep, session: SessionDep) -> dict[str, bool]:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            raise PayloadTooLarge("webhook_too_large", "The webhook body is too large.")
    try:
        verify(
            bytes(body),
            settings.secret("webhook_secret"),
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
        )
    except InvalidSignature as exc:
        raise Unauthorized("invalid_signature", str(exc)) from exc
    try:
        event = AnalysisEvent.model_validate_json(bytes(body))
    except ValidationError as exc:
        raise BadRequest("invalid_event", f"The event is not valid: {exc.error_count()} error(s).") from exc

    return {"applied": record_event(event, session)}

"""The documented error answers of a route, for OpenAPI: every refusal is `{"error": {"code", "message"}}`."""

from typing import Any

from schemas.job import ErrorBody


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody} for code in status_codes}

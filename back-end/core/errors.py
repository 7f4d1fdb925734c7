"""Errors the API answers with: raised anywhere below it, turned into JSON error bodies by api/errors.py.

AppError                  500 internal_error, the root
├── BadRequest            400 no file, empty file, undecodable audio, invalid fields
├── Unauthorized          401 missing, invalid or expired token; unsigned or forged webhook
├── Forbidden             403 the token is valid but its role may not do this
├── NotFound              404 unknown route or job, or a job of another user
├── Conflict              409 the job does not allow this now (cancel a finished job, …)
├── PayloadTooLarge       413 upload over MAX_UPLOAD_MB, webhook body over its cap
├── UnsupportedMediaType  415 the upload is not audio of a known format
├── TooManyRequests       429 over a user's upload rate limit (with Retry-After)
└── ServiceUnavailable    503 the queue cannot take the job now (with Retry-After)
"""

from typing import ClassVar


class AppError(Exception):
    """Raised for anything the API refuses; api/errors.py turns it into the JSON error body."""

    status_code: ClassVar[int] = 500

    def __init__(
        self, code: str, message: str, headers: dict[str, str] | None = None, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.param = param
        """The request field at fault, if one is (reported under /v1 only)."""


class BadRequest(AppError):
    status_code = 400


class Unauthorized(AppError):
    status_code = 401


class Forbidden(AppError):
    status_code = 403


class NotFound(AppError):
    status_code = 404


class Conflict(AppError):
    status_code = 409


class PayloadTooLarge(AppError):
    status_code = 413


class UnsupportedMediaType(AppError):
    status_code = 415


class TooManyRequests(AppError):
    status_code = 429

    def __init__(self, code: str, message: str, retry_after_s: int) -> None:
        super().__init__(code, message, {"Retry-After": str(retry_after_s)})


class ServiceUnavailable(AppError):
    status_code = 503

    def __init__(self, code: str, message: str, retry_after_s: int = 30) -> None:
        super().__init__(code, message, {"Retry-After": str(retry_after_s)})

"""Where uploaded audio lives: `local` (a directory) or `s3`, behind one small interface."""

import secrets
from datetime import UTC, datetime

from core.settings import Settings
from storage.base import ObjectNotFound, Storage
from storage.local import LocalStorage
from storage.s3 import SCHEME as S3_SCHEME
from storage.s3 import S3Storage

__all__ = ["ObjectNotFound", "Storage", "audio_key", "get_storage", "storage_for_url"]


def get_storage(settings: Settings) -> Storage:
    """The backend new uploads go to (STORAGE_BACKEND)."""
    if settings.storage_backend == "s3":
        assert settings.s3_bucket
        return _s3(settings, settings.s3_bucket)
    assert settings.local_storage_dir
    return LocalStorage(settings.local_storage_dir)


def storage_for_url(url: str, settings: Settings) -> Storage:
    """The backend that holds `url`, whatever STORAGE_BACKEND says now (objects outlive a switch)."""
    if url.startswith(f"{S3_SCHEME}://"):
        return _s3(settings, url.removeprefix(f"{S3_SCHEME}://").partition("/")[0])
    assert settings.local_storage_dir
    return LocalStorage(settings.local_storage_dir)


def _s3(settings: Settings, bucket: str) -> S3Storage:
    secret = settings.aws_secret_access_key.get_secret_value() if settings.aws_secret_access_key else None
    return S3Storage.connect(bucket, settings.s3_endpoint_url, settings.aws_region, settings.aws_access_key_id, secret)


def audio_key(job_id: str, audio_format: str, now: datetime | None = None) -> str:
    """A storage key made only of server-chosen parts: never the client's file name."""
    day = (now or datetime.now(UTC)).strftime("%Y/%m/%d")
    return f"audio/{day}/{job_id}-{secrets.token_hex(4)}.{audio_format}"

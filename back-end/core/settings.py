"""Every setting of the API and the workers, read from the environment (and `.env`).

`get_settings()` is cached; tests clear it with `get_settings.cache_clear()` after changing the
environment. Defaults are the embedded ones: embedded Redis, SQLite and local storage under `DATA_DIR`.
"""

import base64
import binascii
import contextlib
import ipaddress
import os
import secrets
import socket
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(value: str | int) -> int:
    """Seconds in `'15m'`, `'90s'`, `'1h'` or a plain number of seconds (RQ's own notation)."""
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    number, unit = text[:-1], text[-1:]
    if unit not in _DURATION_UNITS or not number.isdigit():
        raise ValueError(f"not a duration: {value!r} (use e.g. 900, '90s', '15m', '1h')")
    return int(number) * _DURATION_UNITS[unit]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"

    # Dispatch
    use_rq_queue: bool = True
    job_timeout: str = "15m"
    max_retries: int = Field(default=3, ge=0)
    retry_intervals: list[int] = [10, 30, 60]
    fallback_to_background: bool = True
    """With Redis unreachable at upload: run the job in BackgroundTasks (true) or answer 503 (false)."""
    queue_max_length: int = Field(default=1000, ge=1)
    """Beyond this many jobs waiting in RQ, uploads get 503 queue_full."""
    reconcile_interval_s: int = Field(default=30, ge=1)
    """How often the API compares the database with Redis (and the age a job needs before it is compared)."""
    stale_grace_s: int = Field(default=15 * 60, ge=0)
    """A job started longer than JOB_TIMEOUT plus this ago is taken for lost and run again."""
    chunk_above_s: float = Field(default=600.0, gt=0)
    """A recording longer than this is cut in pauses into chunks, each its own job for any worker (tasks/chunks.py)."""
    chunk_target_s: float = Field(default=300.0, gt=30)
    """About how long each chunk of a long recording is (cut in the longest pause within 30 s of it)."""
    openai_wait_timeout_s: float = Field(default=300.0, ge=0)
    """How long `POST /v1/audio/transcriptions` waits for its job; later it answers 202 with the job id."""

    # Redis: REDIS_URL wins; else REDIS_HOST & co.; else an embedded redis-server under DATA_DIR.
    redis_url: str | None = None
    redis_host: str | None = None
    redis_port: int = 6379
    redis_db: int = 0
    redis_password: SecretStr | None = None

    # Files and database
    data_dir: Path = Path("./data")
    database_url: str | None = None
    storage_backend: Literal["local", "s3"] = "local"
    local_storage_dir: Path | None = None
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_region: str = "us-east-1"
    max_upload_mb: int = Field(default=100, gt=0)
    max_audio_minutes: int = Field(default=300, gt=0)
    """A longer recording (its measured duration, not its header's claim) is refused at upload: 413 `audio_too_long`."""

    # Speech-to-text
    stt_engine: Literal["faster-whisper", "openai-whisper"] = "faster-whisper"
    """Per worker process; openai-whisper needs the optional install (`make openai-whisper`)."""
    stt_model: str = "base"
    """`base` (multilingual), `tiny.en` (English only), a CTranslate2 model directory, or a hub name (stt/models.py)."""
    stt_allow_download: bool = False
    """Let faster-whisper fetch a STT_MODEL that is not on disk from the Hugging Face hub (off: nothing is fetched)."""
    stt_languages: Annotated[list[str], NoDecode] = []
    """The languages this deployment expects (`ko,en`): detection picks the likeliest of them. Empty: all of
    Whisper's."""
    stt_vad: bool = True
    """Silero VAD skips silence and noise before Whisper sees them (an upload may turn it off with `vad=false`)."""
    stt_device: str = "cpu"
    stt_compute_type: str = "int8"
    stt_beam_size: int = Field(default=1, ge=1)
    stt_batch_size: int = Field(default=0, ge=0)
    """With VAD, decode this many speech windows at once (faster-whisper's BatchedInferencePipeline); 0 = one after
    the other (plain `transcribe`). benchmarks/long_recordings.py measures both."""
    stt_cpu_threads: int = Field(default=0, ge=0)
    """Threads per worker process; 0 = the machine's cores divided by `WORKER_COUNT`."""
    diarization: Literal["auto", "on", "off"] = "auto"
    """Speaker diarization in this process (a worker, or the API in rollback mode): `auto` when the optional
    install is here (`make diarization`), `on` requires it (a worker without it exits 2), `off` never."""

    # Security and results delivery
    jwt_secret: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    webhook_url: str | None = None
    webhook_timeout_s: float = 10.0
    cors_origins: list[str] = []
    """Origins a browser may call the API from (CORS); none by default: the upload page is same-origin."""
    upload_rate_limit: str = "30/minute"
    """Uploads per user, in the `limits` notation ("30/minute", "500/hour")."""

    # Client callbacks (callbacks/): the job's status body posted to its callback_url, Standard Webhooks signed
    callback_signing_secret: SecretStr | None = None
    """`whsec_<base64 of 24-64 random bytes>`; generated under DATA_DIR/.secrets in development."""
    callback_allowed_hosts: list[str] = []
    """Host names or networks (CIDR) a callback may reach although they are not public, e.g. ["10.0.0.0/8"]."""
    callback_retry_schedule: list[float] = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
    """Seconds to wait before each attempt (the first right away), each stretched by up to ±CALLBACK_RETRY_JITTER."""
    callback_retry_window_s: int = Field(default=24 * 3600, ge=1)
    """No attempt is made later than this after the job ended: later ones are moved to it, or dropped."""
    callback_retry_jitter: float = Field(default=0.1, ge=0, lt=1)
    callback_timeout_s: float = Field(default=10.0, gt=0)
    callback_poll_interval_s: float = Field(default=5.0, gt=0)
    """How often each API process looks for due callbacks it was not told about (another process's, a restart's)."""

    # Operations
    rq_dashboard_username: str | None = None
    rq_dashboard_password: SecretStr | None = None
    """rq-dashboard is served under /rq only when both are set."""

    # Processes
    worker_id: str = Field(default_factory=socket.gethostname)
    worker_count: int = Field(default=1, ge=1)
    worker_nice: int = Field(default=10, ge=0, le=19)
    """Workers lower their CPU priority by this much: where the API shares the machine, it answers first."""
    host: str = "127.0.0.1"
    """Where `make run` binds the API (HOST)."""
    port: int = 8000

    @field_validator("job_timeout")
    @classmethod
    def _check_job_timeout(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("stt_languages", mode="before")
    @classmethod
    def _split_languages(cls, value: object) -> object:
        """`ko,en` (or a list): lower-case codes, checked against Whisper's by `stt.languages.deployment_languages`."""
        if isinstance(value, str):
            return [code.strip().lower() for code in value.split(",") if code.strip()]
        return value

    @field_validator("callback_allowed_hosts")
    @classmethod
    def _check_allowed_hosts(cls, entries: list[str]) -> list[str]:
        """Networks as CIDR (a bare address is a /32 or /128), anything else a host name, matched exactly."""
        normalised = []
        for entry in entries:
            text = entry.strip().lower().rstrip(".")
            try:
                normalised.append(str(ipaddress.ip_network(text.strip("[]"), strict=False)))
            except ValueError:
                if not text or "/" in text or ":" in text:
                    raise ValueError(f"CALLBACK_ALLOWED_HOSTS: {entry!r} is not a network or a host name") from None
                normalised.append(text)
        return normalised

    @model_validator(mode="after")
    def _resolve(self) -> "Settings":
        self.data_dir = self.data_dir.expanduser().resolve()
        if self.local_storage_dir is None:
            self.local_storage_dir = self.data_dir / "storage"
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        for name in ("jwt_secret", "webhook_secret"):
            if getattr(self, name) is None:
                if self.environment == "production":
                    raise ValueError(f"{name.upper()} must be set when ENVIRONMENT=production")
                setattr(self, name, SecretStr(_development_secret(self.data_dir, name)))
        if self.callback_signing_secret is None:
            if self.environment == "production":
                raise ValueError("CALLBACK_SIGNING_SECRET must be set when ENVIRONMENT=production")
            generated = _development_secret(self.data_dir, "callback_signing_secret", _new_callback_secret)
            self.callback_signing_secret = SecretStr(generated)
        _check_callback_secret(self.callback_signing_secret)
        if self.environment == "production":
            secrets_in_use = {"JWT_SECRET": self.jwt_secret, "WEBHOOK_SECRET": self.webhook_secret}
            secrets_in_use["CALLBACK_SIGNING_SECRET"] = self.callback_signing_secret
            if self.rq_dashboard_password is not None:
                secrets_in_use["RQ_DASHBOARD_PASSWORD"] = self.rq_dashboard_password
            for name, value in secrets_in_use.items():
                _refuse_weak_secret(name, value)
        return self

    @property
    def job_timeout_s(self) -> int:
        return parse_duration(self.job_timeout)

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'app.db'}"

    @property
    def external_redis_url(self) -> str | None:
        """The Redis to use, or None for the embedded one."""
        if self.redis_url:
            return self.redis_url
        if self.redis_host:
            password = self.redis_password.get_secret_value() if self.redis_password else ""
            auth = f":{quote(password, safe='')}@" if password else ""
            return f"redis://{auth}{self.redis_host}:{self.redis_port}/{self.redis_db}"
        return None

    @property
    def results_webhook_url(self) -> str:
        return self.webhook_url or f"http://127.0.0.1:{self.port}/internal/webhooks/analysis"

    def secret(self, name: Literal["jwt_secret", "webhook_secret"]) -> bytes:
        value = getattr(self, name)
        assert isinstance(value, SecretStr)
        return value.get_secret_value().encode()


def _development_secret(data_dir: Path, name: str, make: Callable[[], str] = lambda: secrets.token_urlsafe(32)) -> str:
    """A random secret kept under DATA_DIR, so the API and workers of one machine agree on it."""
    path = data_dir / ".secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.parent.chmod(0o700)
        draft = path.with_name(f".{name}.{secrets.token_hex(4)}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="ascii") as out:
            out.write(make())
        with contextlib.suppress(FileExistsError):  # another process of this machine was first
            os.link(draft, path)
        draft.unlink()
    return path.read_text(encoding="ascii").strip()


CALLBACK_SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
CALLBACK_SECRET_BYTES = (24, 64)
"""The key lengths Standard Webhooks allows (bytes, before base64)."""


def _new_callback_secret() -> str:
    return CALLBACK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _check_callback_secret(value: SecretStr) -> None:
    text = value.get_secret_value()
    try:
        key = base64.b64decode(text.removeprefix(CALLBACK_SECRET_PREFIX), validate=True)
    except binascii.Error:
        key = b""
    low, high = CALLBACK_SECRET_BYTES
    if not text.startswith(CALLBACK_SECRET_PREFIX) or not low <= len(key) <= high:
        raise ValueError(f"CALLBACK_SIGNING_SECRET must be {CALLBACK_SECRET_PREFIX}<base64 of {low}-{high} bytes>")


MIN_SECRET_LENGTH = 32
"""Characters a production secret needs at least (e.g. `openssl rand -base64 32` gives 44)."""

_PLACEHOLDERS = ("change", "secret", "password", "example", "default", "xxx", "123")


def _refuse_weak_secret(name: str, value: SecretStr | None) -> None:
    text = value.get_secret_value() if value else ""
    if len(text) < MIN_SECRET_LENGTH or any(word in text.lower() for word in _PLACEHOLDERS):
        raise ValueError(f"{name} looks like a default or is shorter than {MIN_SECRET_LENGTH} characters")


@cache
def get_settings() -> Settings:
    return Settings()

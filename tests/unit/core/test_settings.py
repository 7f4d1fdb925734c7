"""`core.settings`: durations, Redis/database URLs, and the secrets of development and production."""

import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from core.settings import Settings, parse_duration

# Every variable that could leak into Settings from the environment of whoever runs the tests.
ISOLATED_ENV = (
    "REDIS_URL",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_DB",
    "REDIS_PASSWORD",
    "JWT_SECRET",
    "WEBHOOK_SECRET",
    "CALLBACK_SIGNING_SECRET",
    "DATABASE_URL",
    "DATA_DIR",
    "ENVIRONMENT",
    "STORAGE_BACKEND",
    "S3_BUCKET",
    "JOB_TIMEOUT",
    "STT_MODEL",
    "STT_LANGUAGES",
    "STT_VAD",
)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, **overrides)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("15m", 900), ("90s", 90), ("1h", 3600), ("120", 120), (45, 45), (" 2H ", 7200), ("0", 0)],
)
def test_parse_duration(value: str | int, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["abc", "15x", "", "m", "1.5m", "-5", "15 m"])
def test_parse_duration_refuses_what_is_not_a_duration(value: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(value)


def test_job_timeout_s_is_parsed(tmp_path: Path) -> None:
    assert make_settings(tmp_path, job_timeout="2h").job_timeout_s == 7200
    assert make_settings(tmp_path).job_timeout_s == 900


def test_bad_job_timeout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="job_timeout"):
        make_settings(tmp_path, job_timeout="bad")


def test_external_redis_url_is_none_by_default(tmp_path: Path) -> None:
    assert make_settings(tmp_path).external_redis_url is None


def test_external_redis_url_comes_from_redis_url_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6380/2")
    settings = make_settings(tmp_path, redis_host="ignored-host")
    assert settings.external_redis_url == "redis://cache.internal:6380/2"


def test_external_redis_url_is_built_from_host_port_db(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, redis_host="redis.local", redis_port=6390, redis_db=3)
    assert settings.external_redis_url == "redis://redis.local:6390/3"


def test_external_redis_url_quotes_the_password(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, redis_host="redis.local", redis_password="p@ss/word")
    assert settings.external_redis_url == "redis://:p%40ss%2Fword@redis.local:6379/0"


def test_sqlalchemy_url_defaults_to_sqlite_under_data_dir(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert settings.data_dir == tmp_path.resolve()
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path.resolve() / 'app.db'}"


def test_database_url_wins(tmp_path: Path) -> None:
    url = "postgresql+psycopg://app@db/app"
    assert make_settings(tmp_path, database_url=url).sqlalchemy_url == url


def test_local_storage_dir_defaults_under_data_dir(tmp_path: Path) -> None:
    assert make_settings(tmp_path).local_storage_dir == tmp_path.resolve() / "storage"


@pytest.mark.parametrize(
    "secrets",
    [{}, {"jwt_secret": "j" * 40}, {"webhook_secret": "w" * 40}],
    ids=["neither", "no-webhook-secret", "no-jwt-secret"],
)
def test_production_needs_both_secrets(tmp_path: Path, secrets: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="must be set when ENVIRONMENT=production"):
        make_settings(tmp_path, environment="production", **secrets)
    assert not (tmp_path / ".secrets").exists()


CALLBACK_SECRET = "whsec_" + "c" * 44
"""Standard Webhooks' format: whsec_ and the base64 of 33 bytes."""


def test_production_with_secrets_uses_them(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        environment="production",
        jwt_secret="j" * 40,
        webhook_secret="w" * 40,
        callback_signing_secret=CALLBACK_SECRET,
    )
    assert settings.secret("jwt_secret") == b"j" * 40
    assert settings.secret("webhook_secret") == b"w" * 40
    assert not (tmp_path / ".secrets").exists()


def test_development_secrets_are_generated_and_persisted(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    for name in ("jwt_secret", "webhook_secret"):
        path = tmp_path / ".secrets" / name
        assert path.is_file()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text(encoding="ascii").strip().encode() == settings.secret(name)
        assert len(settings.secret(name)) >= 32
    assert settings.secret("jwt_secret") != settings.secret("webhook_secret")
    generated = sorted(p.name for p in (tmp_path / ".secrets").iterdir())
    assert generated == ["callback_signing_secret", "jwt_secret", "webhook_secret"]


def test_development_secret_is_shared_within_a_data_dir(tmp_path: Path) -> None:
    first = make_settings(tmp_path / "a")
    second = make_settings(tmp_path / "a")
    other = make_settings(tmp_path / "b")
    assert first.secret("jwt_secret") == second.secret("jwt_secret")
    assert first.secret("webhook_secret") == second.secret("webhook_secret")
    assert other.secret("jwt_secret") != first.secret("jwt_secret")
    assert other.secret("webhook_secret") != first.secret("webhook_secret")


def test_explicit_secret_is_not_replaced(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, jwt_secret=SecretStr("given-" * 8))
    assert settings.secret("jwt_secret") == b"given-" * 8
    assert not (tmp_path / ".secrets" / "jwt_secret").exists()


def test_s3_backend_needs_a_bucket(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="S3_BUCKET"):
        make_settings(tmp_path, storage_backend="s3")


def test_s3_backend_with_a_bucket_is_accepted(tmp_path: Path) -> None:
    assert make_settings(tmp_path, storage_backend="s3", s3_bucket="uploads").s3_bucket == "uploads"


STRONG_CALLBACK_SECRET = "whsec_Kp3nV8rT1yW6zB9cF2hJ5mQ8sU1xA4dG7jL0oR3uX6z="
"""whsec_ and the base64 of 32 random-looking bytes (a secret is refused below only for the reason each case names)."""


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"jwt_secret": "change-me", "webhook_secret": "w" * 40},
        {"jwt_secret": "j" * 40, "webhook_secret": "too-short"},
        {"jwt_secret": "my-default-secret-for-production-use-xx", "webhook_secret": "w" * 40},
        {"jwt_secret": "j" * 40, "webhook_secret": "w" * 40, "rq_dashboard_password": "password123"},
    ],
)
def test_production_refuses_default_or_weak_secrets(tmp_path: Path, overrides: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            environment="production",
            data_dir=tmp_path,
            **{"callback_signing_secret": STRONG_CALLBACK_SECRET, **overrides},
        )


def test_production_starts_with_strong_secrets(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="production",
        data_dir=tmp_path,
        jwt_secret="Zq8vX1u0mN3bR5tY7wE9pL2kJ4hG6fD8sA0qW",
        webhook_secret="Hn4mK7jL0pO3iU6yT9rE2wQ5aS8dF1gZ4xC7v",
        callback_signing_secret=STRONG_CALLBACK_SECRET,
    )

    assert settings.environment == "production"


def test_speech_to_text_defaults_and_stt_languages_as_a_comma_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = make_settings(tmp_path)
    monkeypatch.setenv("STT_LANGUAGES", " KO, en ,")

    assert (defaults.stt_model, defaults.stt_languages, defaults.stt_vad) == ("base", [], True)
    assert not defaults.stt_allow_download
    assert make_settings(tmp_path).stt_languages == ["ko", "en"]

"""Callback signatures (Standard Webhooks) and the retry schedule."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from callbacks.schedule import first_attempt_at, next_attempt_at, nominal_offsets
from callbacks.signing import signed_headers, signer
from core.settings import Settings, get_settings

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"""The Standard Webhooks reference vector (the spec's and the libraries' shared test)."""
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

T0 = datetime(2026, 1, 2, 10, 0, 0, tzinfo=UTC)


def test_the_signature_matches_the_spec_s_reference_vector() -> None:
    headers = signed_headers(Webhook(SPEC_SECRET), SPEC_ID, SPEC_BODY, datetime.fromtimestamp(SPEC_TIMESTAMP, UTC))

    assert headers == {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    key = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))
    by_hand = hmac.new(key, f"{SPEC_ID}.{SPEC_TIMESTAMP}.{SPEC_BODY}".encode(), hashlib.sha256).digest()
    assert "v1," + base64.b64encode(by_hand).decode() == SPEC_SIGNATURE


def test_a_receiver_verifies_with_the_secret_and_refuses_a_changed_body_or_another_secret(app_env: Path) -> None:
    settings = get_settings()
    secret = settings.callback_signing_secret
    assert secret is not None
    body = '{"job_id": "abc", "status": "completed"}'
    headers = signed_headers(signer(settings), "msg_1", body)

    assert Webhook(secret.get_secret_value()).verify(body, headers) == {"job_id": "abc", "status": "completed"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret.get_secret_value()).verify(body.replace("completed", "failed"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SPEC_SECRET).verify(body, headers)
    stale = signed_headers(signer(settings), "msg_1", body, datetime.now(UTC) - timedelta(minutes=6))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret.get_secret_value()).verify(body, stale)


def test_the_development_secret_is_whsec_kept_under_data_dir_and_production_needs_a_strong_one(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = get_settings().callback_signing_secret
    assert first is not None
    kept = app_env / ".secrets" / "callback_signing_secret"
    assert kept.read_text() == first.get_secret_value()
    assert kept.stat().st_mode & 0o777 == 0o600
    assert first.get_secret_value().startswith("whsec_")
    assert len(base64.b64decode(first.get_secret_value().removeprefix("whsec_"))) == 32
    assert Settings().callback_signing_secret == first  # the API and workers of this machine agree
    assert first.get_secret_value() not in repr(Settings())

    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("JWT_SECRET", "j" * 8 + base64.b64encode(bytes(range(32))).decode())
    monkeypatch.setenv("WEBHOOK_SECRET", "w" * 8 + base64.b64encode(bytes(range(1, 33))).decode())
    with pytest.raises(ValueError, match="CALLBACK_SIGNING_SECRET must be set"):
        Settings()
    monkeypatch.setenv("CALLBACK_SIGNING_SECRET", "whsec_" + base64.b64encode(b"short").decode())
    with pytest.raises(ValueError, match="whsec_<base64 of 24-64 bytes>"):
        Settings()
    monkeypatch.setenv("CALLBACK_SIGNING_SECRET", "not-a-whsec-secret-but-long-enough-0123456789")
    with pytest.raises(ValueError, match="whsec_"):
        Settings()
    strong = "whsec_" + base64.b64encode(bytes(range(40, 72))).decode()
    monkeypatch.setenv("CALLBACK_SIGNING_SECRET", strong)
    assert Settings().callback_signing_secret is not None


def schedule_settings(app_env: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return get_settings()


def test_the_default_schedule_is_standard_webhooks_capped_at_24_hours(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = schedule_settings(app_env, monkeypatch)

    assert nominal_offsets(settings) == [0, 5, 305, 2105, 9305, 27305, 63305, 86400]
    assert first_attempt_at(T0, settings) == T0


def test_each_wait_is_jittered_within_its_bounds_and_the_last_is_moved_into_the_window(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = schedule_settings(app_env, monkeypatch)
    waits = set()
    for _ in range(200):
        following = next_attempt_at(2, T0, T0, settings)  # after attempt 2: the 5-minute step
        assert following is not None
        wait = (following - T0).total_seconds()
        assert 270 <= wait <= 330
        waits.add(round(wait))
    assert len(waits) > 10  # really jittered

    late = T0 + timedelta(hours=17, minutes=36)  # attempt 7 at about 17.6 h: 10 h more would pass 24 h
    assert next_attempt_at(7, late, T0, settings) == T0 + timedelta(hours=24)
    assert next_attempt_at(8, T0 + timedelta(hours=24), T0, settings) is None  # the schedule is used up
    assert next_attempt_at(3, T0 + timedelta(hours=24, seconds=1), T0, settings) is None  # the window has ended


def test_a_short_schedule_from_the_environment_ends_after_its_last_step(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = schedule_settings(app_env, monkeypatch, CALLBACK_RETRY_SCHEDULE="[0, 1, 2]", CALLBACK_RETRY_JITTER="0")

    assert next_attempt_at(1, T0, T0, settings) == T0 + timedelta(seconds=1)
    assert next_attempt_at(2, T0, T0, settings) == T0 + timedelta(seconds=2)
    assert next_attempt_at(3, T0, T0, settings) is None

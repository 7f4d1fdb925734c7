"""Callback signatures (Standard Webhooks, `callbacks.signing`) and the signing secret they are made with."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from callbacks.signing import signed_headers, signer
from core.settings import Settings, get_settings

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"""The Standard Webhooks reference vector (the spec's and the libraries' shared test)."""
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


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

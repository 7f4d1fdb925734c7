"""Fixtures every test tree shares: a clean environment for Settings, and tokens."""

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.security import create_token
from core.settings import Settings, get_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = REPO_ROOT / "samples"
SHARED_AUDIO = REPO_ROOT.parent / "shared" / "audio"

SAMPLE_NAMES = ("hello.wav", "meeting.flac", "weather.mp3", "delivery.ogg", "reminder.m4a", "travel.webm")

_SETTING_NAMES = [name.upper() for name in Settings.model_fields] + ["AWS_SESSION_TOKEN"]


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Settings from nothing but this test: DATA_DIR under tmp_path, fresh secrets, no `.env`."""
    for name in _SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv("JWT_SECRET", secrets.token_urlsafe(32))
    monkeypatch.setenv("WEBHOOK_SECRET", secrets.token_urlsafe(32))
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()


def bearer(user_id: str, role: str | None = None) -> dict[str, str]:
    """An Authorization header for `user_id`, signed with the current JWT_SECRET."""
    token = create_token(os.environ["JWT_SECRET"].encode(), user_id, role)
    return {"Authorization": f"Bearer {token}"}


def reference_text(sample: Path) -> str:
    if sample.parent == SHARED_AUDIO:
        readme = (SHARED_AUDIO / "README.md").read_text()
        row = next(line for line in readme.splitlines() if line.startswith(f"| {sample.name} "))
        return row.split("|")[-2].strip()
    return sample.with_suffix(".txt").read_text().strip()


def word_error_rate(reference: str, hypothesis: str) -> float:
    import jiwer

    def normalise(text: str) -> str:
        return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())

    return float(jiwer.wer(normalise(reference), normalise(hypothesis)))

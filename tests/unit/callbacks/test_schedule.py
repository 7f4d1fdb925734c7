"""The retry schedule of callbacks (`callbacks.schedule`): Standard Webhooks' steps, jittered, capped at 24 h."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from callbacks.schedule import first_attempt_at, next_attempt_at, nominal_offsets
from core.settings import Settings, get_settings

T0 = datetime(2026, 1, 2, 10, 0, 0, tzinfo=UTC)


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

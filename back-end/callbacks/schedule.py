"""When a callback's attempts are due: CALLBACK_RETRY_SCHEDULE, jittered, all within CALLBACK_RETRY_WINDOW_S.

The default schedule is Standard Webhooks' (Svix's): at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
after the attempt before. Its last step would land 27.6 h after the first attempt, so it is moved to the end of
the 24 h window: attempts at about 0, 5 s, 5 min, 35 min, 2.6 h, 7.6 h, 17.6 h and 24 h, eight in all.
"""

import random
from datetime import datetime, timedelta

from core.settings import Settings


def first_attempt_at(planned_at: datetime, settings: Settings) -> datetime:
    """The first attempt: after the schedule's first wait (0 by default), never jittered."""
    return planned_at + timedelta(seconds=_wait(settings, 0))


def next_attempt_at(
    attempts_made: int, last_attempt_at: datetime, planned_at: datetime, settings: Settings
) -> datetime | None:
    """When attempt `attempts_made + 1` is due after attempt `attempts_made` failed; None when there is none."""
    deadline = planned_at + timedelta(seconds=settings.callback_retry_window_s)
    if attempts_made >= len(settings.callback_retry_schedule) or last_attempt_at >= deadline:
        return None
    spread = settings.callback_retry_jitter
    wait = _wait(settings, attempts_made) * random.uniform(1 - spread, 1 + spread)  # noqa: S311 (not a secret)
    return min(last_attempt_at + timedelta(seconds=wait), deadline)


def nominal_offsets(settings: Settings) -> list[float]:
    """Seconds from the delivery's planning to each attempt, without jitter or answer times (for docs and tests)."""
    offsets, at = [], 0.0
    for index in range(len(settings.callback_retry_schedule)):
        if at >= settings.callback_retry_window_s:
            break
        at = min(at + _wait(settings, index), float(settings.callback_retry_window_s))
        offsets.append(at)
    return offsets


def _wait(settings: Settings, index: int) -> float:
    schedule = settings.callback_retry_schedule
    return max(0.0, schedule[index]) if index < len(schedule) else 0.0

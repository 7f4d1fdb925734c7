"""The in-process adapter (`services.in_process`): one attempt, the failure recorded, nothing raised."""

from pathlib import Path

import fakeredis
import pytest

from services.in_process import run_in_process
from tests.unit.tasks.helpers import Events, args_for, kinds


def test_in_process_a_failure_is_recorded_once_and_not_raised(
    app_env: Path, fake_redis: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded: Events = []
    monkeypatch.setattr("services.in_process.record_event_in_process", lambda event, _: recorded.append(event))

    run_in_process(args_for("local://audio/gone.wav", job_id="j2"))

    assert kinds(recorded) == [("started", 1), ("failed", 1)]
    assert recorded[-1].error is not None
    assert recorded[-1].error.code == "audio_missing"

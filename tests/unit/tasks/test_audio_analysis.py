"""`tasks.audio_analysis.process_audio_analysis` alone: what it reports and raises, with a list for its `report`
(no transport at all). Its two adapters are tested in tests/unit/workers/test_rq_job.py and
tests/unit/services/test_in_process.py."""

from pathlib import Path

import fakeredis
import pytest

from tasks.audio_analysis import (
    Attempt,
    PermanentFailure,
    TransientFailure,
    classify,
    process_audio_analysis,
)
from tasks.cancellation import JobCanceled, mark_canceled
from tests.conftest import SAMPLES
from tests.unit.tasks.helpers import BROKEN_WAV, Events, args_for, kinds, stored


def test_the_task_reports_started_then_completed_and_returns_the_result(
    app_env: Path, fake_redis: fakeredis.FakeRedis
) -> None:
    events: Events = []

    result = process_audio_analysis(
        args_for(stored((SAMPLES / "hello.wav").read_bytes())), Attempt("j1", "w"), events.append
    )

    assert kinds(events) == [("started", 1), ("completed", 1)]
    assert events[-1].result == result
    assert "meeting" in result.text.lower()


def test_the_task_raises_typed_failures_after_reporting_started(app_env: Path, fake_redis: fakeredis.FakeRedis) -> None:
    events: Events = []

    with pytest.raises(PermanentFailure) as undecodable:
        process_audio_analysis(args_for(stored(BROKEN_WAV)), Attempt("j1", "w"), events.append)
    with pytest.raises(PermanentFailure) as missing:
        process_audio_analysis(args_for("local://audio/never-stored.wav"), Attempt("j1", "w"), events.append)

    assert (undecodable.value.code, missing.value.code) == ("undecodable_audio", "audio_missing")
    assert kinds(events) == [("started", 1), ("started", 1)]  # a failure is the adapter's to report


def test_a_canceled_job_reports_nothing(app_env: Path, fake_redis: fakeredis.FakeRedis) -> None:
    events: Events = []
    mark_canceled(fake_redis, "j1")

    with pytest.raises(JobCanceled):
        process_audio_analysis(args_for("local://audio/x.wav"), Attempt("j1", "w"), events.append)

    assert events == []


def test_unknown_errors_are_transient_and_known_ones_permanent() -> None:
    assert isinstance(classify(ConnectionError("storage hiccup")), TransientFailure)
    assert classify(ConnectionError()).code == "processing_failed"
    assert not classify(ConnectionError()).permanent

"""`tasks.audio_analysis.process_audio_analysis` alone: what it reports and raises, with a list for its `report`
(no transport at all). Its two adapters are tested in tests/unit/workers/test_rq_job.py and
tests/unit/services/test_in_process.py."""

from itertools import pairwise
from pathlib import Path

import fakeredis
import pytest

from core.settings import get_settings
from samples.recordings import ground_truth
from tasks.audio_analysis import (
    Attempt,
    PermanentFailure,
    TransientFailure,
    classify,
    process_audio_analysis,
)
from tasks.cancellation import JobCanceled, mark_canceled
from tasks.chunks import Chunk
from tests.conftest import SAMPLES, clip
from tests.unit.tasks.helpers import BROKEN_WAV, Events, args_for, kinds, stored


def test_the_task_reports_started_then_completed_and_returns_the_result(
    app_env: Path, fake_redis: fakeredis.FakeRedis
) -> None:
    events: Events = []

    result = process_audio_analysis(
        args_for(stored((SAMPLES / "hello.wav").read_bytes())), Attempt("j1", "w"), events.append, not_split
    )

    assert kinds(events) == [("started", 1), ("completed", 1)]
    assert events[-1].result == result
    assert "meeting" in result.text.lower()


def test_the_task_raises_typed_failures_after_reporting_started(app_env: Path, fake_redis: fakeredis.FakeRedis) -> None:
    events: Events = []

    with pytest.raises(PermanentFailure) as undecodable:
        process_audio_analysis(args_for(stored(BROKEN_WAV)), Attempt("j1", "w"), events.append, not_split)
    with pytest.raises(PermanentFailure) as missing:
        process_audio_analysis(args_for("local://audio/never-stored.wav"), Attempt("j1", "w"), events.append, not_split)

    assert (undecodable.value.code, missing.value.code) == ("undecodable_audio", "audio_missing")
    assert kinds(events) == [("started", 1), ("started", 1)]  # a failure is the adapter's to report


def test_a_canceled_job_reports_nothing(app_env: Path, fake_redis: fakeredis.FakeRedis) -> None:
    events: Events = []
    mark_canceled(fake_redis, "j1")

    with pytest.raises(JobCanceled):
        process_audio_analysis(args_for("local://audio/x.wav"), Attempt("j1", "w"), events.append, not_split)

    assert events == []


def test_a_long_recording_is_cut_in_its_pauses_and_handed_to_fan_out_untranscribed(
    app_env: Path, fake_redis: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHUNK_ABOVE_S", "60")
    monkeypatch.setenv("CHUNK_TARGET_S", "40")
    get_settings.cache_clear()
    recording = clip("long_english")
    events: Events = []
    handed: list[list[Chunk]] = []

    result = process_audio_analysis(
        args_for(stored(recording.read_bytes())), Attempt("j1", "w"), events.append, handed.append
    )

    assert result is None
    assert kinds(events) == [("started", 1)]  # `finish_chunks` reports the rest
    [chunks] = handed
    assert len(chunks) == 4
    assert (chunks[0].start_s, chunks[-1].end_s) == (0.0, chunks[-1].total_s)
    assert all(a.end_s == b.start_s for a, b in pairwise(chunks))
    parts = ground_truth(recording)["parts"]
    for chunk in chunks[1:]:  # every cut between two sentences: no word cut, lost or doubled
        assert any(p["end"] <= chunk.start_s <= q["start"] for p, q in pairwise(parts)), chunk


def not_split(chunks: list[Chunk]) -> None:
    raise AssertionError(f"a short recording was split: {chunks}")


def test_unknown_errors_are_transient_and_known_ones_permanent() -> None:
    assert isinstance(classify(ConnectionError("storage hiccup")), TransientFailure)
    assert classify(ConnectionError()).code == "processing_failed"
    assert not classify(ConnectionError()).permanent

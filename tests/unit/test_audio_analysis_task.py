"""The task's failure policy under a real RQ SimpleWorker (on fakeredis): permanent errors are not retried,
transient ones are, and the job is reported failed exactly once, on its last attempt."""

import io
from pathlib import Path

import fakeredis
import pytest
from rq import Queue, Retry, SimpleWorker
from rq.job import JobStatus as RqStatus

from core.settings import get_settings
from schemas.analysis import AnalysisEvent
from storage import get_storage
from tasks.audio_analysis import process_audio_analysis

Events = list[AnalysisEvent]


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> Events:
    sent: Events = []
    monkeypatch.setattr("tasks.audio_analysis.deliver", lambda event, _: sent.append(event))
    monkeypatch.setattr("tasks.audio_analysis.record_event_in_process", lambda event, _: sent.append(event))
    return sent


def run_on_worker(audio_url: str, retries: int = 3) -> tuple[RqStatus, int | None]:
    connection = fakeredis.FakeRedis()
    queue = Queue("audio_analysis", connection=connection)
    job = queue.enqueue(
        process_audio_analysis,
        kwargs={"job_id": "j1", "s3_url": audio_url, "token_info": {"sub": "alice"}},
        job_id="j1",
        retry=Retry(max=retries),  # no interval: retried at once, so a burst worker sees every attempt
    )
    SimpleWorker([queue], connection=connection).work(burst=True)
    job.refresh()
    return job.get_status(), job.retries_left


def stored(data: bytes) -> str:
    return get_storage(get_settings()).put("audio/test.wav", io.BytesIO(data))


def kinds(events: Events) -> list[tuple[str, int]]:
    return [(event.event, event.attempt) for event in events]


def test_undecodable_audio_fails_at_once_without_retries(app_env: Path, events: Events) -> None:
    status, retries_left = run_on_worker(stored(b"RIFF\x00\x00\x00\x00WAVE" + bytes(4000)))

    assert status == RqStatus.FAILED
    assert retries_left == 0
    assert kinds(events) == [("started", 1), ("failed", 1)]
    assert events[-1].error is not None
    assert events[-1].error.code == "undecodable_audio"


def test_audio_missing_from_storage_fails_at_once(app_env: Path, events: Events) -> None:
    status, _ = run_on_worker("local://audio/never-stored.wav")

    assert status == RqStatus.FAILED
    assert kinds(events) == [("started", 1), ("failed", 1)]
    assert events[-1].error is not None
    assert events[-1].error.code == "audio_missing"


def test_transient_error_is_retried_and_reported_failed_on_the_last_attempt(
    app_env: Path, events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    def flaky(*_: object) -> None:
        raise ConnectionError("storage hiccup")

    monkeypatch.setattr("tasks.audio_analysis.analyse", flaky)

    status, _ = run_on_worker("local://audio/x.wav", retries=2)

    assert status == RqStatus.FAILED
    assert kinds(events) == [("started", 1), ("started", 2), ("started", 3), ("failed", 3)]
    assert events[-1].error is not None
    assert events[-1].error.code == "processing_failed"


def test_outside_rq_a_failure_is_reported_and_not_raised(app_env: Path, events: Events) -> None:
    outcome = process_audio_analysis(job_id="j2", s3_url="local://audio/gone.wav", token_info={"sub": "bob"})

    assert outcome == {"job_id": "j2", "status": "failed", "code": "audio_missing"}
    assert kinds(events) == [("started", 1), ("failed", 1)]

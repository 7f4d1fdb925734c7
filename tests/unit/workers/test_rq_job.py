"""The RQ adapter (`workers.rq_job`) under a real RQ SimpleWorker on fakeredis: permanent failures are not retried,
transient ones are, the job is reported failed exactly once, on its last attempt; jobs enqueued by the previous
release still run."""

from pathlib import Path

import fakeredis
import pytest
from rq import Queue, Retry, SimpleWorker
from rq.job import Job
from rq.job import JobStatus as RqStatus

from tests.conftest import SAMPLES
from tests.unit.tasks.helpers import BROKEN_WAV, Events, args_for, kinds, stored
from workers.rq_job import LEGACY_FUNC_NAME, SttJob, run_analysis


@pytest.fixture
def delivered(monkeypatch: pytest.MonkeyPatch) -> Events:
    sent: Events = []
    monkeypatch.setattr("workers.rq_job.deliver", lambda event, _: sent.append(event))
    return sent


def run_on_worker(connection: fakeredis.FakeRedis, audio_url: str, retries: int = 3) -> tuple[RqStatus, int | None]:
    queue = Queue("audio_analysis", connection=connection)
    job = queue.enqueue(
        run_analysis,
        kwargs=args_for(audio_url).as_kwargs(),
        job_id="j1",
        retry=Retry(max=retries),  # no interval: retried at once, so a burst worker sees every attempt
    )
    SimpleWorker([queue], connection=connection).work(burst=True)
    job.refresh()
    return job.get_status(), job.retries_left


def test_on_rq_undecodable_audio_fails_at_once_without_retries(
    app_env: Path, fake_redis: fakeredis.FakeRedis, delivered: Events
) -> None:
    status, retries_left = run_on_worker(fake_redis, stored(BROKEN_WAV))

    assert status == RqStatus.FAILED
    assert retries_left == 0
    assert kinds(delivered) == [("started", 1), ("failed", 1)]
    assert delivered[-1].error is not None
    assert delivered[-1].error.code == "undecodable_audio"


def test_on_rq_a_transient_error_is_retried_and_reported_failed_on_the_last_attempt(
    app_env: Path, fake_redis: fakeredis.FakeRedis, delivered: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    def flaky(*_: object) -> None:
        raise ConnectionError("storage hiccup")

    monkeypatch.setattr("tasks.audio_analysis.plan_chunks", flaky)

    status, _ = run_on_worker(fake_redis, stored((SAMPLES / "hello.wav").read_bytes()), retries=2)

    assert status == RqStatus.FAILED
    assert kinds(delivered) == [("started", 1), ("started", 2), ("started", 3), ("failed", 3)]
    assert delivered[-1].error is not None
    assert delivered[-1].error.code == "processing_failed"


def test_a_job_enqueued_by_the_previous_release_runs_with_its_arguments_renamed(
    app_env: Path, fake_redis: fakeredis.FakeRedis, delivered: Events
) -> None:
    legacy = {"job_id": "j1", "s3_url": "local://audio/never-stored.wav", "token_info": {"sub": "bob", "role": None}}
    queue = Queue("audio_analysis", connection=fake_redis)
    queue.enqueue(LEGACY_FUNC_NAME, kwargs=legacy, job_id="j1")

    read = SttJob.fetch("j1", connection=fake_redis)
    worker = SimpleWorker([queue], connection=fake_redis, job_class=SttJob)
    worker.work(burst=True)

    assert read.func_name == "workers.rq_job.run_analysis"
    assert read.kwargs == {"job_id": "j1", "audio_url": "local://audio/never-stored.wav", "owner_id": "bob"}
    assert Job.fetch("j1", connection=fake_redis).get_status() == RqStatus.FAILED
    assert kinds(delivered) == [("started", 1), ("failed", 1)]
    assert delivered[-1].error is not None
    assert delivered[-1].error.code == "audio_missing"  # it ran, and found the file it was given gone

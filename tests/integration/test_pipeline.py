"""Upload → queue → worker → Whisper → webhook → stored result, on real processes, in both dispatch modes."""

from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import JFK, SAMPLE_NAMES, SAMPLES, clip, needs_jfk, reference_text, word_error_rate
from tests.integration.conftest import Stack

MAX_WER = 0.3


def assert_transcribed(job: dict[str, object], sample: Path) -> None:
    assert job["status"] == "completed", job
    result = job["result"]
    assert isinstance(result, dict)
    wer = word_error_rate(reference_text(sample), str(result["text"]))
    assert wer <= MAX_WER, f"{sample.name}: WER {wer:.2f} for {result['text']!r}"
    assert result["language"] == "en"
    assert result["duration"] > 1
    assert result["segments"]
    assert all(s["start"] <= s["end"] <= result["duration"] + 0.5 for s in result["segments"])
    assert job["progress"] == 100
    assert job["started_at"] is not None
    assert job["completed_at"] >= job["started_at"]  # ISO-8601 UTC strings compare in time order


def test_rq_mode_concurrent_uploads_spread_over_two_workers(stack: Stack) -> None:
    api = stack.api()
    stack.workers(2, worker_id="stt")
    samples = [SAMPLES / name for name in SAMPLE_NAMES] + [clip("short_english")]

    accepted = [api.upload(sample) for sample in samples]
    jobs = [api.wait(a["job_id"]) for a in accepted]

    assert {a["queue"] for a in accepted} == {"audio_analysis"}
    for job, sample in zip(jobs, samples, strict=True):
        assert_transcribed(job, sample)
    per_worker = Counter(str(stack_job_worker(stack, job["job_id"])) for job in jobs)
    assert set(per_worker) == {"stt-1", "stt-2"}, per_worker


@needs_jfk
def test_real_human_speech_is_transcribed(stack: Stack) -> None:
    api = stack.api()
    stack.workers(1)

    assert_transcribed(api.wait(api.upload(JFK)["job_id"]), JFK)


def stack_job_worker(stack: Stack, job_id: str) -> str | None:
    from sqlalchemy import text

    from db.engine import get_engine

    with get_engine(stack.env["DATABASE_URL"]).connect() as connection:
        return connection.execute(text("SELECT worker_id FROM jobs WHERE id = :id"), {"id": job_id}).scalar()


def test_background_mode_runs_the_same_task_in_the_api(stack: Stack) -> None:
    api = stack.api(USE_RQ_QUEUE="false")  # no worker at all

    accepted = [api.upload(SAMPLES / name) for name in ("hello.wav", "reminder.m4a")]
    jobs = [api.wait(a["job_id"]) for a in accepted]

    assert [a["queue"] for a in accepted] == ["background", "background"]
    for job, name in zip(jobs, ("hello.wav", "reminder.m4a"), strict=True):
        assert_transcribed(job, SAMPLES / name)
        assert job["queue"] == "background"


def test_high_priority_job_is_taken_before_older_normal_jobs(stack: Stack) -> None:
    api = stack.api()
    normal = [api.upload(SAMPLES / "weather.mp3") for _ in range(3)]
    urgent = api.upload(SAMPLES / "delivery.ogg", priority="high")
    assert urgent["queue"] == "high_priority"
    assert urgent["position"] == 0

    stack.workers(1, worker_id="solo")
    jobs = {a["job_id"]: api.wait(a["job_id"]) for a in [*normal, urgent]}

    order = sorted(jobs, key=lambda job_id: jobs[job_id]["started_at"])
    assert order[0] == urgent["job_id"]
    assert order[1:] == [a["job_id"] for a in normal]  # and the normal ones first-in, first-out


def test_flipping_the_flag_needs_no_code_change_and_queued_jobs_drain(stack: Stack) -> None:
    rq_api = stack.api()
    queued = rq_api.upload(SAMPLES / "travel.webm")  # waits in RQ: no worker yet
    bg_api = stack.api(USE_RQ_QUEUE="false", PORT=str(_free()))  # the rollback: same code, one flag

    background = bg_api.upload(SAMPLES / "hello.wav")
    assert_transcribed(bg_api.wait(background["job_id"]), SAMPLES / "hello.wav")
    assert rq_api.job(queued["job_id"])["status"] == "queued"

    stack.workers(1)
    assert_transcribed(rq_api.wait(queued["job_id"]), SAMPLES / "travel.webm")


def _free() -> int:
    from queueing.embedded_redis import free_port

    return free_port()


@pytest.mark.parametrize("name", ["meeting.flac"])
def test_other_users_cannot_see_the_result(stack: Stack, name: str) -> None:
    api = stack.api()
    accepted = api.upload(SAMPLES / name, user="alice")

    import httpx

    response = httpx.get(f"{api.base_url}/api/jobs/{accepted['job_id']}", headers=api.headers("mallory"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "job_not_found"

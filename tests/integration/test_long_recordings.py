"""Long recordings in chunks, on real processes: split over every worker, merged in order, a killed worker's chunk
redone alone, cancel stopping every chunk, progress rising across chunks, and the same chunks in the API process
with JOB_TIMEOUT per chunk. The 145 s `long_english` recording stands for a long one: the tests lower
CHUNK_ABOVE_S and CHUNK_TARGET_S so that it is cut into about four chunks, in the pauses between its sentences."""

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from redis import Redis
from rq import Worker
from rq.job import Job as RqJob
from rq.job import JobStatus as RqStatus

from samples.recordings import ground_truth
from tests.conftest import clip, reference_text, word_error_rate
from tests.integration.conftest import ApiClient, Stack
from tests.integration.test_live_results import read_events
from tests.integration.test_reliability import completions
from workers.rq_job import part_ids

CHUNKED = {"CHUNK_ABOVE_S": "60", "CHUNK_TARGET_S": "40"}

MAX_WER = 0.1
"""Base on long_english whole: 0.015-0.08 (docs/PERFORMANCE.md); a word lost or doubled at each of three cuts
would add about 0.01 each, a lost sentence 0.03."""


def chunked(stack: Stack, **overrides: str) -> None:
    stack.env.update(CHUNKED | overrides)


def assert_one_ordered_transcript(job: dict[str, Any]) -> None:
    assert job["status"] == "completed", job
    result = job["result"]
    recording = clip("long_english")
    assert abs(result["duration"] - ground_truth(recording)["duration"]) < 1.0
    wer = word_error_rate(reference_text(recording), result["text"])
    assert wer <= MAX_WER, f"WER {wer:.3f}: {result['text']!r}"
    starts = [segment["start"] for segment in result["segments"]]
    assert starts == sorted(starts)
    texts = [segment["text"] for segment in result["segments"]]
    assert len(texts) == len(set(texts)), "a segment appears twice"


def parts_of(stack: Stack, job_id: str) -> list[RqJob]:
    connection = Redis.from_url(stack.env["REDIS_URL"])
    return [RqJob.fetch(rq_id, connection=connection) for rq_id in part_ids(connection, job_id)]


def test_a_long_recording_is_split_over_every_worker_and_merged_in_order(stack: Stack) -> None:
    chunked(stack)
    api = stack.api()
    stack.workers(2, worker_id="split")
    job_id = api.upload(clip("long_english"))["job_id"]
    events: list[Any] = []
    follower = threading.Thread(target=lambda: events.extend(read_events(api, job_id)))
    follower.start()

    job = api.wait(job_id)
    follower.join(timeout=30)

    assert_one_ordered_transcript(job)
    parts = parts_of(stack, job_id)
    assert len(parts) >= 4  # three chunks or more, and the merge
    assert {part.worker_name for part in parts[:-1]} == {"split-1", "split-2"}  # both workers took chunks
    assert all(part.get_status() == RqStatus.FINISHED for part in parts)
    progress = [int(event.json()["progress"]) for _, event in events if event.event == "progress"]
    assert progress == sorted(progress), progress  # never down, though chunks report from two workers
    assert len(set(progress)) >= 5
    assert events[-1][1].event == "completed"
    assert completions(stack.env["REDIS_URL"], job_id) == 1


def test_a_killed_worker_loses_only_its_chunk(stack: Stack) -> None:
    chunked(stack)
    api = stack.api()
    stack.workers(2, worker_id="kill")
    connection = Redis.from_url(stack.env["REDIS_URL"])
    job_id = api.upload(clip("long_english"))["job_id"]
    running = _wait_for_a_started_chunk(connection, job_id)
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + str(running.worker_name), connection=connection)
    assert worker is not None
    assert worker.pid

    subprocess.run(["pkill", "-KILL", "-P", str(worker.pid)], check=False)  # its scheduler child, then itself
    os.kill(worker.pid, signal.SIGKILL)
    job = api.wait(job_id)

    assert_one_ordered_transcript(job)
    assert completions(stack.env["REDIS_URL"], job_id) == 1
    log = (stack.logs / "workers-kill.log").read_text(errors="replace")
    done = re.findall(rf"job {job_id}: chunk (\d+) \(", log)
    assert sorted(done) == sorted(set(done)), done  # every chunk transcribed to its end once: none redone
    assert len(set(done)) == len(parts_of(stack, job_id)) - 1
    killed = RqJob.fetch(running.id, connection=connection)
    assert killed.meta.get("attempt") == 2  # the killed chunk, and only it, ran again


def test_cancel_stops_every_chunk(stack: Stack) -> None:
    chunked(stack, CHUNK_TARGET_S="31")
    api = stack.api()
    stack.workers(1, worker_id="cancel")
    connection = Redis.from_url(stack.env["REDIS_URL"])
    job_id = api.upload(clip("long_english"))["job_id"]
    _wait_for_a_started_chunk(connection, job_id)

    answer = httpx.delete(f"{api.base_url}/api/jobs/{job_id}/cancel", headers=api.headers("alice"), timeout=10)
    assert answer.status_code == 200, answer.text

    deadline = time.monotonic() + 30
    while any(p.get_status() in (RqStatus.QUEUED, RqStatus.STARTED) for p in parts_of(stack, job_id)):
        assert time.monotonic() < deadline, [(p.id, p.get_status()) for p in parts_of(stack, job_id)]
        time.sleep(0.2)
    assert api.job(job_id)["status"] == "canceled"
    assert not any(p.get_status() == RqStatus.FINISHED for p in parts_of(stack, job_id)[-1:])  # no merge


def test_in_the_api_process_the_same_chunks_run_in_order(stack: Stack) -> None:
    chunked(stack)
    api = stack.api(USE_RQ_QUEUE="false")

    job = api.wait(api.upload(clip("long_english"))["job_id"])

    assert_one_ordered_transcript(job)
    log = _api_log(stack, api)
    done = [int(index) for index in re.findall(rf"job {job['job_id']}: chunk (\d+) \(", log)]
    assert len(done) >= 3
    assert done == list(range(len(done)))


def test_in_the_api_process_job_timeout_stops_a_chunk_and_the_api_serves_on(stack: Stack) -> None:
    chunked(stack, JOB_TIMEOUT="1s")
    api = stack.api(USE_RQ_QUEUE="false")

    job = api.wait(api.upload(clip("long_english"))["job_id"])

    assert job["status"] == "failed", job
    assert job["error"]["code"] == "timeout"
    assert httpx.get(f"{api.base_url}/health", timeout=5).status_code == 200


def _wait_for_a_started_chunk(connection: Redis, job_id: str) -> RqJob:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for rq_id in part_ids(connection, job_id)[:-1]:
            part = RqJob.fetch(rq_id, connection=connection)
            if part.get_status() == RqStatus.STARTED and part.worker_name:
                return part
        time.sleep(0.05)
    raise AssertionError("no chunk started within 60 s")


def _api_log(stack: Stack, api: ApiClient) -> str:
    port = api.base_url.rsplit(":", 1)[1]
    return Path(stack.logs / f"api-{port}.log").read_text(errors="replace")

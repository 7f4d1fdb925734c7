"""Live progress and results on real processes: the SSE stream, resume, cancel, transcript formats."""

import json
import re
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse
from redis import Redis
from rq import Queue

from tests.conftest import SAMPLES, long_speech, reference_text, word_error_rate
from tests.integration.conftest import ApiClient, Stack

TERMINAL = {"completed", "failed", "canceled"}
SRT_CUE = re.compile(r"\d+\n\d{2}:\d{2}:\d{2},\d{3} --> \d{2}:\d{2}:\d{2},\d{3}\n.+\n")
VTT_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}\.\d{3} --> \d{2}:\d{2}:\d{2}\.\d{3}$", re.MULTILINE)


def read_events(
    api: ApiClient, job_id: str, user: str = "alice", last_event_id: str | None = None
) -> list[tuple[float, ServerSentEvent]]:
    """Every event until the server closes the stream, each with the time it arrived."""
    headers = api.headers(user)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=60)) as client,
        connect_sse(client, "GET", f"{api.base_url}/api/jobs/{job_id}/events", headers=headers) as source,
    ):
        assert source.response.headers["content-type"].startswith("text/event-stream")
        # httpx-sse turns a heartbeat comment after an event with an id into an empty event; a browser does not
        return [(time.time(), event) for event in source.iter_sse() if event.data]


def kinds(events: list[tuple[float, ServerSentEvent]]) -> list[str]:
    return [event.event for _, event in events]


def start(stack: Stack, mode: str) -> ApiClient:
    if mode == "background":
        return stack.api(USE_RQ_QUEUE="false")
    api = stack.api()
    stack.workers(1)
    return api


@pytest.mark.parametrize("mode", ["rq", "background"])
def test_event_sequence_status_then_rising_progress_then_completed(
    stack: Stack, mode: str, tmp_path: Path, record_property: Any
) -> None:
    api = start(stack, mode)
    speech = long_speech(tmp_path / "long.wav", seconds=44)
    accepted = api.upload(speech)

    # From the stream's start: in BackgroundTasks mode the job may be under way before we connect.
    events = read_events(api, accepted["job_id"], last_event_id="0-0")

    names = kinds(events)
    assert names[0] == "status"
    assert names[-1] == "completed"
    assert all(name in ("status", "progress") for name in names[1:-1]), names
    progress = [json.loads(e.data) for _, e in events if e.event == "progress"]
    values = [p["progress"] for p in progress]
    assert values == sorted(values), values
    assert len({v for v in values if 0 < v < 100}) >= 2, values  # it moved while transcribing
    steps = [p["current_step"] for p in progress]
    assert [s for i, s in enumerate(steps) if i == 0 or steps[i - 1] != s] == [
        "downloading",
        "decoding",
        "transcribing",
        "delivering",
    ]
    final = json.loads(events[-1][1].data)
    assert final["status"] == "completed"
    assert final["progress"] == 100
    assert word_error_rate(reference_text(speech), final["result"]["text"]) <= 0.2, final["result"]["text"]
    ids = [e.id for _, e in events]
    assert len(set(ids)) == len(ids)
    latency_ms = [1000 * (arrived - json.loads(e.data)["at"]) for arrived, e in events if e.event == "progress"]
    record_property("progress_latency_ms_median", round(statistics.median(latency_ms), 1))
    print(f"\n[{mode}] progress event → client: median {statistics.median(latency_ms):.1f} ms over {len(latency_ms)}")


def test_resume_with_last_event_id_yields_exactly_the_missed_events(stack: Stack, tmp_path: Path) -> None:
    api = start(stack, "rq")
    job_id = api.upload(long_speech(tmp_path / "long.wav", seconds=33))["job_id"]
    api.wait(job_id)

    everything = read_events(api, job_id, last_event_id="0-0")  # the whole stream, from its start
    resumed = read_events(api, job_id, last_event_id=everything[2][1].id)

    full = [(e.id, e.event, e.data) for _, e in everything]
    assert full[0][1] == "status"
    assert full[-1][1] == "completed"
    assert [(e.id, e.event, e.data) for _, e in resumed] == full[3:]


def test_subscriber_after_completion_gets_the_terminal_event_at_once(stack: Stack) -> None:
    api = start(stack, "rq")
    job_id = api.upload(SAMPLES / "hello.wav")["job_id"]
    api.wait(job_id)

    began = time.monotonic()
    events = read_events(api, job_id)

    assert time.monotonic() - began < 2
    assert kinds(events) == ["completed"]
    assert json.loads(events[0][1].data)["result"]["text"].startswith("Hello everyone")


def test_many_subscribers_of_one_job_see_the_same_events(stack: Stack, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    api = stack.api()
    job_id = api.upload(long_speech(tmp_path / "long.wav", seconds=22))["job_id"]
    with ThreadPoolExecutor(8) as pool:
        streams = [pool.submit(read_events, api, job_id, "alice", "0-0") for _ in range(8)]
        stack.workers(1)
        results = [[(e.id, e.event) for _, e in s.result(timeout=120)] for s in streams]

    assert all(r == results[0] for r in results)
    assert results[0][-1][1] == "completed"


def test_cancel_of_a_queued_job_takes_it_out_of_the_queue(stack: Stack) -> None:
    api = stack.api()  # no worker yet
    job_id = api.upload(SAMPLES / "weather.mp3")["job_id"]

    first = httpx.delete(f"{api.base_url}/api/jobs/{job_id}/cancel", headers=api.headers("alice"))
    second = httpx.delete(f"{api.base_url}/api/jobs/{job_id}/cancel", headers=api.headers("alice"))

    assert (first.status_code, first.json()["status"]) == (200, "canceled")
    assert (second.status_code, second.json()["error"]["code"]) == (409, "job_finished")
    assert Queue("audio_analysis", connection=Redis.from_url(stack.env["REDIS_URL"])).job_ids == []
    stack.workers(1)
    time.sleep(1)
    job = api.job(job_id)
    assert (job["status"], job["result"], job["started_at"]) == ("canceled", None, None)
    assert kinds(read_events(api, job_id)) == ["canceled"]


@pytest.mark.parametrize("mode", ["rq", "background"])
def test_cancel_of_a_running_job_stops_it_and_the_worker_goes_on(stack: Stack, mode: str, tmp_path: Path) -> None:
    api = start(stack, mode)
    job_id = api.upload(long_speech(tmp_path / "long.wav"))["job_id"]  # 145 s of speech
    while api.job(job_id)["current_step"] != "transcribing":
        time.sleep(0.05)

    canceled = httpx.delete(f"{api.base_url}/api/jobs/{job_id}/cancel", headers=api.headers("alice"))
    after = api.wait(api.upload(SAMPLES / "hello.wav")["job_id"])

    assert canceled.status_code == 200
    assert after["status"] == "completed"  # the worker (or the API) took the next job
    time.sleep(1)
    job = api.job(job_id)
    assert (job["status"], job["result"]) == ("canceled", None)
    if mode == "rq":
        rq_job = Queue("audio_analysis", connection=Redis.from_url(stack.env["REDIS_URL"])).fetch_job(job_id)
        assert rq_job is not None
        assert rq_job.get_status() in ("stopped", "failed")
        assert not rq_job.retries_left


def test_transcript_formats_with_word_timestamps(stack: Stack) -> None:
    api = start(stack, "rq")
    with (SAMPLES / "meeting.flac").open("rb") as audio:
        job_id = httpx.post(
            f"{api.base_url}/api/audio",
            headers=api.headers("alice"),
            files={"file": ("meeting.flac", audio)},
            data={"word_timestamps": "true"},
        ).json()["job_id"]
    early = httpx.get(f"{api.base_url}/api/jobs/{job_id}/transcript?format=srt", headers=api.headers("alice"))
    api.wait(job_id)

    def get(fmt: str) -> httpx.Response:
        return httpx.get(f"{api.base_url}/api/jobs/{job_id}/transcript?format={fmt}", headers=api.headers("alice"))

    assert early.status_code == 409
    assert early.json()["error"]["code"] == "job_not_completed"
    srt, vtt, txt, as_json = get("srt"), get("vtt"), get("txt"), get("json")
    assert srt.headers["content-type"].startswith("application/x-subrip")
    assert re.fullmatch(f"(?:{SRT_CUE.pattern})(?:\n{SRT_CUE.pattern})*", srt.text), srt.text
    assert srt.text.startswith("1\n00:00:00,")
    assert vtt.headers["content-type"].startswith("text/vtt")
    assert vtt.text.startswith("WEBVTT\n\n")
    assert VTT_TIME.search(vtt.text)
    assert re.search(r"<\d{2}:\d{2}:\d{2}\.\d{3}>", vtt.text), vtt.text  # words carry their own times
    assert txt.text.strip().lower().startswith("the project meeting")
    words = [w for s in as_json.json()["segments"] for w in s["words"]]
    assert [w["word"].strip().lower() for w in words[:3]] == ["the", "project", "meeting"]
    assert all(w["start"] <= w["end"] for w in words)
    assert get("docx").status_code == 400


def test_bad_requests_around_jobs(stack: Stack) -> None:
    api = stack.api()
    job_id = api.upload(SAMPLES / "hello.wav")["job_id"]

    other_events = httpx.get(f"{api.base_url}/api/jobs/{job_id}/events", headers=api.headers("mallory"))
    other_cancel = httpx.delete(f"{api.base_url}/api/jobs/{job_id}/cancel", headers=api.headers("mallory"))
    bad_resume = httpx.get(
        f"{api.base_url}/api/jobs/{job_id}/events", headers={**api.headers("alice"), "Last-Event-ID": "x; DROP"}
    )

    assert (other_events.status_code, other_events.json()["error"]["code"]) == (404, "job_not_found")
    assert other_cancel.status_code == 404
    assert bad_resume.status_code == 400
    assert api.job(job_id)["status"] == "queued"

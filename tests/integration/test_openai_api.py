"""The OpenAI-compatible routes through the official `openai` package, on real processes. Transcriptions: every
response format, word and segment timestamps, a prompt that changes what the model writes, both dispatch modes,
the wait limit, and refusals raised as the `openai` exception classes with our messages (these on tiny.en, whose
behaviour they pin down). Translations of German speech into English, and the model list, on the default base."""

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from core.security import create_token
from tests.conftest import SAMPLES, clip, reference_text, word_error_rate
from tests.integration.conftest import ApiClient, Stack

HELLO = SAMPLES / "hello.wav"
MAX_WER = 0.3

SPELLING_PROMPT = "Helo evryone, thank yu for joyning the meating."
"""Whisper follows a prompt's spelling: with it, tiny.en writes hello.wav's first words as 'Helo evryone'."""


Connect = Callable[..., OpenAI]

TRANSLATIONS_DEPRECATED = pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning:tests.integration")
"""The openai package marks `audio.translations.create` deprecated (OpenAI's own endpoint is to shut down in 2027);
what this server answers there does not change with that."""


@pytest.fixture
def tiny_en(stack: Stack) -> None:
    """The stack's API and workers run tiny.en (English only) instead of the default, multilingual base."""
    stack.env["STT_MODEL"] = "tiny.en"


@pytest.fixture
def client_for() -> Iterator[Connect]:
    """Makes OpenAI clients on an API's /v1, the api_key a user's JWT (or `api_key`); closes them afterwards."""
    clients: list[OpenAI] = []

    def connect(api: ApiClient, user: str = "alice", api_key: str | None = None) -> OpenAI:
        token = api_key or create_token(api.jwt_secret.encode(), user)
        clients.append(OpenAI(base_url=f"{api.base_url}/v1", api_key=token, timeout=120, max_retries=0))
        return clients[-1]

    yield connect
    for client in clients:
        client.close()


def audio(path: Path = HELLO) -> tuple[str, bytes]:
    return path.name, path.read_bytes()


def assert_words_of(text: str, sample: Path = HELLO) -> None:
    wer = word_error_rate(reference_text(sample), text)
    assert wer <= MAX_WER, f"WER {wer:.2f} for {text!r}"


@pytest.mark.usefixtures("tiny_en")
def test_rq_mode_answers_in_every_format(stack: Stack, client_for: Connect) -> None:
    api = stack.api()
    stack.workers(1)
    client = client_for(api)
    create = client.audio.transcriptions.create

    as_json = create(model="whisper-1", file=audio())
    text = create(model="whisper-1", file=audio(), response_format="text")
    srt = create(model="whisper-1", file=audio(), response_format="srt")
    vtt = create(model="whisper-1", file=audio(), response_format="vtt")
    verbose = create(model="tiny.en", file=audio(), response_format="verbose_json")
    words = create(
        model="whisper-1", file=audio(), response_format="verbose_json", timestamp_granularities=["word", "segment"]
    )

    assert_words_of(as_json.text)
    assert as_json.usage is not None
    assert as_json.usage.type == "duration"
    assert as_json.usage.seconds >= 5
    assert text == as_json.text + "\n"
    assert srt.startswith("1\n00:00:00,000 --> 00:00:")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:")
    assert verbose.language == "english"
    assert verbose.text == as_json.text
    assert verbose.duration > 5
    assert verbose.segments
    assert verbose.words is None
    first = verbose.segments[0]
    assert (first.id, first.start) == (0, 0.0)
    assert first.end > first.start
    assert first.compression_ratio > 0
    assert words.segments
    assert words.words
    assert [w.word for w in words.words][:2] == ["Hello", "everyone,"]
    assert all(w.start <= w.end <= words.duration + 0.5 for w in words.words)
    assert all(a.start <= b.start for a, b in zip(words.words, words.words[1:], strict=False))


@pytest.mark.usefixtures("tiny_en")
def test_prompt_and_language_reach_the_engine(stack: Stack, client_for: Connect) -> None:
    api = stack.api()
    stack.workers(1)
    create = client_for(api).audio.transcriptions.create

    plain = create(model="whisper-1", file=audio(), response_format="text")
    prompted = create(model="whisper-1", file=audio(), response_format="text", language="en", prompt=SPELLING_PROMPT)

    assert plain.startswith("Hello everyone")
    assert prompted.startswith("Helo evryone"), prompted


@pytest.mark.usefixtures("tiny_en")
def test_background_mode_runs_it_in_the_api_without_workers(stack: Stack, client_for: Connect) -> None:
    api = stack.api(USE_RQ_QUEUE="false")
    raw = client_for(api).audio.transcriptions.with_raw_response.create(
        model="whisper-1",
        file=audio(),
        response_format="verbose_json",
        timestamp_granularities=["word"],
        prompt=SPELLING_PROMPT,
    )
    verbose = raw.parse()

    assert raw.status_code == 200
    assert raw.headers["x-model"] == "tiny.en"
    assert api.job(raw.headers["x-job-id"])["queue"] == "background"
    assert verbose.text.startswith("Helo evryone")
    assert verbose.words
    assert verbose.segments is None


def test_past_the_wait_limit_it_is_202_and_the_job_goes_on(stack: Stack, client_for: Connect) -> None:
    api = stack.api(OPENAI_WAIT_TIMEOUT_S="0.5")  # and no worker yet
    client = client_for(api)

    def send(key: str) -> Any:  # the raw response: status, headers, and .parse()
        return client.audio.transcriptions.with_raw_response.create(
            model="whisper-1", file=audio(), extra_headers={"Idempotency-Key": key}
        )

    started = time.monotonic()
    first, doomed = send("first"), send("doomed")
    waited = time.monotonic() - started

    assert (first.status_code, doomed.status_code) == (202, 202)
    assert waited < 5
    pending = first.http_response.json()
    assert first.headers["location"] == pending["status_url"] == f"/api/jobs/{pending['job_id']}"
    assert pending["status"] == "queued"
    doomed_id = doomed.http_response.json()["job_id"]
    for stored in (Path(stack.env["DATA_DIR"]) / "storage").rglob(f"{doomed_id}*"):
        stored.unlink()  # its worker will find no audio: audio_missing

    stack.workers(1)
    assert api.wait(pending["job_id"])["status"] == "completed"
    assert api.wait(doomed_id)["status"] == "failed"
    transcript = httpx.get(
        f"{api.base_url}{pending['transcript_url']}?format=txt", headers=api.headers("alice"), timeout=10
    )
    assert_words_of(transcript.text)

    again = send("first")  # the same Idempotency-Key: the same job, now finished
    assert again.status_code == 200
    assert again.parse().text + "\n" == transcript.text
    with pytest.raises(openai.InternalServerError) as failed:
        send("doomed")
    assert failed.value.code == "audio_missing"
    assert failed.value.type == "server_error"
    assert "no longer in storage" in failed.value.message
    assert failed.value.response.headers["x-should-retry"] == "false"


def test_a_client_that_gives_up_stops_the_wait_not_the_job(stack: Stack, client_for: Connect) -> None:
    api = stack.api(OPENAI_WAIT_TIMEOUT_S="120")  # no worker: the job stays queued
    impatient = client_for(api)

    with pytest.raises(openai.APITimeoutError):
        impatient.audio.transcriptions.create(model="whisper-1", file=audio(), timeout=1)

    log = stack.logs / f"api-{stack.env['PORT']}.log"
    deadline = time.monotonic() + 10  # the wait notices between two reads of the stream (5 s apart at most)
    while not (given_up := _log_messages(log, "nobody waits for it any more")):
        assert time.monotonic() < deadline, "the API kept waiting for a client that had gone"
        time.sleep(0.2)
    job_id = given_up[0].removeprefix("job ").split(":")[0]
    assert api.job(job_id)["status"] == "queued"


def _log_messages(log: Path, containing: str) -> list[str]:
    lines = (json.loads(line) for line in log.read_text().splitlines() if line.startswith("{"))
    return [line["message"] for line in lines if containing in line.get("message", "")]


@TRANSLATIONS_DEPRECATED
@pytest.mark.usefixtures("tiny_en")
def test_refusals_are_openai_errors_with_our_messages(stack: Stack, client_for: Connect) -> None:
    api = stack.api()
    client = client_for(api)
    create = client.audio.transcriptions.create

    with pytest.raises(openai.BadRequestError) as bad_format:
        create(model="whisper-1", file=audio(), response_format="docx")  # type: ignore[call-overload]
    with pytest.raises(openai.BadRequestError) as unknown_model:
        create(model="gpt-4o-transcribe", file=audio())
    with pytest.raises(openai.BadRequestError) as german:
        create(model="whisper-1", file=audio(), language="de")
    with pytest.raises(openai.BadRequestError) as words_in_json:
        create(model="whisper-1", file=audio(), timestamp_granularities=["word"])
    with pytest.raises(openai.AuthenticationError) as forged:
        client_for(api, api_key="not-a-jwt").audio.transcriptions.create(model="whisper-1", file=audio())
    with pytest.raises(openai.AuthenticationError) as anonymous:
        create(model="whisper-1", file=audio(), extra_headers={"Authorization": openai.Omit()})
    with pytest.raises(openai.APIStatusError) as not_audio:
        create(model="whisper-1", file=("notes.wav", b"just some text, renamed to .wav\n" * 20))
    with pytest.raises(openai.BadRequestError) as translation:
        client.audio.translations.create(model="whisper-1", file=audio())

    assert bad_format.value.param == "response_format"
    assert "response_format" in bad_format.value.message
    assert unknown_model.value.code == "model_not_found"
    assert "use whisper-1 or tiny.en" in unknown_model.value.message
    assert german.value.code == "unsupported_language"
    assert "English only" in german.value.message
    assert words_in_json.value.param == "timestamp_granularities"
    assert (forged.value.code, forged.value.type) == ("invalid_token", "authentication_error")
    assert anonymous.value.code == "missing_token"
    assert not_audio.value.status_code == 415
    assert not_audio.value.code == "unsupported_media_type"
    assert not_audio.value.type == "invalid_request_error"
    assert (translation.value.code, translation.value.param) == ("unsupported_task", "task")
    assert "English-only and cannot translate" in translation.value.message


ENGLISH_WORDS = {"good", "morning", "welcome", "today", "new", "summer", "please", "questions", "office"}


@TRANSLATIONS_DEPRECATED
def test_german_speech_is_translated_into_english_and_the_models_are_listed(stack: Stack, client_for: Connect) -> None:
    german = clip("german")
    api = stack.api()
    stack.workers(1)
    client = client_for(api)

    translation = client.audio.translations.create(model="whisper-1", file=audio(german))
    verbose = client.audio.translations.create(model="base", file=audio(german), response_format="verbose_json")
    models = client.models.list()
    served = client.models.retrieve("base")
    with pytest.raises(openai.NotFoundError) as unknown:
        client.models.retrieve("gpt-4o-transcribe")

    english = set(re.findall(r"[a-z]+", translation.text.lower()))
    assert len(english & ENGLISH_WORDS) >= 4, translation.text
    assert word_error_rate(reference_text(german), translation.text) > 0.8  # not the German words
    assert verbose.text == translation.text
    assert verbose.language == "german"  # the detected source language, by name
    assert verbose.model_extra is not None
    assert verbose.model_extra["task"] == "translate"
    assert verbose.duration > 8
    assert verbose.segments
    assert [m.id for m in models] == ["base", "whisper-1"]
    assert all((m.object, m.owned_by) == ("model", "system") for m in models)
    assert served.id == "base"
    assert unknown.value.code == "model_not_found"

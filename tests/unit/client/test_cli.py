"""The command-line client against `httpx.MockTransport`: uploads (with diarization's options), the event stream and
its resumption, `main` (a diarized transcript as the server renders it)."""

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from client.__main__ import main
from client.api import ClientError, TranscribeAPI
from schemas.analysis import AnalysisResult, Segment
from transcripts.formats import TranscriptFormat, render

Handler = Callable[[httpx.Request], httpx.Response]
JOB = "job-1"
SRT = "1\n00:00:00,000 --> 00:00:02,500\nHello everyone.\n"


def status_body(status: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "job_id": JOB, "status": status, "progress": 0, "current_step": None, "queue": "audio_analysis",
        "retry_count": 0, "created_at": "2025-01-01T00:00:00Z", "started_at": None, "completed_at": None,
        "error": None, "result": None, "position": 0, "estimated_wait_s": 0.0,
    }  # fmt: skip
    body.update(fields)
    return body


SEGMENTS = [{"start": 0.0, "end": 2.5, "text": "Hello everyone."}]
RESULT = {"text": "Hello everyone.", "language": "en", "duration": 2.5, "segments": SEGMENTS}
EVENTS = [
    ("1-0", "status", status_body("queued")),
    ("2-0", "progress", {"job_id": JOB, "progress": 10, "current_step": "decoding", "at": 1.5}),
    ("3-0", "progress", {"job_id": JOB, "progress": 60, "current_step": "transcribing", "at": 2.5}),
    ("4-0", "completed", status_body("completed", progress=100, result=RESULT)),
]
FAILED = ("2-0", "failed", status_body("failed", error={"code": "undecodable_audio", "message": "Cannot decode it."}))


def sse(*events: tuple[str, str, dict[str, Any]]) -> str:
    return "".join(f"id: {id_}\nevent: {name}\ndata: {json.dumps(data)}\n\n" for id_, name, data in events)


def stream(text: str) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream; charset=utf-8"}, text=text)


def accepted(queue: str = "audio_analysis", position: int = 0) -> httpx.Response:
    body = {"job_id": JOB, "status": "queued", "queue": queue, "position": position, "estimated_wait_s": 3.0 * position}
    return httpx.Response(202, json=body)


def error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


def api_with(handler: Handler) -> TranscribeAPI:
    return TranscribeAPI("http://api.test", "tok", transport=httpx.MockTransport(handler), reconnect_delay_s=0)


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    path = tmp_path / "hello.wav"
    path.write_bytes(b"RIFF....WAVEfmt ")
    return path


def test_upload_sends_the_file_form_fields_and_token(audio: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return accepted("high_priority")

    with api_with(handler) as api:
        answer = api.upload(audio, "high", word_timestamps=True)

    assert answer["job_id"] == JOB
    request = seen[0]
    assert (request.method, request.url.path) == ("POST", "/api/audio")
    assert request.headers["authorization"] == "Bearer tok"
    body = request.read()
    assert b'name="file"; filename="hello.wav"' in body
    assert b"RIFF....WAVEfmt " in body
    assert b'name="priority"\r\n\r\nhigh' in body
    assert b'name="word_timestamps"\r\n\r\ntrue' in body


def form_fields(request: httpx.Request) -> dict[str, str]:
    """The multipart form's text fields (not the file)."""
    fields = re.findall(rb'name="([^"]+)"\r\n\r\n([^\r]*)\r\n', request.read())
    return {name.decode(): value.decode() for name, value in fields}


@pytest.mark.parametrize(
    ("options", "sent"),
    [
        ([], {"task": "transcribe"}),
        (["--language", "de"], {"task": "transcribe", "language": "de"}),
        (["--task", "translate", "--no-vad"], {"task": "translate", "vad": "false"}),
        (["--diarize"], {"task": "transcribe", "diarize": "true"}),
        (
            ["--diarize", "--min-speakers", "2", "--max-speakers", "3"],
            {"task": "transcribe", "diarize": "true", "min_speakers": "2", "max_speakers": "3"},
        ),
        (["--max-speakers", "15"], {"task": "transcribe", "diarize": "true", "max_speakers": "15"}),
        (["--min-speakers", "1"], {"task": "transcribe", "diarize": "true", "min_speakers": "1"}),
    ],
    ids=[
        "defaults",
        "language",
        "translate-no-vad",
        "diarize",
        "both-counts",
        "max-implies-diarize",
        "min-implies-diarize",
    ],
)
def test_language_task_vad_and_speaker_options_reach_the_upload_form(
    audio: Path, options: list[str], sent: dict[str, str]
) -> None:
    uploads: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/audio":
            uploads.append(request)
        return fake_server()(request)

    code = main(
        ["transcribe", str(audio), "--format", "srt", "--token", "tok", *options],
        transport=httpx.MockTransport(handler),
    )

    assert code == 0
    assert form_fields(uploads[0]) == {"priority": "normal", "word_timestamps": "false", **sent}


def test_an_unknown_task_is_a_usage_error(audio: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["transcribe", str(audio), "--task", "summarise", "--token", "tok"])

    assert exit_info.value.code == 2
    assert "invalid choice: 'summarise'" in capsys.readouterr().err


def test_upload_refusal_raises_client_error(audio: Path) -> None:
    with (
        api_with(lambda _: error(415, "unsupported_media_type", "Not audio.")) as api,
        pytest.raises(ClientError) as info,
    ):
        api.upload(audio)
    assert (info.value.code, info.value.message, info.value.status_code) == (
        "unsupported_media_type",
        "Not audio.",
        415,
    )


def test_an_error_answer_that_is_not_json_still_raises_client_error(audio: Path) -> None:
    with api_with(lambda _: httpx.Response(502, text="Bad Gateway")) as api, pytest.raises(ClientError) as info:
        api.upload(audio)
    assert (info.value.code, info.value.message) == ("http_502", "Bad Gateway")


def test_follow_reports_every_event_in_order_and_returns_the_terminal_body() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        heartbeat = ": ping\n\n"  # after an id, httpx-sse turns this into an empty `message` event
        return stream(sse(*EVENTS[:2]) + heartbeat + sse(*EVENTS[2:]))

    events: list[tuple[str, dict[str, Any]]] = []
    with api_with(handler) as api:
        final = api.follow(JOB, lambda name, data: events.append((name, data)))

    assert events == [(name, data) for _, name, data in EVENTS]
    assert final == EVENTS[-1][2]
    assert len(requests) == 1
    assert requests[0].url.path == f"/api/jobs/{JOB}/events"
    assert requests[0].headers["authorization"] == "Bearer tok"
    assert "last-event-id" not in requests[0].headers


def dropped_after(text: str) -> Iterator[bytes]:
    yield text.encode()
    raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


@pytest.mark.parametrize("how", ["clean end", "broken connection"])
def test_a_dropped_stream_is_resumed_with_last_event_id(how: str) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if len(requests) == 1:
            head = sse(*EVENTS[:2])
            if how == "clean end":
                return stream(head)
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=dropped_after(head))
        return stream(sse(*EVENTS[2:]))

    names: list[str] = []
    with api_with(handler) as api:
        final = api.follow(JOB, lambda name, _: names.append(name))

    assert names == ["status", "progress", "progress", "completed"]
    assert final["status"] == "completed"
    assert [r.headers.get("last-event-id") for r in requests] == [None, "2-0"]


def test_follow_gives_up_on_a_stream_that_never_delivers() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return stream(": ping\n\n")

    api = TranscribeAPI("http://api.test", "tok", transport=httpx.MockTransport(handler), max_reconnects=2)
    api.reconnect_delay_s = 0
    with api, pytest.raises(ClientError) as info:
        api.follow(JOB, lambda *_: None)
    assert info.value.code == "stream_lost"
    assert len(calls) == 3


def test_follow_raises_the_refusal_of_the_events_endpoint() -> None:
    with api_with(lambda _: error(404, "job_not_found", "No such job.")) as api, pytest.raises(ClientError) as info:
        api.follow(JOB, lambda *_: None)
    assert info.value.code == "job_not_found"


def test_transcript_asks_for_the_format() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/api/jobs/{JOB}/transcript"
        assert request.url.params["format"] == "vtt"
        return httpx.Response(200, text="WEBVTT\n")

    with api_with(handler) as api:
        assert api.transcript(JOB, "vtt") == "WEBVTT\n"


def fake_server(terminal: tuple[str, str, dict[str, Any]] | None = None, refuse: str | None = None) -> Handler:
    """Uploads of `refuse` get 415; every job then runs EVENTS, or ends with `terminal`."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/audio":
            if refuse and f'filename="{refuse}"'.encode() in request.read():
                return error(415, "unsupported_media_type", "Not an audio file.")
            return accepted(position=1)
        if request.url.path.endswith("/events"):
            return stream(sse(EVENTS[0], terminal) if terminal else sse(*EVENTS))
        if request.url.path.endswith("/transcript"):
            assert request.url.params["format"] == "srt"
            return httpx.Response(200, text=SRT)
        return error(404, "not_found", "No such route.")

    return handler


def test_main_prints_the_transcript_and_exits_0(
    audio: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRANSCRIBE_URL", raising=False)
    monkeypatch.setenv("TRANSCRIBE_TOKEN", "tok")
    code = main(["transcribe", str(audio), "--format", "srt"], transport=httpx.MockTransport(fake_server()))

    out, err = capsys.readouterr()
    assert code == 0
    assert out == f"==> {audio} <==\n{SRT}\n"
    assert "hello.wav" in err  # the bar, on stderr
    assert "completed" in err


@pytest.mark.parametrize(
    ("terminal", "reason"),
    [
        (FAILED, "Cannot decode it. (undecodable_audio)"),
        (("2-0", "canceled", status_body("canceled")), "the job was canceled (canceled)"),
    ],
)
def test_main_exits_1_when_a_job_fails_or_is_canceled(
    terminal: tuple[str, str, dict[str, Any]], reason: str, audio: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    transport = httpx.MockTransport(fake_server(terminal=terminal))
    code = main(["transcribe", str(audio), "--format", "srt", "--token", "tok"], transport=transport)

    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert f"{audio}: {reason}" in err


def test_main_goes_on_after_a_refused_upload_and_exits_1(
    audio: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not audio")
    transport = httpx.MockTransport(fake_server(refuse="notes.txt"))
    argv = ["transcribe", str(text_file), str(audio), "--format", "srt", "--token", "tok"]
    code = main(argv, transport=transport)

    out, err = capsys.readouterr()
    assert code == 1
    assert out == f"==> {audio} <==\n{SRT}\n"
    assert f"{text_file}: Not an audio file. (unsupported_media_type)" in err


def test_main_without_a_token_fails_clearly(
    audio: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRANSCRIBE_TOKEN", raising=False)
    code = main(["transcribe", str(audio)], transport=httpx.MockTransport(fake_server()))

    assert code != 0
    assert "no token: pass --token or set TRANSCRIBE_TOKEN" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--min-speakers", "0"], "'0' is not a number of speakers from 1 to 15"),
        (["--max-speakers", "16"], "'16' is not a number of speakers from 1 to 15"),
        (["--min-speakers", "two"], "'two' is not a number of speakers from 1 to 15"),
        (["--min-speakers", "3", "--max-speakers", "2"], "--min-speakers 3 is more than --max-speakers 2"),
    ],
    ids=["zero", "sixteen", "not-a-number", "min-above-max"],
)
def test_speaker_counts_out_of_range_are_usage_errors(
    audio: Path, options: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["transcribe", str(audio), "--token", "tok", *options], transport=httpx.MockTransport(fake_server()))

    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


DIARIZED = AnalysisResult(
    text="Hello everyone. Hi. Thank you all.",
    language="en",
    duration=6.0,
    segments=[
        Segment(start=0.0, end=2.0, text=" Hello everyone.", speaker="SPEAKER_1"),
        Segment(start=2.0, end=3.0, text=" Hi.", speaker="SPEAKER_2"),
        Segment(start=3.0, end=6.0, text=" Thank you all.", speaker="SPEAKER_2"),
    ],
    speakers=["SPEAKER_1", "SPEAKER_2"],
)


@pytest.mark.parametrize(
    ("fmt", "printed"),
    [
        ("txt", "SPEAKER_1: Hello everyone.\n\nSPEAKER_2: Hi. Thank you all.\n"),
        (
            "srt",
            "1\n00:00:00,000 --> 00:00:02,000\nSPEAKER_1: Hello everyone.\n\n"
            "2\n00:00:02,000 --> 00:00:03,000\nSPEAKER_2: Hi.\n\n"
            "3\n00:00:03,000 --> 00:00:06,000\nThank you all.\n",
        ),
    ],
)
def test_a_diarized_transcript_is_printed_with_the_speaker_at_each_change(
    audio: Path, fmt: TranscriptFormat, printed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/transcript"):  # the server's own rendering of a diarized result
            assert request.url.params["format"] == fmt
            return httpx.Response(200, text=render(DIARIZED, fmt))
        return fake_server()(request)

    code = main(
        ["transcribe", str(audio), "--diarize", "--format", fmt, "--token", "tok"],
        transport=httpx.MockTransport(handler),
    )

    assert code == 0
    assert capsys.readouterr().out == f"==> {audio} <==\n{printed}\n"

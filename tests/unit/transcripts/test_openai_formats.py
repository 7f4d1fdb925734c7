"""A result in OpenAI's shapes: json, text, srt, vtt, verbose_json with segment and word granularities, and
diarized_json (checked against the openai client's own type)."""

import json
import zlib

import pytest
from openai.types.audio.transcription_diarized import TranscriptionDiarized, UsageDuration

from schemas.analysis import AnalysisResult, Segment, Word
from transcripts.openai_formats import compression_ratio, render_openai


def result(words: bool = False) -> AnalysisResult:
    def timed(*items: tuple[str, float, float]) -> list[Word] | None:
        return [Word(word=w, start=s, end=e) for w, s, e in items] if words else None

    return AnalysisResult(
        text="Hello there. General Kenobi.",
        language="en",
        duration=4.2,
        segments=[
            Segment(start=0.0, end=1.5, text="Hello there.", words=timed((" Hello", 0.0, 0.6), (" there.", 0.7, 1.5))),
            Segment(
                start=2.0, end=4.0, text="General Kenobi.", words=timed((" General", 2.0, 2.9), (" Kenobi.", 3.0, 4.0))
            ),
        ],
    )


def test_json_is_text_and_duration_usage() -> None:
    body, media_type = render_openai(result(), "json")

    assert media_type == "application/json"
    assert json.loads(body) == {"text": "Hello there. General Kenobi.", "usage": {"type": "duration", "seconds": 5}}


def test_text_srt_and_vtt_are_the_plain_renderings() -> None:
    text, text_type = render_openai(result(), "text")
    srt, srt_type = render_openai(result(), "srt")
    vtt, vtt_type = render_openai(result(), "vtt")

    assert (text, text_type) == ("Hello there. General Kenobi.\n", "text/plain; charset=utf-8")
    assert srt.startswith("1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n2\n00:00:02,000 --> 00:00:04,000\n")
    assert srt_type.startswith("application/x-subrip")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello there.\n")
    assert vtt_type.startswith("text/vtt")


def test_verbose_json_has_segments_by_default_and_no_words() -> None:
    body = json.loads(render_openai(result(words=True), "verbose_json")[0])

    assert body["task"] == "transcribe"
    assert body["language"] == "english"
    assert body["duration"] == 4.2
    assert body["text"] == "Hello there. General Kenobi."
    assert "words" not in body
    assert [s["id"] for s in body["segments"]] == [0, 1]
    second = body["segments"][1]
    assert second["start"] == 2.0
    assert second["end"] == 4.0
    assert second["seek"] == 200  # 10 ms frames
    assert second["text"] == "General Kenobi."
    assert second["tokens"] == []
    assert second["temperature"] == second["avg_logprob"] == second["no_speech_prob"] == 0.0
    assert second["compression_ratio"] == pytest.approx(
        len(b"General Kenobi.") / len(zlib.compress(b"General Kenobi."))
    )
    assert body["usage"] == {"type": "duration", "seconds": 5}


def test_verbose_json_words_are_flattened_and_stripped() -> None:
    only_words = json.loads(render_openai(result(words=True), "verbose_json", frozenset({"word"}))[0])
    both = json.loads(render_openai(result(words=True), "verbose_json", frozenset({"word", "segment"}))[0])

    assert "segments" not in only_words  # as OpenAI: asking for words alone leaves segments out
    assert only_words["words"] == [
        {"word": "Hello", "start": 0.0, "end": 0.6},
        {"word": "there.", "start": 0.7, "end": 1.5},
        {"word": "General", "start": 2.0, "end": 2.9},
        {"word": "Kenobi.", "start": 3.0, "end": 4.0},
    ]
    assert len(both["segments"]) == 2
    assert both["words"] == only_words["words"]


def test_compression_ratio_grows_with_repetition() -> None:
    assert compression_ratio("") == 0.0
    assert compression_ratio("la " * 100) > 2.4 > compression_ratio("Hello there, General Kenobi.")


def diarized(speakers: bool = True) -> AnalysisResult:
    plain = result()
    if speakers:
        plain.segments[0].speaker, plain.segments[1].speaker = "SPEAKER_1", "SPEAKER_2"
        plain.speakers = ["SPEAKER_1", "SPEAKER_2"]
    return plain


def test_diarized_json_is_openais_shape_with_the_speakers() -> None:
    body, media_type = render_openai(diarized(), "diarized_json")

    assert media_type == "application/json"
    assert json.loads(body) == {
        "task": "transcribe",
        "duration": 4.2,
        "text": "Hello there. General Kenobi.",
        "segments": [
            {
                "type": "transcript.text.segment",
                "id": "seg_0",
                "start": 0.0,
                "end": 1.5,
                "text": "Hello there.",
                "speaker": "SPEAKER_1",
            },
            {
                "type": "transcript.text.segment",
                "id": "seg_1",
                "start": 2.0,
                "end": 4.0,
                "text": "General Kenobi.",
                "speaker": "SPEAKER_2",
            },
        ],
        "usage": {"type": "duration", "seconds": 5},
    }
    assert list(json.loads(body)) == ["task", "duration", "text", "segments", "usage"]


def test_diarized_json_parses_as_the_openai_clients_type() -> None:
    parsed = TranscriptionDiarized.model_validate_json(render_openai(diarized(), "diarized_json")[0])

    assert parsed.task == "transcribe"
    assert parsed.text == "Hello there. General Kenobi."
    assert [(s.id, s.speaker, s.text, s.type) for s in parsed.segments] == [
        ("seg_0", "SPEAKER_1", "Hello there.", "transcript.text.segment"),
        ("seg_1", "SPEAKER_2", "General Kenobi.", "transcript.text.segment"),
    ]
    assert isinstance(parsed.usage, UsageDuration)
    assert parsed.usage.seconds == 5


def test_diarized_json_of_a_result_without_speakers_says_unknown() -> None:
    body = json.loads(render_openai(diarized(speakers=False), "diarized_json")[0])

    assert [s["speaker"] for s in body["segments"]] == ["unknown", "unknown"]


def test_srt_and_vtt_show_the_speakers_and_text_gives_the_turns() -> None:
    assert render_openai(diarized(), "text")[0] == "SPEAKER_1: Hello there.\n\nSPEAKER_2: General Kenobi.\n"
    assert "\nSPEAKER_2: General Kenobi.\n" in render_openai(diarized(), "srt")[0]
    assert "\n<v SPEAKER_1>Hello there.\n" in render_openai(diarized(), "vtt")[0]

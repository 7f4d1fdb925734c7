"""Plain text, SRT and WebVTT of a result: as before without speakers; with them, WebVTT voice spans, SRT's
`SPEAKER_1: ` at each change of speaker, and one plain-text paragraph per turn."""

import pytest

from schemas.analysis import AnalysisResult, Segment, Word
from transcripts.formats import has_speakers, render, voice_tag

LINES = [
    (0.0, 1.5, " Hello there.", "SPEAKER_1"),
    (2.0, 4.0, " General Kenobi.", "SPEAKER_2"),
    (4.0, 5.0, " You are a bold one.", "SPEAKER_2"),
    (5.5, 6.0, "  ", "SPEAKER_1"),  # no words: no cue, and it does not split SPEAKER_2's turn below
    (6.0, 7.5, " Kill him.", "SPEAKER_2"),
    (8.0, 9.0, " Back away.", "SPEAKER_1"),
]


def result(speakers: bool = True, words: bool = False) -> AnalysisResult:
    def timed(text: str, start: float, end: float) -> list[Word] | None:
        if not words:
            return None
        parts = text.split()
        step = (end - start) / max(1, len(parts))
        return [Word(word=f" {w}", start=start + i * step, end=start + (i + 1) * step) for i, w in enumerate(parts)]

    return AnalysisResult(
        text="Hello there. General Kenobi. You are a bold one. Kill him. Back away.",
        language="en",
        duration=9.0,
        segments=[
            Segment(start=s, end=e, text=t, words=timed(t, s, e), speaker=who if speakers else None)
            for s, e, t, who in LINES
        ],
        speakers=["SPEAKER_1", "SPEAKER_2"] if speakers else None,
    )


def test_without_speakers_every_format_is_as_before() -> None:
    plain = result(speakers=False)

    assert not has_speakers(plain)
    assert render(plain, "txt") == plain.text + "\n"
    assert render(plain, "srt") == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n"
        "2\n00:00:02,000 --> 00:00:04,000\nGeneral Kenobi.\n\n"
        "3\n00:00:04,000 --> 00:00:05,000\nYou are a bold one.\n\n"
        "4\n00:00:06,000 --> 00:00:07,500\nKill him.\n\n"
        "5\n00:00:08,000 --> 00:00:09,000\nBack away.\n"
    )
    assert render(plain, "vtt") == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:01.500\nHello there.\n\n"
        "00:00:02.000 --> 00:00:04.000\nGeneral Kenobi.\n\n"
        "00:00:04.000 --> 00:00:05.000\nYou are a bold one.\n\n"
        "00:00:06.000 --> 00:00:07.500\nKill him.\n\n"
        "00:00:08.000 --> 00:00:09.000\nBack away.\n"
    )
    assert "speaker" not in render(plain, "json")


def test_txt_is_one_labelled_paragraph_per_turn() -> None:
    assert render(result(), "txt") == (
        "SPEAKER_1: Hello there.\n\nSPEAKER_2: General Kenobi. You are a bold one. Kill him.\n\nSPEAKER_1: Back away.\n"
    )


def test_srt_names_the_speaker_at_each_change_only() -> None:
    assert render(result(), "srt") == (
        "1\n00:00:00,000 --> 00:00:01,500\nSPEAKER_1: Hello there.\n\n"
        "2\n00:00:02,000 --> 00:00:04,000\nSPEAKER_2: General Kenobi.\n\n"
        "3\n00:00:04,000 --> 00:00:05,000\nYou are a bold one.\n\n"
        "4\n00:00:06,000 --> 00:00:07,500\nKill him.\n\n"
        "5\n00:00:08,000 --> 00:00:09,000\nSPEAKER_1: Back away.\n"
    )


def test_vtt_cues_are_voice_spans() -> None:
    assert render(result(), "vtt") == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:01.500\n<v SPEAKER_1>Hello there.\n\n"
        "00:00:02.000 --> 00:00:04.000\n<v SPEAKER_2>General Kenobi.\n\n"
        "00:00:04.000 --> 00:00:05.000\n<v SPEAKER_2>You are a bold one.\n\n"
        "00:00:06.000 --> 00:00:07.500\n<v SPEAKER_2>Kill him.\n\n"
        "00:00:08.000 --> 00:00:09.000\n<v SPEAKER_1>Back away.\n"
    )


def test_vtt_word_times_follow_the_voice_tag() -> None:
    vtt = render(result(words=True), "vtt")

    assert "00:00:00.000 --> 00:00:01.500\n<v SPEAKER_1>Hello <00:00:00.750>there.\n" in vtt
    assert "00:00:02.000 --> 00:00:04.000\n<v SPEAKER_2>General <00:00:03.000>Kenobi.\n" in vtt


@pytest.mark.parametrize(
    ("speaker", "tag"),
    [("SPEAKER_1", "<v SPEAKER_1>"), ("Q&A <host>", "<v Q&amp;A &lt;host&gt;>"), ("Ann\n\nLee", "<v Ann Lee>")],
    ids=["label", "escaped", "one-line"],
)
def test_voice_tags_escape_the_name(speaker: str, tag: str) -> None:
    assert voice_tag(speaker) == tag


def test_a_segment_without_a_speaker_has_no_label() -> None:
    mixed = AnalysisResult(
        text="One. Two. Three.",
        language="en",
        duration=3.0,
        segments=[
            Segment(start=0.0, end=1.0, text=" One.", speaker="SPEAKER_1"),
            Segment(start=1.0, end=2.0, text=" Two."),
            Segment(start=2.0, end=3.0, text=" Three.", speaker="SPEAKER_1"),
        ],
        speakers=["SPEAKER_1"],
    )

    assert render(mixed, "txt") == "SPEAKER_1: One.\n\nTwo.\n\nSPEAKER_1: Three.\n"
    assert render(mixed, "srt").split("\n\n")[1:] == [
        "2\n00:00:01,000 --> 00:00:02,000\nTwo.",
        "3\n00:00:02,000 --> 00:00:03,000\nSPEAKER_1: Three.\n",
    ]
    assert "00:00:01.000 --> 00:00:02.000\nTwo.\n" in render(mixed, "vtt")


def test_json_carries_the_speakers() -> None:
    body = AnalysisResult.model_validate_json(render(result(), "json"))

    assert body.speakers == ["SPEAKER_1", "SPEAKER_2"]
    assert [s.speaker for s in body.segments] == [who for *_, who in LINES]

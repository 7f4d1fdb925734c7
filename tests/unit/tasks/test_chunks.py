"""`tasks.chunks`: where a recording is cut, chunk times moved into the recording's, and the merge."""

from pathlib import Path

import pytest

from core.settings import Settings
from schemas.analysis import AnalysisResult, Segment, Word
from tasks.chunks import Chunk, ChunkTranscript, Speakers, merged, plan_chunks, shifted


def result(language: str, *segments: tuple[float, float, str], probability: float = 0.9) -> AnalysisResult:
    return AnalysisResult(
        text=" ".join(text for _, _, text in segments),
        language=language,
        language_probability=probability,
        duration=0.0,
        segments=[
            Segment(start=a, end=b, text=text, words=[Word(start=a, end=b, word=text)]) for a, b, text in segments
        ],
        model="base",
    )


def spoken_by(transcript: AnalysisResult, *speakers: str) -> AnalysisResult:
    """Each segment (and its words) said by the next of `speakers`, as the diarizer would label them."""
    for segment, speaker in zip(transcript.segments, speakers, strict=True):
        segment.speaker = speaker
        for word in segment.words or ():
            word.speaker = speaker
    return transcript


def test_a_short_recording_is_one_chunk_and_a_long_one_is_cut_where_the_pauses_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, chunk_above_s=600, chunk_target_s=300)
    monkeypatch.setattr("tasks.chunks.find_cuts", lambda path, duration, target: [301.5, 598.0])

    assert plan_chunks(tmp_path / "a", 600.0, settings) == [Chunk(0, 0.0, 600.0, 600.0)]
    assert plan_chunks(tmp_path / "a", 900.0, settings) == [
        Chunk(0, 0.0, 301.5, 900.0),
        Chunk(1, 301.5, 598.0, 900.0),
        Chunk(2, 598.0, 900.0, 900.0),
    ]


def test_a_chunk_s_segments_and_words_move_into_the_recording_s_time() -> None:
    moved = shifted(result("en", (0.5, 2.0, "hello")), Chunk(1, 300.0, 600.0, 900.0))

    assert (moved.segments[0].start, moved.segments[0].end, moved.duration) == (300.5, 302.0, 900.0)
    assert moved.segments[0].words == [Word(start=300.5, end=302.0, word="hello")]


def test_the_merge_keeps_order_and_reports_the_language_of_most_of_the_audio() -> None:
    chunks = [Chunk(0, 0.0, 100.0, 400.0), Chunk(1, 100.0, 400.0, 400.0)]
    parts = [result("en", (1.0, 2.0, "Hello."), probability=0.8), result("ko", (150.0, 152.0, "안녕하세요."))]

    whole = merged([ChunkTranscript(result=part) for part in parts], chunks, None)

    assert whole.text == "Hello. 안녕하세요."
    assert [s.start for s in whole.segments] == [1.0, 150.0]
    assert (whole.language, whole.language_probability, whole.duration) == ("ko", 0.9, 400.0)


def test_a_diarized_merge_links_each_chunk_s_speakers_by_voice_and_numbers_them_in_order_of_speaking() -> None:
    chunks = [Chunk(0, 0.0, 100.0, 200.0), Chunk(1, 100.0, 200.0, 200.0)]
    first = spoken_by(result("en", (1.0, 2.0, "Hi."), (3.0, 4.0, "Hello.")), "SPEAKER_02", "SPEAKER_01")
    second = spoken_by(result("en", (101.0, 102.0, "Bye."), (103.0, 104.0, "Goodbye.")), "SPEAKER_01", "SPEAKER_02")
    low, high = [1.0, 0.0, 0.1], [0.0, 1.0, 0.1]  # chunk 1 found the same two voices, named the other way round
    transcripts = [
        ChunkTranscript(result=first, voices={"SPEAKER_02": low, "SPEAKER_01": high}),
        ChunkTranscript(result=second, voices={"SPEAKER_01": low, "SPEAKER_02": high}),
    ]

    whole = merged(transcripts, chunks, Speakers())

    assert [(s.text, s.speaker) for s in whole.segments] == [
        ("Hi.", "SPEAKER_1"),
        ("Hello.", "SPEAKER_2"),
        ("Bye.", "SPEAKER_1"),
        ("Goodbye.", "SPEAKER_2"),
    ]
    assert whole.speakers == ["SPEAKER_1", "SPEAKER_2"]
    assert [w.speaker for s in whole.segments for w in s.words or ()] == ["SPEAKER_1", "SPEAKER_2"] * 2

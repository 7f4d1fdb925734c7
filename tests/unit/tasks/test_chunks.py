"""`tasks.chunks`: where a recording is cut, chunk times moved into the recording's, and the merge."""

from pathlib import Path

import pytest

from core.settings import Settings
from schemas.analysis import AnalysisResult, Segment, Word
from tasks.chunks import Chunk, merged, plan_chunks, shifted


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

    whole = merged(parts, chunks)

    assert whole.text == "Hello. 안녕하세요."
    assert [s.start for s in whole.segments] == [1.0, 150.0]
    assert (whole.language, whole.language_probability, whole.duration) == ("ko", 0.9, 400.0)

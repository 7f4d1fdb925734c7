"""`audio.cuts.find_cuts`: cuts land in pauses, between sentences, and an hour is searched a minute at a time."""

from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from audio.cuts import find_cuts
from audio.decode import measure_duration
from samples.recordings import ground_truth
from tests.conftest import SAMPLES, clip
from tests.unit.audio.test_decode import HOUR_S, MAX_RSS_GROWTH, silent_flac, usage


def between_parts(cut: float, path: Path) -> bool:
    """Whether `cut` lies after one spoken part of the recording ends and before the next starts."""
    parts = ground_truth(path)["parts"]
    return any(before["end"] < cut < after["start"] for before, after in pairwise(parts))


def test_a_cut_near_a_minute_of_silence_lands_in_it() -> None:
    path = clip("silence_gap")  # a sentence, 60 s of silence, a sentence
    cuts = find_cuts(path, measure_duration(path), target_s=30.0)

    assert cuts
    assert all(between_parts(cut, path) for cut in cuts), cuts


def test_every_cut_in_long_english_lies_between_two_sentences() -> None:
    path = clip("long_english")  # 145 s, 0.4 s between sentences
    duration = measure_duration(path)
    cuts = find_cuts(path, duration, target_s=40.0)

    assert len(cuts) == 3  # near 40, 80 and 120 s
    assert cuts == sorted(cuts)
    assert cuts[0] > 0
    assert cuts[-1] < duration
    assert all(between_parts(cut, path) for cut in cuts), cuts


def test_a_cut_stays_within_the_search_window_and_half_a_chunk_from_the_last() -> None:
    path = clip("long_english")
    cuts = find_cuts(path, measure_duration(path), target_s=20.0, search_s=5.0)

    assert all(abs(cut - 20.0 * round(cut / 20.0)) <= 5.0 for cut in cuts), cuts
    assert all(later - earlier >= 10.0 for earlier, later in pairwise([0.0, *cuts])), cuts


def test_without_a_pause_the_cut_is_at_its_target(monkeypatch: pytest.MonkeyPatch) -> None:
    def all_speech(audio: Any, *args: Any, **kwargs: Any) -> list[dict[str, int]]:
        return [{"start": 0, "end": len(audio)}]

    monkeypatch.setattr("audio.cuts.get_speech_timestamps", all_speech)

    assert find_cuts(clip("long_english"), 145.0, target_s=40.0) == [40.0, 80.0, 120.0]


def test_a_recording_shorter_than_a_chunk_is_not_cut() -> None:
    assert find_cuts(SAMPLES / "hello.wav", 6.36, target_s=300.0) == []


def test_a_chunk_must_last() -> None:
    with pytest.raises(ValueError, match="no chunk"):
        find_cuts(SAMPLES / "hello.wav", 6.36, target_s=0.0)


def test_an_hour_of_silence_is_cut_a_minute_at_a_time(tmp_path_factory: pytest.TempPathFactory) -> None:
    path = silent_flac(tmp_path_factory.mktemp("hour") / "silence.flac", HOUR_S)
    find_cuts(SAMPLES / "hello.wav", 6.36, target_s=2.0)  # Silero's model, loaded once per process, is not counted

    with usage() as used:
        cuts = find_cuts(path, HOUR_S, target_s=300.0)

    assert cuts == [300.0 * k for k in range(1, 12)]  # nothing but pause: each window's middle
    assert used.rss_growth < MAX_RSS_GROWTH, f"RSS grew {used.rss_growth / 2**20:.0f} MB"
    assert used.seconds < 30, f"{used.seconds:.1f} s"

"""`speakers.linking`: one set of speakers across separately diarized chunks, by voice."""

from speakers.linking import link

ANNA, BORIS, CHEN = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]


def near(voice: list[float], by: float = 0.2) -> list[float]:
    return [x + by for x in voice]


def test_the_same_voice_in_different_chunks_is_one_speaker() -> None:
    names = link([{"SPEAKER_01": ANNA, "SPEAKER_02": BORIS}, {"SPEAKER_01": near(BORIS)}, {"SPEAKER_01": near(ANNA)}])

    assert names[0]["SPEAKER_01"] == names[2]["SPEAKER_01"] != names[0]["SPEAKER_02"] == names[1]["SPEAKER_01"]


def test_one_voice_the_diarizer_split_within_a_chunk_is_one_speaker_again() -> None:
    names = link([{"SPEAKER_01": ANNA, "SPEAKER_02": near(ANNA, 0.01), "SPEAKER_03": BORIS}])

    assert names[0]["SPEAKER_01"] == names[0]["SPEAKER_02"] != names[0]["SPEAKER_03"]


def test_max_speakers_merges_the_closest_voices_and_min_speakers_stops_merging() -> None:
    chunks = [{"SPEAKER_01": ANNA}, {"SPEAKER_01": BORIS}, {"SPEAKER_01": near(CHEN, 0.5)}]

    assert len({name for chunk in link(chunks) for name in chunk.values()}) == 3
    assert len({name for chunk in link(chunks, max_speakers=2) for name in chunk.values()}) == 2
    assert len({name for chunk in link(chunks, threshold=-1.0, min_speakers=2) for name in chunk.values()}) == 2


def test_no_voices_no_names() -> None:
    assert link([{}, {}]) == [{}, {}]

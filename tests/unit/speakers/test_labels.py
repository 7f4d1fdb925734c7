"""`speakers.labels`: speakers onto words and segments, splits at a change of speaker, numbering."""

from schemas.analysis import AnalysisResult, EngineSettings, Segment, Word
from speakers.diarizer import Turn
from speakers.labels import numbered, speaker_at, split_by_speaker, without_words


def words(*spoken: tuple[float, float, str]) -> list[Word]:
    return [Word(start=a, end=b, word=f" {text}") for a, b, text in spoken]


def result_of(*segments: list[Word]) -> AnalysisResult:
    return AnalysisResult(
        text="",
        language="en",
        duration=20.0,
        segments=[
            Segment(start=w[0].start, end=w[-1].end, text="".join(x.word for x in w).strip(), words=w) for w in segments
        ],
        engine=EngineSettings(name="faster-whisper", compute_type="int8", beam_size=1, vad=True),
    )


TURNS = [Turn(0.0, 4.9, "B"), Turn(5.2, 9.0, "A"), Turn(9.5, 12.0, "B")]


def test_a_segment_spoken_by_two_people_is_split_where_the_speaker_changes() -> None:
    spoken = result_of(words((0.5, 1.0, "Shall"), (1.0, 1.5, "we?"), (5.3, 5.8, "Yes,"), (5.9, 6.5, "let's.")))

    split = split_by_speaker(spoken, TURNS)

    assert [(s.text, s.speaker, s.start, s.end) for s in split.segments] == [
        ("Shall we?", "B", 0.5, 1.5),
        ("Yes, let's.", "A", 5.3, 6.5),
    ]
    assert [w.speaker for s in split.segments for w in s.words or ()] == ["B", "B", "A", "A"]


def test_one_word_between_two_of_the_same_speaker_takes_theirs() -> None:
    spoken = result_of(words((5.3, 5.8, "I"), (9.1, 9.4, "think"), (9.6, 10.0, "so.")))
    spoken.segments[0].words[1:2] = [Word(start=8.9, end=9.2, word=" think")]  # type: ignore[index]

    split = split_by_speaker(spoken, [Turn(5.2, 9.0, "A"), Turn(9.05, 9.3, "B"), Turn(9.5, 12.0, "A")])

    assert [(s.text, s.speaker) for s in split.segments] == [("I think so.", "A")]


def test_a_word_outside_every_turn_takes_the_nearest_speaker() -> None:
    assert speaker_at(5.05, 5.15, TURNS) == "A"  # 0.05 s before A's turn, 0.15 s after B's
    assert speaker_at(13.0, 13.5, TURNS) == "B"
    assert speaker_at(1.0, 2.0, []) is None


def test_labels_are_numbered_in_order_of_first_speaking_and_listed() -> None:
    split = split_by_speaker(result_of(words((0.5, 1.0, "Hi.")), words((5.3, 5.8, "Hello."))), TURNS)

    final = numbered(without_words(split))

    assert [(s.text, s.speaker, s.words) for s in final.segments] == [
        ("Hi.", "SPEAKER_1", None),
        ("Hello.", "SPEAKER_2", None),
    ]
    assert final.speakers == ["SPEAKER_1", "SPEAKER_2"]


def test_nobody_heard_leaves_the_transcript_as_it_was() -> None:
    spoken = result_of(words((0.5, 1.0, "Hm.")))

    assert split_by_speaker(spoken, []) == spoken
    assert numbered(spoken).speakers == []

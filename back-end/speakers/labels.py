"""Speakers onto a transcript: each word gets the speaker of the turn it overlaps most, a segment is split where its
speaker changes, and the labels are numbered `SPEAKER_1`, `SPEAKER_2`, … in the order they first speak.

Words need their times here, so a diarized job is always transcribed with word timestamps; `without_words` drops
them again when the upload did not ask for them.
"""

from collections.abc import Iterable, Mapping
from itertools import groupby

from schemas.analysis import AnalysisResult, Segment, Word
from speakers.diarizer import Turn

LABEL = "SPEAKER_{}"


def split_by_speaker(result: AnalysisResult, turns: list[Turn]) -> AnalysisResult:
    """`result` with a speaker on every word and segment (the diarizer's own labels), segments split at each change
    of speaker; unchanged when nobody was heard speaking."""
    if not turns:
        return result
    segments = [piece for segment in result.segments for piece in _split(segment, turns)]
    return result.model_copy(update={"segments": segments})


def renamed(result: AnalysisResult, names: Mapping[str, str]) -> AnalysisResult:
    """Every speaker label `x` replaced by `names[x]` (labels not in `names` stay)."""

    def name(label: str | None) -> str | None:
        return None if label is None else names.get(label, label)

    segments = [
        segment.model_copy(
            update={
                "speaker": name(segment.speaker),
                "words": None
                if segment.words is None
                else [word.model_copy(update={"speaker": name(word.speaker)}) for word in segment.words],
            }
        )
        for segment in result.segments
    ]
    return result.model_copy(update={"segments": segments})


def numbered(result: AnalysisResult) -> AnalysisResult:
    """The final labels, `SPEAKER_1` for whoever speaks first, listed in `speakers`."""
    order = list(dict.fromkeys(s.speaker for s in result.segments if s.speaker is not None and s.text))
    names = {label: LABEL.format(number) for number, label in enumerate(order, start=1)}
    return renamed(result, names).model_copy(update={"speakers": list(names.values())})


def without_words(result: AnalysisResult) -> AnalysisResult:
    return result.model_copy(update={"segments": [s.model_copy(update={"words": None}) for s in result.segments]})


def speaker_at(start: float, end: float, turns: Iterable[Turn]) -> str | None:
    """The speaker of the turn overlapping `[start, end]` most; of the nearest turn when none overlaps."""
    best, best_overlap, nearest, nearest_gap = None, 0.0, None, float("inf")
    for turn in turns:
        overlap = min(end, turn.end) - max(start, turn.start)
        if overlap > best_overlap:
            best, best_overlap = turn.speaker, overlap
        gap = max(turn.start - end, start - turn.end, 0.0)
        if gap < nearest_gap:
            nearest, nearest_gap = turn.speaker, gap
    return best if best is not None else nearest


def _split(segment: Segment, turns: list[Turn]) -> list[Segment]:
    if not segment.words:
        return [segment.model_copy(update={"speaker": speaker_at(segment.start, segment.end, turns)})]
    words = _smoothed([w.model_copy(update={"speaker": speaker_at(w.start, w.end, turns)}) for w in segment.words])
    pieces = [list(group) for _, group in groupby(words, key=lambda w: w.speaker)]
    if len(pieces) == 1:
        return [segment.model_copy(update={"words": words, "speaker": words[0].speaker})]
    return [_segment_of(piece) for piece in pieces]


def _smoothed(words: list[Word]) -> list[Word]:
    """A lone word whose neighbours in the segment share a speaker gets theirs: one word is too short to tell a
    voice by, and a turn boundary's rounding should not cut a sentence in three."""
    for i in range(1, len(words) - 1):
        neighbours = words[i - 1].speaker
        if neighbours == words[i + 1].speaker and words[i].speaker != neighbours:
            words[i] = words[i].model_copy(update={"speaker": neighbours})
    return words


def _segment_of(words: list[Word]) -> Segment:
    return Segment(
        start=words[0].start,
        end=words[-1].end,
        text="".join(w.word for w in words).strip(),
        words=words,
        speaker=words[0].speaker,
    )

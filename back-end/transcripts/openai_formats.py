"""A result in the shapes of OpenAI's transcription API: json, text, srt, vtt, verbose_json and diarized_json.

text, srt and vtt are this project's own renderings (`transcripts.formats`, which shows speakers when the result has
them). verbose_json fills what a result holds (times, text, words, language, duration) and documents the rest in
`schemas.openai_audio`; diarized_json is the segments with their speakers.
"""

import math
import zlib

from schemas.analysis import AnalysisResult
from schemas.openai_audio import (
    DiarizedSegment,
    DiarizedTranscription,
    DurationUsage,
    Granularity,
    OpenAiFormat,
    Transcription,
    TranscriptionSegment,
    TranscriptionWord,
    VerboseTranscription,
)
from stt.languages import language_name
from transcripts.formats import MEDIA_TYPES, render

OPENAI_MEDIA_TYPES: dict[OpenAiFormat, str] = {
    "json": MEDIA_TYPES["json"],
    "verbose_json": MEDIA_TYPES["json"],
    "text": MEDIA_TYPES["txt"],
    "srt": MEDIA_TYPES["srt"],
    "vtt": MEDIA_TYPES["vtt"],
    "diarized_json": MEDIA_TYPES["json"],
}

FRAMES_PER_SECOND = 100
"""Whisper's `seek` unit: 10 ms mel frames."""

NO_SPEAKER = "unknown"
"""diarized_json's `speaker` (which OpenAI requires) of a segment without one: diarization did not attribute it, or
the job was not diarized (an Idempotency-Key answering with an earlier job that did not ask for it)."""


def render_openai(
    result: AnalysisResult, fmt: OpenAiFormat, granularities: frozenset[Granularity] = frozenset()
) -> tuple[str, str]:
    """The body and its media type."""
    if fmt == "json":
        body = transcription(result).model_dump_json()
    elif fmt == "verbose_json":
        body = verbose_transcription(result, granularities).model_dump_json(exclude_none=True)
    elif fmt == "diarized_json":
        body = diarized_transcription(result).model_dump_json()
    else:
        body = render(result, "txt" if fmt == "text" else fmt)
    return body, OPENAI_MEDIA_TYPES[fmt]


def transcription(result: AnalysisResult) -> Transcription:
    return Transcription(text=result.text, usage=usage(result))


def verbose_transcription(result: AnalysisResult, granularities: frozenset[Granularity]) -> VerboseTranscription:
    """Segments by default or when asked for; words (flattened across segments) when asked for."""
    segments = [
        TranscriptionSegment(
            id=number,
            seek=round(s.start * FRAMES_PER_SECOND),
            start=s.start,
            end=s.end,
            text=s.text,
            tokens=[],
            temperature=0.0,
            avg_logprob=0.0,
            compression_ratio=compression_ratio(s.text),
            no_speech_prob=0.0,
        )
        for number, s in enumerate(result.segments)
    ]
    words = [
        TranscriptionWord(word=w.word.strip(), start=w.start, end=w.end)
        for s in result.segments
        for w in s.words or ()
        if w.word.strip()
    ]
    return VerboseTranscription(
        task=result.engine.task if result.engine else "transcribe",
        language=language_name(result.language),
        duration=result.duration,
        text=result.text,
        segments=segments if "segment" in granularities or not granularities else None,
        words=words if "word" in granularities else None,
        usage=usage(result),
    )


def diarized_transcription(result: AnalysisResult) -> DiarizedTranscription:
    """Every segment, numbered `seg_0`, … as in the result, with its speaker."""
    segments = [
        DiarizedSegment(
            id=f"seg_{number}", start=s.start, end=s.end, text=s.text.strip(), speaker=s.speaker or NO_SPEAKER
        )
        for number, s in enumerate(result.segments)
    ]
    return DiarizedTranscription(duration=result.duration, text=result.text, segments=segments, usage=usage(result))


def usage(result: AnalysisResult) -> DurationUsage:
    return DurationUsage(seconds=math.ceil(result.duration))


def compression_ratio(text: str) -> float:
    """Whisper's measure of repetition: the text's bytes over their zlib-compressed size (0 for no text)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0

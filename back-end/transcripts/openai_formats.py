"""A result in the shapes of OpenAI's transcription API: json, text, srt, vtt and verbose_json.

text, srt and vtt are this project's own renderings (`transcripts.formats`). verbose_json fills what a result holds
(times, text, words, language, duration) and documents the rest in `schemas.openai_audio`.
"""

import math
import zlib

from schemas.analysis import AnalysisResult
from schemas.openai_audio import (
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
}

FRAMES_PER_SECOND = 100
"""Whisper's `seek` unit: 10 ms mel frames."""


def render_openai(
    result: AnalysisResult, fmt: OpenAiFormat, granularities: frozenset[Granularity] = frozenset()
) -> tuple[str, str]:
    """The body and its media type."""
    if fmt == "json":
        body = transcription(result).model_dump_json()
    elif fmt == "verbose_json":
        body = verbose_transcription(result, granularities).model_dump_json(exclude_none=True)
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


def usage(result: AnalysisResult) -> DurationUsage:
    return DurationUsage(seconds=math.ceil(result.duration))


def compression_ratio(text: str) -> float:
    """Whisper's measure of repetition: the text's bytes over their zlib-compressed size (0 for no text)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0

"""Rendering a result as plain text, SRT (numbered cues, `HH:MM:SS,mmm`) or WebVTT (`HH:MM:SS.mmm`).

With word timestamps, WebVTT cues carry an inline timestamp before each word after the first; SRT has no way to
time words, so its cues stay per segment (the JSON result has every word's times).

With speakers (an upload that asked for diarization), each format says who speaks in its own way:

- WebVTT: every cue is a voice span, `<v SPEAKER_1>Hello there.` (the end tag may be left out when the span is the
  whole cue); word timestamps follow the voice tag as without speakers.
- SRT, which has no voices: the cue's text starts with `SPEAKER_1: ` whenever the speaker differs from the
  previous cue's, so the first cue always names its speaker.
- Plain text: one paragraph per turn (consecutive segments of the same speaker), `SPEAKER_1: text`, with a blank
  line between turns, so that a long turn wrapped by a terminal or an editor still reads as one block.

A segment that diarization left without a speaker gets no voice tag, no prefix, and a paragraph without a label.
Without speakers every format is exactly what it was before diarization existed: plain text is `result.text`.
"""

from itertools import groupby
from typing import Literal

from schemas.analysis import AnalysisResult, Segment

TranscriptFormat = Literal["json", "txt", "srt", "vtt"]

MEDIA_TYPES: dict[TranscriptFormat, str] = {
    "json": "application/json",
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}


def render(result: AnalysisResult, fmt: TranscriptFormat) -> str:
    if fmt == "json":
        return result.model_dump_json(exclude_none=True)
    if fmt == "txt":
        return render_txt(result)
    if fmt == "srt":
        return render_srt(result)
    return render_vtt(result)


def render_txt(result: AnalysisResult) -> str:
    """The text; with speakers, one `SPEAKER_1: …` paragraph per turn."""
    if not has_speakers(result):
        return result.text + "\n"
    paragraphs = [
        _labelled(speaker, " ".join(" ".join(s.text for s in turn).split()))
        for speaker, turn in groupby(_spoken(result), key=lambda s: s.speaker)
    ]
    return "\n\n".join(paragraphs) + "\n"


def render_srt(result: AnalysisResult) -> str:
    cues: list[str] = []
    previous: str | None = None
    for number, s in enumerate(_spoken(result), start=1):
        text = cue_text(s.text)
        if s.speaker is not None and s.speaker != previous:
            text = _labelled(s.speaker, text)
        previous = s.speaker
        cues.append(f"{number}\n{timestamp(s.start, ',')} --> {timestamp(s.end, ',')}\n{text}\n")
    return "\n".join(cues)


def render_vtt(result: AnalysisResult) -> str:
    cues = [f"{timestamp(s.start, '.')} --> {timestamp(s.end, '.')}\n{_vtt_text(s)}\n" for s in _spoken(result)]
    return "\n".join(["WEBVTT\n", *cues])


def has_speakers(result: AnalysisResult) -> bool:
    """Whether diarization named a speaker anywhere in the result."""
    return any(s.speaker is not None for s in result.segments)


def timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def cue_text(text: str) -> str:
    """Cue text may hold neither an arrow nor a blank line (either would end or break the cue)."""
    return " ".join(text.replace("-->", "->").split())


def voice_tag(speaker: str) -> str:
    """WebVTT's voice span start tag, `<v SPEAKER_1>`: the annotation escapes `&`, `<` and `>` as cue text does, and
    holds no line break."""
    return f"<v {_escape_vtt(cue_text(speaker))}>"


def _labelled(speaker: str | None, text: str) -> str:
    return text if speaker is None else f"{cue_text(speaker)}: {text}"


def _vtt_text(segment: Segment) -> str:
    voice = voice_tag(segment.speaker) if segment.speaker is not None else ""
    if not segment.words:
        return voice + _escape_vtt(cue_text(segment.text))
    parts: list[str] = []
    for word in segment.words:
        text = _escape_vtt(cue_text(word.word))
        inside = segment.start < word.start < segment.end
        parts.append(f"<{timestamp(word.start, '.')}>{text}" if parts and inside else text)
    return voice + " ".join(parts)


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _spoken(result: AnalysisResult) -> list[Segment]:
    return [s for s in result.segments if s.text.strip()]

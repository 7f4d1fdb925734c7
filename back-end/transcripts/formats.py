"""Rendering a result as plain text, SRT (numbered cues, `HH:MM:SS,mmm`) or WebVTT (`HH:MM:SS.mmm`).

With word timestamps, WebVTT cues carry an inline timestamp before each word after the first; SRT has no way to
time words, so its cues stay per segment (the JSON result has every word's times).
"""

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
        return result.text + "\n"
    if fmt == "srt":
        return render_srt(result)
    return render_vtt(result)


def render_srt(result: AnalysisResult) -> str:
    cues = [
        f"{number}\n{timestamp(s.start, ',')} --> {timestamp(s.end, ',')}\n{cue_text(s.text)}\n"
        for number, s in enumerate(_spoken(result), start=1)
    ]
    return "\n".join(cues)


def render_vtt(result: AnalysisResult) -> str:
    cues = [f"{timestamp(s.start, '.')} --> {timestamp(s.end, '.')}\n{_vtt_text(s)}\n" for s in _spoken(result)]
    return "\n".join(["WEBVTT\n", *cues])


def timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def cue_text(text: str) -> str:
    """Cue text may hold neither an arrow nor a blank line (either would end or break the cue)."""
    return " ".join(text.replace("-->", "->").split())


def _vtt_text(segment: Segment) -> str:
    if not segment.words:
        return _escape_vtt(cue_text(segment.text))
    parts: list[str] = []
    for word in segment.words:
        text = _escape_vtt(cue_text(word.word))
        inside = segment.start < word.start < segment.end
        parts.append(f"<{timestamp(word.start, '.')}>{text}" if parts and inside else text)
    return " ".join(parts)


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _spoken(result: AnalysisResult) -> list[Segment]:
    return [s for s in result.segments if s.text.strip()]

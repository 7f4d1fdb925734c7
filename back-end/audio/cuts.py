"""Where to cut a long recording into chunks: in the pauses between sentences, so that no word is split, lost or
heard twice. Silero VAD (faster-whisper's) listens to one window around each cut at a time, never the whole file."""

from pathlib import Path

from faster_whisper.vad import VadOptions, get_speech_timestamps

from audio.decode import STT_SAMPLE_RATE, decode_range

MIN_PAUSE_SECONDS = 0.1
"""A shorter stretch without speech is no pause to cut in."""

PAUSES = VadOptions(min_silence_duration_ms=round(MIN_PAUSE_SECONDS * 1000), speech_pad_ms=0)
"""Speech as Silero hears it, unpadded: faster-whisper's default pads 400 ms and joins what 2 s of silence separate,
which would hide the short pause between two sentences."""


def find_cuts(path: Path, duration_s: float, target_s: float, search_s: float = 30.0) -> list[float]:
    """Where to cut the recording at `path` (`duration_s` long) into chunks of about `target_s`: near every multiple
    of `target_s`, the middle of the longest stretch without speech within `search_s` of it and at least half a chunk
    after the cut before and before the end (so no chunk is shorter). Sorted; neither 0 nor `duration_s`.

    Only the window around each target is decoded (`decode_range`). A window that holds no pause at all (a whole
    minute of continuous speech: rare) is cut at its target, and a word may then be split."""
    if target_s <= 0:
        raise ValueError(f"A chunk of {target_s} s is no chunk.")
    cuts = [0.0]
    for k in range(1, int(duration_s // target_s) + 1):
        target = k * target_s
        start = max(target - search_s, cuts[-1] + target_s / 2)
        end = min(target + search_s, duration_s - target_s / 2)
        if start < end:
            pause = _longest_pause(path, start, end)
            cuts.append(round((pause[0] + pause[1]) / 2 if pause else min(max(target, start), end), 3))
    return cuts[1:]


def _longest_pause(path: Path, start_s: float, end_s: float) -> tuple[float, float] | None:
    """The longest stretch without speech, at least MIN_PAUSE_SECONDS long, from `start_s` to `end_s` of the file."""
    speech = get_speech_timestamps(decode_range(path, start_s, end_s), PAUSES, sampling_rate=STT_SAMPLE_RATE)
    bounds = [start_s, *(start_s + s / STT_SAMPLE_RATE for part in speech for s in (part["start"], part["end"])), end_s]
    gaps = [(a, b) for a, b in zip(bounds[::2], bounds[1::2], strict=True) if b - a >= MIN_PAUSE_SECONDS]
    return max(gaps, key=lambda gap: gap[1] - gap[0], default=None)

"""Reading audio with PyAV (no ffmpeg binary needed): the upload probe, the real duration, and decoding to what
Whisper takes, of a whole file or of a time range.

A container's header may claim any duration (a few bytes can claim days), so durations are measured from the
packets and every decode is bounded: `decode_range` holds only its range, `decode_for_stt` stops at `max_seconds`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from math import gcd, inf
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream
from av.container import InputContainer

Audio = npt.NDArray[np.float32]

STT_SAMPLE_RATE = 16_000
"""Whisper models take 16 kHz mono float32."""

PROBE_SECONDS = 1.0
"""How much audio the upload probe decodes before it trusts the file."""

MIN_AUDIO_SECONDS = 0.1
"""Less audio than this is nothing to transcribe."""

WHOLE_FILE_MAX_SECONDS = 3600.0
"""`decode_for_stt`'s bound unless its caller gives one: an hour of 16 kHz float32 is 230 MB."""

PREROLL_SECONDS = 0.5
"""`decode_range` decodes this much before its start and throws it away: after a seek, MP3's bit reservoir, AAC's
overlap, Opus' state and the resampler's filter need a few milliseconds to sound as they do in a full decode."""


class AudioDecodeError(Exception):
    """Raised when a file is not audio that can be decoded (corrupt, truncated to nothing, no audio stream)."""


class AudioTooLong(AudioDecodeError):
    """Raised when a file holds more audio than a whole-file decode may return (`decode_for_stt`'s `max_seconds`)."""


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    channels: int
    sample_rate: int
    duration_s: float
    """Measured from the packets (`measure_duration`), never the header's claim."""


def probe_audio(source: BinaryIO | Path, longest_s: float = inf) -> AudioInfo:
    """Decode the file's first second and measure its duration in the same single pass; raise AudioDecodeError if
    that fails or finds too little audio. The header's claim only tells a file cut short: one that decodes to less
    than half the first second it announces.

    Measuring stops once the audio is known to last longer than `longest_s` (its `duration_s` is then just past it),
    so that no more than that many seconds of packets are read, however small they are."""
    with _opened(source) as (container, stream):
        duration, decoded = _demux(container, stream, PROBE_SECONDS, longest_s)
        claimed = container.duration / av.time_base if container.duration else PROBE_SECONDS
        if decoded < max(MIN_AUDIO_SECONDS, min(claimed, PROBE_SECONDS) / 2):
            raise AudioDecodeError("The audio is truncated or too short to transcribe.")
        return AudioInfo(stream.codec_context.name, stream.channels, stream.sample_rate, max(duration, decoded))


def measure_duration(source: BinaryIO | Path) -> float:
    """How many seconds of audio the file really holds: its packets' durations summed, reading it once without
    decoding (a packet that carries no duration is decoded and its samples counted). The header is never asked.

    Codec priming and padding count too (AAC, MP3: some tens of milliseconds more than a decode gives)."""
    with _opened(source) as (container, stream):
        return _demux(container, stream, 0.0, inf)[0]


def decode_for_stt(path: Path, *, max_seconds: float = WHOLE_FILE_MAX_SECONDS) -> Audio:
    """All of the file's audio as 16 kHz mono float32 in [-1, 1]; AudioTooLong as soon as it holds more than
    `max_seconds` (a longer recording is decoded a range at a time, `decode_range`)."""
    limit = round(max_seconds * STT_SAMPLE_RATE)
    chunks: list[Audio] = []
    total = 0
    with _opened(path) as (container, stream):
        resampler = _resampler()
        for frame in chain(container.decode(stream), [None]):
            for chunk in _resampled(resampler, frame):
                total += len(chunk)
                if total > limit:
                    raise AudioTooLong(f"The audio lasts longer than {max_seconds:g} s.")
                chunks.append(chunk)
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if len(audio) < MIN_AUDIO_SECONDS * STT_SAMPLE_RATE:
        raise AudioDecodeError("The file holds no decodable audio, or too little to transcribe.")
    return audio


def decode_range(path: Path, start_s: float, end_s: float) -> Audio:
    """16 kHz mono float32 of the file from `start_s` to `end_s` (less where the audio ends first): the samples
    `decode_for_stt(path)[round(start_s * 16000):round(end_s * 16000)]` holds, to within a sample, but decoded from
    a seek to just before `start_s`, so that memory and time follow the range and not the file."""
    if not 0 <= start_s <= end_s:
        raise ValueError(f"{start_s} s to {end_s} s is not a range of a recording.")
    first, stop = round(start_s * STT_SAMPLE_RATE), round(end_s * STT_SAMPLE_RATE)
    chunks: list[Audio] = []
    index: int | None = None  # where the resampler's next sample lies in a full decode
    with _opened(path) as (container, stream):
        resampler = _resampler()
        for position, frame in chain(_frames_from(container, stream, start_s - PREROLL_SECONDS), [(0, None)]):
            if frame is not None and index is None:  # start the resampler on the full decode's grid
                skip = -position % (frame.sample_rate // gcd(frame.sample_rate, STT_SAMPLE_RATE))
                if skip >= frame.samples:
                    continue
                frame = _without_first(frame, skip)
                index = (position + skip) * STT_SAMPLE_RATE // frame.sample_rate
            if index is None:
                break
            for chunk in _resampled(resampler, frame):
                if max(first, index) < min(stop, index + len(chunk)):
                    chunks.append(chunk[max(first - index, 0) : stop - index])
                index += len(chunk)
            if index >= stop:
                break
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


@contextmanager
def _opened(source: BinaryIO | Path) -> Iterator[tuple[InputContainer, AudioStream]]:
    """The file's container and first audio stream; any failure to read them becomes an AudioDecodeError."""
    try:
        with av.open(str(source) if isinstance(source, Path) else source, mode="r") as container:
            if not container.streams.audio:
                raise AudioDecodeError("The file has no audio stream.")
            yield container, container.streams.audio[0]
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise AudioDecodeError(f"The audio cannot be decoded: {exc}") from exc


def _demux(
    container: InputContainer, stream: AudioStream, decode_first_s: float, longest_s: float
) -> tuple[float, float]:
    """(Seconds the stream's packets last, seconds decoded from its start), in one pass over the packets: the first
    `decode_first_s` seconds are decoded, and so is any packet without a duration, to count its samples. The pass
    ends early once the packets last longer than `longest_s`."""
    ticks, seconds_per_tick = 0, float(stream.time_base or 0)
    uncounted = decoded = 0.0  # seconds of the packets without a duration; seconds decoded from the start
    for packet in container.demux(stream):
        probing = decoded < decode_first_s
        if not probing and ticks * seconds_per_tick + uncounted > longest_s:
            break
        ticks += packet.duration or 0
        if packet.duration and not probing:
            continue
        seconds = sum(frame.samples / (frame.sample_rate or STT_SAMPLE_RATE) for frame in packet.decode())
        decoded += seconds if probing else 0.0
        if not packet.duration and (packet.size or uncounted):  # the last, empty, packet flushes the decoder
            uncounted += seconds
    return float(ticks * (stream.time_base or 0)) + uncounted, decoded


def _frames_from(container: InputContainer, stream: AudioStream, from_s: float) -> Iterator[tuple[int, av.AudioFrame]]:
    """The stream's frames from at or before `from_s` seconds, each with where it starts: a count of its own samples
    since the stream's start. A seek that lands past `from_s` is retried further back; frames with no time after a
    seek send decoding back to the start."""
    origin, time_base = stream.start_time or 0, stream.time_base or 0
    back = 0.0
    while True:
        seek_s = from_s - back
        if (seek_s > 0 or back) and time_base:
            container.seek(origin + max(0, int(seek_s / time_base)), stream=stream)
        position: int | None = None
        for frame in container.decode(stream):
            if frame.pts is not None:
                position = round((frame.pts - origin) * (frame.time_base or time_base) * frame.sample_rate)
            if seek_s > 0 and (position is None or position > from_s * frame.sample_rate):
                back = max(2 * back, PREROLL_SECONDS)
                break
            seek_s = 0.0  # landed: the rest of the frames follow
            yield position or 0, frame
            position = (position or 0) + frame.samples
        else:
            return


def _without_first(frame: av.AudioFrame, samples: int) -> av.AudioFrame:
    """`frame` less its first `samples` samples (per channel)."""
    if not samples:
        return frame
    channels = 1 if frame.format.is_planar else len(frame.layout.channels)
    kept = frame.to_ndarray()[:, samples * channels :].copy()
    trimmed = av.AudioFrame.from_ndarray(kept, format=frame.format.name, layout=frame.layout.name)
    trimmed.sample_rate = frame.sample_rate
    return trimmed


def _resampler() -> av.AudioResampler:
    return av.AudioResampler(format="flt", layout="mono", rate=STT_SAMPLE_RATE)


def _resampled(resampler: av.AudioResampler, frame: av.AudioFrame | None) -> Iterator[Audio]:
    """`frame` (None: what the resampler still holds) as 16 kHz mono float32, a chunk per output frame."""
    for out in resampler.resample(frame):
        yield np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1)

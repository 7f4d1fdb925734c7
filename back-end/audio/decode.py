"""Decoding audio with PyAV (no ffmpeg binary needed): a cheap probe for uploads, and full decoding for STT."""

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
import numpy.typing as npt

STT_SAMPLE_RATE = 16_000
"""Whisper models take 16 kHz mono float32."""

PROBE_SECONDS = 1.0
"""How much audio the upload probe decodes before it trusts the file."""

MIN_AUDIO_SECONDS = 0.1
"""Less audio than this is nothing to transcribe."""


class AudioDecodeError(Exception):
    """Raised when a file is not audio that can be decoded (corrupt, truncated to nothing, no audio stream)."""


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    channels: int
    sample_rate: int
    duration_s: float | None


def probe_audio(source: BinaryIO | Path) -> AudioInfo:
    """Open the container and decode its first second; raise AudioDecodeError if that fails."""
    try:
        with av.open(str(source) if isinstance(source, Path) else source, mode="r") as container:
            if not container.streams.audio:
                raise AudioDecodeError("The file has no audio stream.")
            stream = container.streams.audio[0]
            decoded = 0.0
            for frame in container.decode(stream):
                decoded += frame.samples / (frame.sample_rate or STT_SAMPLE_RATE)
                if decoded >= PROBE_SECONDS:
                    break
            duration = float(container.duration) / av.time_base if container.duration else None
            expected = min(duration or PROBE_SECONDS, PROBE_SECONDS)
            if decoded < max(MIN_AUDIO_SECONDS, expected / 2):
                raise AudioDecodeError("The audio is truncated or too short to transcribe.")
            return AudioInfo(stream.codec_context.name, stream.channels, stream.sample_rate, duration)
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise AudioDecodeError(f"The audio cannot be decoded: {exc}") from exc


def decode_for_stt(path: Path) -> npt.NDArray[np.float32]:
    """All of the file's audio as 16 kHz mono float32 in [-1, 1]."""
    try:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=STT_SAMPLE_RATE)
        chunks: list[npt.NDArray[np.float32]] = []
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                raise AudioDecodeError("The file has no audio stream.")
            for frame in container.decode(container.streams.audio[0]):
                chunks.extend(_samples(f) for f in resampler.resample(frame))
            chunks.extend(_samples(f) for f in resampler.resample(None))
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise AudioDecodeError(f"The audio cannot be decoded: {exc}") from exc
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if len(audio) < MIN_AUDIO_SECONDS * STT_SAMPLE_RATE:
        raise AudioDecodeError("The file holds no decodable audio, or too little to transcribe.")
    return audio


def _samples(frame: av.AudioFrame) -> npt.NDArray[np.float32]:
    return np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(-1)

"""`audio.decode`: the upload probe and the full decode for speech-to-text."""

import io
import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from audio.decode import STT_SAMPLE_RATE, AudioDecodeError, AudioInfo, decode_for_stt, probe_audio

SAMPLES = Path(__file__).resolve().parents[3] / "samples"

# name -> (duration in seconds, channels, sample rate) as documented in samples/README.md
SAMPLE_FACTS = {
    "hello.wav": (6.36, 1, 16000),
    "meeting.flac": (6.06, 2, 44100),
    "weather.mp3": (5.52, 1, 22050),
    "delivery.ogg": (5.51, 1, 48000),
    "reminder.m4a": (4.63, 1, 44100),
    "travel.webm": (5.22, 1, 48000),
}
TOLERANCE_S = 0.1

TEXT = b"Dear customer, this is a plain text file and not audio.\n" * 20


def wav_header(data_bytes: int = 0, rate: int = 16000) -> bytes:
    """A well-formed 44-byte PCM s16 mono WAV header announcing `data_bytes` of samples."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", data_bytes)
    )


@pytest.mark.parametrize("name", sorted(SAMPLE_FACTS))
def test_probe_accepts_every_sample_as_a_path(name: str) -> None:
    duration, channels, rate = SAMPLE_FACTS[name]
    info = probe_audio(SAMPLES / name)
    assert isinstance(info, AudioInfo)
    assert info.channels == channels
    assert info.sample_rate == rate
    assert info.codec
    assert info.duration_s is not None
    assert info.duration_s == pytest.approx(duration, abs=TOLERANCE_S)


@pytest.mark.parametrize("name", sorted(SAMPLE_FACTS))
def test_probe_accepts_every_sample_as_a_binary_file(name: str) -> None:
    with (SAMPLES / name).open("rb") as file:
        from_file = probe_audio(file)
    assert from_file == probe_audio(SAMPLES / name)


def test_probe_accepts_in_memory_bytes() -> None:
    info = probe_audio(io.BytesIO((SAMPLES / "hello.wav").read_bytes()))
    assert (info.codec, info.channels, info.sample_rate) == ("pcm_s16le", 1, 16000)


@pytest.mark.parametrize("name", sorted(SAMPLE_FACTS))
def test_decode_gives_16khz_mono_float32(name: str) -> None:
    duration, _, _ = SAMPLE_FACTS[name]
    audio = decode_for_stt(SAMPLES / name)
    assert audio.dtype == np.float32
    assert audio.ndim == 1
    assert len(audio) == pytest.approx(duration * STT_SAMPLE_RATE, abs=TOLERANCE_S * STT_SAMPLE_RATE)
    assert np.all(np.isfinite(audio))
    assert float(np.abs(audio).max()) <= 1.0
    assert float(np.abs(audio).max()) > 0.1  # speech, not silence


def test_probe_refuses_text() -> None:
    with pytest.raises(AudioDecodeError):
        probe_audio(io.BytesIO(TEXT))


@pytest.mark.parametrize("name", sorted(SAMPLE_FACTS))
def test_probe_refuses_a_sample_truncated_to_1024_bytes(name: str) -> None:
    head = (SAMPLES / name).read_bytes()[:1024]
    with pytest.raises(AudioDecodeError):
        probe_audio(io.BytesIO(head))


def test_probe_refuses_a_wav_header_without_data() -> None:
    with pytest.raises(AudioDecodeError):
        probe_audio(io.BytesIO(wav_header()))


def test_decode_refuses_a_wav_header_without_data(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(wav_header())
    with pytest.raises(AudioDecodeError):
        decode_for_stt(path)


def test_decode_refuses_a_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"  # the name says audio, the bytes do not
    path.write_bytes(TEXT)
    with pytest.raises(AudioDecodeError):
        decode_for_stt(path)


def test_decode_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError):
        decode_for_stt(tmp_path / "missing.wav")


def silence_wav(path: Path, seconds: float) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(STT_SAMPLE_RATE)
        out.writeframes(bytes(2 * int(seconds * STT_SAMPLE_RATE)))
    return path


def test_decode_refuses_less_audio_than_is_worth_transcribing(tmp_path: Path) -> None:
    clipped = tmp_path / "clipped.wav"
    clipped.write_bytes((SAMPLES / "hello.wav").read_bytes()[:1024])  # 0.03 s survive

    for too_short in (clipped, silence_wav(tmp_path / "short.wav", 0.05)):
        with pytest.raises(AudioDecodeError):
            decode_for_stt(too_short)
    assert len(decode_for_stt(silence_wav(tmp_path / "enough.wav", 0.2))) == int(0.2 * STT_SAMPLE_RATE)

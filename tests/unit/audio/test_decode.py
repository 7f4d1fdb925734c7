"""`audio.decode`: the upload probe, the measured duration, the whole and the ranged decode for speech-to-text, and
what hostile files (a header claiming days, an hour of silence in a few hundred KB) get from them."""

import io
import struct
import threading
import time
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import psutil
import pytest

from audio.decode import (
    STT_SAMPLE_RATE,
    AudioDecodeError,
    AudioInfo,
    AudioTooLong,
    decode_for_stt,
    decode_range,
    measure_duration,
    probe_audio,
)
from tests.conftest import clip, long_speech

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


def test_decode_stops_at_max_seconds() -> None:
    with pytest.raises(AudioTooLong, match="longer than 6 s"):
        decode_for_stt(SAMPLES / "hello.wav", max_seconds=6)  # 6.36 s
    assert len(decode_for_stt(SAMPLES / "hello.wav", max_seconds=7)) == pytest.approx(6.36 * STT_SAMPLE_RATE, abs=200)


# --- The measured duration: the packets, never the header --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLE_FACTS))
def test_measured_duration_is_the_decoded_one(name: str) -> None:
    decoded = len(decode_for_stt(SAMPLES / name)) / STT_SAMPLE_RATE
    with (SAMPLES / name).open("rb") as file:
        from_file = measure_duration(file)
    assert measure_duration(SAMPLES / name) == from_file == pytest.approx(decoded, abs=TOLERANCE_S)


def test_measure_refuses_what_is_not_audio() -> None:
    with pytest.raises(AudioDecodeError):
        measure_duration(io.BytesIO(TEXT))


def encoded(fmt: str, codec: str, audio: npt.NDArray[np.float32], rate: int) -> bytes:
    """16 kHz mono `audio` encoded by PyAV with `codec` at `rate` into a `fmt` container."""
    out_buffer = io.BytesIO()
    pcm = av.AudioFrame.from_ndarray((audio * 32767).astype(np.int16)[None], format="s16", layout="mono")
    pcm.sample_rate, pcm.pts = STT_SAMPLE_RATE, 0
    with av.open(out_buffer, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=rate)
        for frame in [*resampler.resample(pcm), *resampler.resample(None), None]:
            out.mux(stream.encode(frame))
    return out_buffer.getvalue()


def tone(seconds: float) -> npt.NDArray[np.float32]:
    t = np.arange(round(seconds * STT_SAMPLE_RATE)) / STT_SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def claiming_37_hours_of_wav(data: bytearray) -> None:
    """The RIFF and data sizes: 4 GB of 16 kHz 16-bit samples."""
    data_size = data.index(b"data") + 4
    struct.pack_into("<I", data, data_size, 0xFFFF0000)
    struct.pack_into("<I", data, 4, 0xFFFF0000 + data_size)


def claiming_49_days_of_flac(data: bytearray) -> None:
    """STREAMINFO's total samples (its 36 lowest bits at bytes 18-25): 2^36 - 1, 49.7 days at 16 kHz."""
    fields = int.from_bytes(data[18:26], "big") | (1 << 36) - 1
    data[18:26] = fields.to_bytes(8, "big")


def claiming_2_billion_mp3_frames(data: bytearray) -> None:
    """The Xing/Info header's frame count (after its tag and flags)."""
    tag = max(data.find(b"Xing"), data.find(b"Info"))
    assert tag > 0
    assert int.from_bytes(data[tag + 4 : tag + 8], "big") & 1  # the frame count is there
    data[tag + 8 : tag + 12] = (2**31 - 1).to_bytes(4, "big")


@pytest.mark.parametrize(
    ("fmt", "codec", "rate", "lie"),
    [
        ("wav", "pcm_s16le", 16000, claiming_37_hours_of_wav),
        ("flac", "flac", 16000, claiming_49_days_of_flac),
        ("mp3", "libmp3lame", 22050, claiming_2_billion_mp3_frames),
    ],
    ids=["wav", "flac", "mp3"],
)
def test_a_header_claiming_days_is_not_believed(
    fmt: str, codec: str, rate: int, lie: Callable[[bytearray], None]
) -> None:
    data = bytearray(encoded(fmt, codec, tone(2.0), rate))
    lie(data)
    with av.open(io.BytesIO(data)) as container:
        claimed = container.duration / av.time_base if container.duration else 0.0
    if fmt != "wav":  # FFmpeg clips a WAV's data size to the file's; the others' claims it believes
        assert claimed > 86400

    assert measure_duration(io.BytesIO(data)) == pytest.approx(2.0, abs=TOLERANCE_S)
    assert probe_audio(io.BytesIO(data)).duration_s == pytest.approx(2.0, abs=TOLERANCE_S)


# --- A range by seeking: the same samples as the same slice of a full decode --------------------------------------

LONG_FORMATS = {"mp3": ("mp3", "libmp3lame", 22050), "ogg": ("ogg", "libopus", 48000), "m4a": ("ipod", "aac", 44100)}


@pytest.fixture(scope="module")
def long_english(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """long_english (145 s) as FLAC (as generated), WAV and encoded by PyAV as MP3, Ogg/Opus and AAC in M4A."""
    folder = tmp_path_factory.mktemp("long_english")
    files = {"flac": clip("long_english"), "wav": long_speech(folder / "long_english.wav")}
    audio = decode_for_stt(files["flac"])
    for suffix, (fmt, codec, rate) in LONG_FORMATS.items():
        files[suffix] = folder / f"long_english.{suffix}"
        files[suffix].write_bytes(encoded(fmt, codec, audio, rate))
    return files


def misalignment(part: npt.NDArray[np.float32], full: npt.NDArray[np.float32], start: int) -> tuple[int, float]:
    """(The shift, in samples, at which `part` best matches `full` from `start`; the RMS of the difference there
    relative to the signal's)."""

    def relative_error(shift: int) -> float:
        reference = full[start + shift : start + shift + len(part)]
        n = min(len(reference), len(part))
        return float(np.sqrt(np.mean((reference[:n] - part[:n]) ** 2) / np.mean(reference[:n] ** 2)))

    shift = min(range(-min(start, 32), 33), key=relative_error)
    return shift, relative_error(shift)


SEEK_TOLERANCE = {"m4a": 0.05}
"""FFmpeg's AAC encoder fills some bands with noise (PNS) that the decoder draws from its own random state, which a
seek starts afresh: about 2 % of the signal. Everything else decodes to the same samples."""

WEBM_SHIFT = 16
"""WebM's timestamps are whole milliseconds (travel.webm's frames start half a millisecond off them): 1 ms."""


def assert_range_is_the_slice(path: Path, full: npt.NDArray[np.float32], start_s: float, end_s: float) -> None:
    part = decode_range(path, start_s, end_s)
    start, stop = round(start_s * STT_SAMPLE_RATE), min(round(end_s * STT_SAMPLE_RATE), len(full))
    shift, error = misalignment(part, full, start)
    suffix = path.suffix[1:]
    assert abs(shift) <= (WEBM_SHIFT if suffix == "webm" else 0), f"{path.name} from {start_s} s: {shift} samples"
    assert error <= SEEK_TOLERANCE.get(suffix, 1e-6), f"{path.name} from {start_s} s: {error:.1%} off"
    assert abs(len(part) - (stop - start)) <= abs(shift)


@pytest.mark.parametrize("suffix", ["wav", "flac", "mp3", "ogg", "m4a"])
def test_a_range_of_long_english_is_the_slice_of_a_full_decode(suffix: str, long_english: dict[str, Path]) -> None:
    path = long_english[suffix]
    full = decode_for_stt(path)
    for start_s in (0.0, 0.3, 37.3, 100.0, 141.0):
        assert_range_is_the_slice(path, full, start_s, start_s + 10.0)


@pytest.mark.parametrize("name", sorted(SAMPLE_FACTS))
def test_a_range_of_each_sample_is_the_slice_of_a_full_decode(name: str) -> None:
    full = decode_for_stt(SAMPLES / name)
    for start_s in (0.3, 1.7, 2.5):
        assert_range_is_the_slice(SAMPLES / name, full, start_s, start_s + 3.0)


def test_a_range_past_the_end_holds_what_there_is() -> None:
    full = decode_for_stt(SAMPLES / "hello.wav")  # 6.36 s
    assert np.array_equal(decode_range(SAMPLES / "hello.wav", 5.0, 60.0), full[5 * STT_SAMPLE_RATE :])
    assert len(decode_range(SAMPLES / "hello.wav", 30.0, 60.0)) == 0
    assert len(decode_range(SAMPLES / "hello.wav", 2.0, 2.0)) == 0


@pytest.mark.parametrize(("start_s", "end_s"), [(-1.0, 2.0), (3.0, 2.0)])
def test_a_range_must_be_one(start_s: float, end_s: float) -> None:
    with pytest.raises(ValueError, match="not a range"):
        decode_range(SAMPLES / "hello.wav", start_s, end_s)


def test_decode_range_refuses_a_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_bytes(TEXT)
    with pytest.raises(AudioDecodeError):
        decode_range(path, 0.0, 1.0)


# --- An hour of silence in a few hundred KB: bounded memory and time ---------------------------------------------

HOUR_S = 3600.0
MAX_RSS_GROWTH = 100 * 2**20


def silent_flac(path: Path, seconds: float) -> Path:
    """`seconds` of 16 kHz silence as FLAC: an hour is about 650 KB."""
    block = av.AudioFrame.from_ndarray(np.zeros((1, 10 * STT_SAMPLE_RATE), dtype=np.int16), format="s16", layout="mono")
    block.sample_rate = STT_SAMPLE_RATE
    with av.open(str(path), "w", format="flac") as out:
        stream = out.add_stream("flac", rate=STT_SAMPLE_RATE, layout="mono")
        for i in range(int(seconds // 10)):
            block.pts = i * 10 * STT_SAMPLE_RATE
            out.mux(stream.encode(block))
        out.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def silent_hour(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return silent_flac(tmp_path_factory.mktemp("hour") / "silence.flac", HOUR_S)


class Usage:
    """What a block of code took: seconds, and how far this process's RSS grew above where it started, at most."""

    seconds = 0.0
    rss_growth = 0


@contextmanager
def usage() -> Iterator[Usage]:
    """Measure the block's time and its peak RSS growth (sampled every 5 ms, and at the end)."""
    process, used, done = psutil.Process(), Usage(), threading.Event()
    before = process.memory_info().rss

    def sample() -> None:
        while not done.wait(0.005):
            used.rss_growth = max(used.rss_growth, process.memory_info().rss - before)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        yield used
    finally:
        used.seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        used.rss_growth = max(used.rss_growth, process.memory_info().rss - before)


def test_an_hour_of_silence_is_measured_probed_and_decoded_a_minute_at_a_time(silent_hour: Path) -> None:
    assert silent_hour.stat().st_size < 1_000_000
    with usage() as measuring:
        assert measure_duration(silent_hour) == pytest.approx(HOUR_S)
        assert probe_audio(silent_hour).duration_s == pytest.approx(HOUR_S)
        assert 600 < probe_audio(silent_hour, longest_s=600).duration_s < 601  # it read ten minutes' packets
    with usage() as ranging:
        minute = decode_range(silent_hour, 1800.0, 1860.0)
    assert len(minute) == 60 * STT_SAMPLE_RATE
    assert not minute.any()
    with usage() as whole, pytest.raises(AudioTooLong):
        decode_for_stt(silent_hour, max_seconds=600)  # an hour would be 230 MB: it stops at ten minutes

    for name, used in {"measure and probe": measuring, "range": ranging, "whole, capped": whole}.items():
        assert used.rss_growth < MAX_RSS_GROWTH, f"{name}: RSS grew {used.rss_growth / 2**20:.0f} MB"
        assert used.seconds < 10, f"{name}: {used.seconds:.1f} s"

"""Regenerate the project's small synthetic speech samples.

Every entry of ``samples/texts.json`` (sample name -> text, container format,
channel count and sample rate) is spoken with Debian's ``espeak-ng``
(``apt-get install espeak-ng``) into a temporary WAV file, which is then
re-encoded with PyAV into ``samples/<name>.<format>``.  The reference
transcript is written next to it as ``samples/<name>.txt``.  Nothing else is
written.

Run from the repository root with::

    .venv/bin/python samples/make_samples.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
from av.audio.stream import AudioStream

SAMPLES_DIR = Path(__file__).resolve().parent
TEXTS_FILE = SAMPLES_DIR / "texts.json"

ESPEAK_VOICE = "en-us"
ESPEAK_SPEED = 150  # words per minute


@dataclass(frozen=True)
class Encoding:
    """How one container format is written with PyAV."""

    muxer: str
    codec: str
    sample_format: str
    bit_rate: int | None = None
    options: dict[str, str] | None = None


# Keyed by file extension (the "format" field of texts.json).
ENCODINGS: dict[str, Encoding] = {
    "wav": Encoding(muxer="wav", codec="pcm_s16le", sample_format="s16"),
    "flac": Encoding(
        muxer="flac",
        codec="flac",
        sample_format="s16",
        options={"compression_level": "12"},
    ),
    "mp3": Encoding(muxer="mp3", codec="libmp3lame", sample_format="s16p", bit_rate=32_000),
    # Ogg Opus: the wheel's native Vorbis encoder is experimental and
    # stereo-only, libopus is not.
    "ogg": Encoding(muxer="ogg", codec="libopus", sample_format="s16", bit_rate=24_000),
    "m4a": Encoding(muxer="ipod", codec="aac", sample_format="fltp", bit_rate=48_000),
    "webm": Encoding(muxer="webm", codec="libopus", sample_format="s16", bit_rate=24_000),
}

LAYOUTS: dict[int, str] = {1: "mono", 2: "stereo"}


@dataclass(frozen=True)
class Sample:
    """One entry of texts.json."""

    name: str
    text: str
    format: str
    channels: int
    sample_rate: int

    @classmethod
    def from_json(cls, name: str, raw: dict[str, Any]) -> Sample:
        """Validate and build one entry of texts.json."""
        sample = cls(
            name=name,
            text=str(raw["text"]).strip(),
            format=str(raw["format"]),
            channels=int(raw["channels"]),
            sample_rate=int(raw["sample_rate"]),
        )
        if sample.format not in ENCODINGS:
            raise ValueError(f"{name}: unsupported format {sample.format!r}")
        if sample.channels not in LAYOUTS:
            raise ValueError(f"{name}: channels must be 1 or 2, not {sample.channels}")
        if not sample.text or "\n" in sample.text:
            raise ValueError(f"{name}: text must be a single non-empty line")
        return sample

    @property
    def audio_path(self) -> Path:
        """Where the encoded audio is written."""
        return SAMPLES_DIR / f"{self.name}.{self.format}"

    @property
    def text_path(self) -> Path:
        """Where the one-line reference transcript is written."""
        return SAMPLES_DIR / f"{self.name}.txt"


def load_samples(path: Path = TEXTS_FILE) -> list[Sample]:
    """Read all sample definitions from texts.json."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise TypeError(f"{path}: expected a JSON object")
    return [Sample.from_json(name, entry) for name, entry in raw.items()]


def speak(text: str, wav_path: Path) -> None:
    """Synthesise ``text`` into ``wav_path`` with espeak-ng."""
    subprocess.run(
        [
            "espeak-ng",
            "-v",
            ESPEAK_VOICE,
            "-s",
            str(ESPEAK_SPEED),
            "-w",
            str(wav_path),
            text,
        ],
        check=True,
    )


def encode(source: Path, sample: Sample) -> None:
    """Re-encode the espeak-ng WAV ``source`` into ``sample.audio_path``."""
    enc = ENCODINGS[sample.format]
    layout = LAYOUTS[sample.channels]
    with (
        av.open(str(source)) as inp,
        # bitexact: no random stream serials/UIDs or version tags, so that
        # regenerating the samples gives byte-identical files.
        av.open(
            str(sample.audio_path),
            "w",
            format=enc.muxer,
            options={"fflags": "+bitexact"},
        ) as out,
    ):
        stream = out.add_stream(
            enc.codec, rate=sample.sample_rate, options={"flags": "+bitexact", **(enc.options or {})}
        )
        assert isinstance(stream, AudioStream)
        ctx = stream.codec_context
        ctx.layout = layout
        ctx.format = enc.sample_format
        if enc.bit_rate is not None:
            ctx.bit_rate = enc.bit_rate
        ctx.open()
        # Codecs with a fixed frame size (MP3, AAC, Opus) need exactly that
        # many samples per frame; PCM and FLAC report 0 and accept anything.
        frame_size = ctx.frame_size or 1024
        resampler = av.AudioResampler(
            format=enc.sample_format,
            layout=layout,
            rate=sample.sample_rate,
            frame_size=frame_size,
        )
        frames = []
        for frame in inp.decode(audio=0):
            frames.extend(resampler.resample(frame))
        frames.extend(resampler.resample(None))
        for frame in frames:
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def make_sample(sample: Sample, workdir: Path) -> None:
    """Write ``<name>.<format>`` and ``<name>.txt`` for one sample."""
    wav_path = workdir / f"{sample.name}.espeak.wav"
    speak(sample.text, wav_path)
    encode(wav_path, sample)
    sample.text_path.write_text(sample.text + "\n", encoding="utf-8")


def main() -> int:
    """Regenerate every sample listed in texts.json."""
    if shutil.which("espeak-ng") is None:
        print("espeak-ng not found: apt-get install -y espeak-ng", file=sys.stderr)
        return 1
    samples = load_samples()
    with tempfile.TemporaryDirectory(prefix="make_samples_") as tmp:
        for sample in samples:
            make_sample(sample, Path(tmp))
            size = sample.audio_path.stat().st_size
            rel = sample.audio_path.relative_to(SAMPLES_DIR.parent)
            print(f"{rel}: {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Longer test recordings composed from a declarative spec, generated on demand and cached.

``samples/recordings.json`` names each recording and lists its parts in order: speech (``text``, and optionally
``voice``, an espeak-ng voice such as ``en-us``, ``en-us+f3`` (female), ``de``, ``es`` or ``fr``, and ``speed`` in
words per minute) or ``silence`` (seconds), or ``include``: ``{"include": "meeting_20min", "times": 6}`` takes the
parts of a recording defined earlier in the file (with its voices and speeds, not its format or noise), ``times``
over (default 1), so a long recording is built from a shorter one without copying its text; a part spoken more than
once is synthesised once. A recording may set a default ``voice`` and ``speed``, its ``format`` (``flac`` or ``wav``)
and ``noise_dbfs``: white noise at that level over all of it, the same every time.

Each part is spoken with Debian's ``espeak-ng`` (``apt-get install espeak-ng``), resampled by PyAV to 16 kHz
mono, joined with numpy and encoded bit-exactly. Beside ``<name>-<key>.<format>`` goes ``<name>-<key>.json``: the
reference transcript and, for every spoken part, when it is audible (start and end in seconds), its voice, language
and text. That is the ground truth for transcription, speaker diarization, language detection, VAD and chunking.

The files are written to ``.cache/test-audio/`` (git-ignored). The key is a hash of the recording's parts, this
module's source and the espeak-ng version, so only what changed is generated again. Make them all (``make
test-audio`` does) from the repository root with::

    .venv/bin/python samples/recordings.py [name ...]
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream

SAMPLES_DIR = Path(__file__).resolve().parent
SPEC_FILE = SAMPLES_DIR / "recordings.json"
CACHE_DIR = SAMPLES_DIR.parent / ".cache" / "test-audio"

SAMPLE_RATE = 16_000
"""What the STT engines take: every recording is 16 kHz mono, 16-bit."""
DEFAULT_VOICE = "en-us"
DEFAULT_SPEED = 150
"""Words per minute; the samples in texts.json are spoken at this speed too."""
AUDIBLE = 10 ** (-60 / 20)
"""A spoken part starts and ends where its clip first and last rises above -60 dBFS (espeak-ng pads with zeros)."""
CODECS = {"flac": "flac", "wav": "pcm_s16le"}

Audio = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Speech:
    text: str
    voice: str
    speed: int

    @property
    def language(self) -> str:
        """The ISO 639-1 code Whisper reports: `en-us+f3` speaks `en`."""
        return self.voice.split("+")[0].split("-")[0]


@dataclass(frozen=True)
class Silence:
    seconds: float


@dataclass(frozen=True)
class Recording:
    """One entry of recordings.json, defaults applied."""

    name: str
    format: str
    parts: tuple[Speech | Silence, ...]
    noise_dbfs: float | None = None

    @classmethod
    def from_json(cls, name: str, raw: dict[str, Any], earlier: Mapping[str, Recording] | None = None) -> Recording:
        """`earlier`: the recordings defined before this one, which an ``include`` part may name."""
        voice, speed = str(raw.get("voice", DEFAULT_VOICE)), int(raw.get("speed", DEFAULT_SPEED))
        earlier = earlier or {}
        parts: list[Speech | Silence] = []
        for part in raw["parts"]:
            if "include" in part:
                included, times = str(part["include"]), int(part.get("times", 1))
                if included not in earlier:
                    raise ValueError(f"{name}: include {included!r} names no recording defined before it")
                if times < 1:
                    raise ValueError(f"{name}: times must be at least 1, not {times}")
                parts.extend(earlier[included].parts * times)
            elif "silence" in part:
                parts.append(Silence(float(part["silence"])))
            else:
                text = str(part["text"]).strip()
                if not text or "\n" in text:
                    raise ValueError(f"{name}: a text must be a single non-empty line")
                parts.append(Speech(text, str(part.get("voice", voice)), int(part.get("speed", speed))))
        noise = float(raw["noise_dbfs"]) if raw.get("noise_dbfs") is not None else None
        recording = cls(name, str(raw.get("format", "flac")), tuple(parts), noise)
        if recording.format not in CODECS:
            raise ValueError(f"{name}: format must be one of {sorted(CODECS)}, not {recording.format!r}")
        if not any(isinstance(p, Speech) for p in parts):
            raise ValueError(f"{name}: no speech")
        return recording

    @property
    def key(self) -> str:
        """Changes with the parts, the format, the noise, this module's source and the espeak-ng version."""
        spec = {"recording": asdict(self), "espeak_ng": espeak_version(), "generator": _source_hash()}
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]

    def path(self, cache_dir: Path = CACHE_DIR) -> Path:
        return cache_dir / f"{self.name}-{self.key}.{self.format}"


def load_recordings(path: Path = SPEC_FILE) -> dict[str, Recording]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    recordings: dict[str, Recording] = {}
    for name, entry in raw.items():
        recordings[name] = Recording.from_json(name, entry, recordings)
    return recordings


@cache
def espeak_version() -> str:
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed: `make test-audio` installs it (apt-get install espeak-ng)")
    banner = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"text-to-speech:\s*(\S+)", banner)
    return match.group(1) if match else banner.strip()


@cache
def _source_hash() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def recording(name: str, cache_dir: Path = CACHE_DIR) -> Path:
    """The audio file of recording `name`, generated first if the cache does not hold this version of it."""
    specs = load_recordings()
    if name not in specs:
        raise KeyError(f"{name!r} is not in {SPEC_FILE.name}: {', '.join(specs)}")
    spec = specs[name]
    path = spec.path(cache_dir)
    if not (path.exists() and path.with_suffix(".json").exists()):
        generate(spec, cache_dir)
    return path


def ground_truth(audio: Path) -> dict[str, Any]:
    """The JSON sidecar of a recording: `text`, `duration` and `parts` (start, end, voice, language, text)."""
    return dict(json.loads(audio.with_suffix(".json").read_text(encoding="utf-8")))


def speak(speech: Speech, workdir: Path) -> Audio:
    """`speech` spoken by espeak-ng (22.05 kHz), as 16 kHz mono float32."""
    wav = workdir / "part.wav"
    subprocess.run(
        ["espeak-ng", "-v", speech.voice, "-s", str(speech.speed), "-w", str(wav), speech.text],
        check=True,
    )
    with av.open(str(wav)) as source:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        frames = [out for frame in source.decode(audio=0) for out in resampler.resample(frame)]
        frames.extend(resampler.resample(None))
    return np.concatenate([f.to_ndarray()[0] for f in frames]).astype(np.float32)


def render(spec: Recording) -> tuple[Audio, list[dict[str, Any]]]:
    """The whole recording as float32 samples, and where each spoken part is audible in it."""
    pieces: list[Audio] = []
    parts: list[dict[str, Any]] = []
    spoken: dict[Speech, Audio] = {}  # each distinct part is synthesised once: an included recording repeats them
    offset = 0
    with tempfile.TemporaryDirectory(prefix="recording_") as tmp:
        for part in spec.parts:
            if isinstance(part, Silence):
                piece = np.zeros(round(part.seconds * SAMPLE_RATE), dtype=np.float32)
            else:
                if part not in spoken:
                    spoken[part] = speak(part, Path(tmp))
                piece = spoken[part]
                audible = np.flatnonzero(np.abs(piece) > AUDIBLE)
                first, last = (audible[0], audible[-1] + 1) if audible.size else (0, len(piece))
                parts.append(
                    {
                        "start": round((offset + first) / SAMPLE_RATE, 3),
                        "end": round((offset + last) / SAMPLE_RATE, 3),
                        "voice": part.voice,
                        "language": part.language,
                        "text": part.text,
                    }
                )
            pieces.append(piece)
            offset += len(piece)
    audio = np.concatenate(pieces)
    if spec.noise_dbfs is not None:
        rng = np.random.default_rng(zlib.crc32(spec.name.encode()))
        audio = audio + rng.normal(0, 10 ** (spec.noise_dbfs / 20), len(audio)).astype(np.float32)
    return audio, parts


def write_audio(path: Path, audio: Audio, audio_format: str) -> None:
    """16-bit mono at SAMPLE_RATE; bitexact, so the same samples always give the same bytes."""
    samples = (np.clip(audio, -1, 1) * 32767).round().astype(np.int16).reshape(1, -1)
    with av.open(str(path), "w", format=audio_format, options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream(CODECS[audio_format], rate=SAMPLE_RATE, options={"flags": "+bitexact"})
        assert isinstance(stream, AudioStream)
        stream.codec_context.layout = "mono"
        stream.codec_context.format = "s16"
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)


def generate(spec: Recording, cache_dir: Path = CACHE_DIR) -> Path:
    """Write the audio and its JSON sidecar (each through a temporary name), and drop older versions of both."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    audio, parts = render(spec)
    path = spec.path(cache_dir)
    truth = {
        "name": spec.name,
        "key": spec.key,
        "espeak_ng": espeak_version(),
        "sample_rate": SAMPLE_RATE,
        "duration": round(len(audio) / SAMPLE_RATE, 3),
        "noise_dbfs": spec.noise_dbfs,
        "text": " ".join(p["text"] for p in parts),
        "parts": parts,
    }
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    write_audio(partial, audio, spec.format)
    partial.with_suffix(".json").write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial.with_suffix(".json"), path.with_suffix(".json"))
    os.replace(partial, path)
    for old in cache_dir.glob(f"{spec.name}-*"):
        if old.stem != path.stem and re.fullmatch(rf"{re.escape(spec.name)}-[0-9a-f]{{12}}", old.stem):
            old.unlink()
    return path


def main(names: list[str]) -> int:
    """Generate the recordings named unless they are cached; print what each is. Without names: every recording
    but those marked ``"on_demand": true`` (the long ones only the benchmarks use: made when first asked for)."""
    try:
        espeak_version()
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    specs = load_recordings()
    if unknown := [name for name in names if name not in specs]:
        print(f"not in {SPEC_FILE.name}: {', '.join(unknown)} (there: {', '.join(specs)})", file=sys.stderr)
        return 2
    names = names or [name for name, raw in json.loads(SPEC_FILE.read_text()).items() if not raw.get("on_demand")]
    began = time.perf_counter()
    for name in names:
        cached = specs[name].path().exists()
        started = time.perf_counter()
        path = recording(name)
        truth = ground_truth(path)
        voices = ", ".join(sorted({p["voice"] for p in truth["parts"]}))
        how = "cached" if cached else f"made in {time.perf_counter() - started:.1f} s"
        print(f"{path.relative_to(SAMPLES_DIR.parent)}: {truth['duration']:.1f} s, {voices} ({how})")
    print(f"{len(names)} recording(s) ready in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

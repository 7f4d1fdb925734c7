"""Fixtures every test tree shares: a clean environment for Settings, tokens, and the audio tests speak."""

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from audio.decode import STT_SAMPLE_RATE, decode_for_stt
from core.security import create_token
from core.settings import Settings, get_settings
from samples.recordings import CACHE_DIR, ground_truth, recording, write_audio

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = REPO_ROOT / "samples"

SAMPLE_NAMES = ("hello.wav", "meeting.flac", "weather.mp3", "delivery.ogg", "reminder.m4a", "travel.webm")

JFK = REPO_ROOT.parent / "shared" / "audio" / "jfk.flac"
"""Real human speech, on the team's machines only (never copied into the project): an extra check where it is."""
needs_jfk = pytest.mark.skipif(
    not JFK.exists(), reason="../shared/audio/jfk.flac is not here: real-speech WER check skipped"
)

_SETTING_NAMES = [name.upper() for name in Settings.model_fields] + ["AWS_SESSION_TOKEN"]


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Settings from nothing but this test: DATA_DIR under tmp_path, fresh secrets, no `.env`."""
    for name in _SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv("JWT_SECRET", secrets.token_urlsafe(32))
    monkeypatch.setenv("WEBHOOK_SECRET", secrets.token_urlsafe(32))
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()


def bearer(user_id: str, role: str | None = None) -> dict[str, str]:
    """An Authorization header for `user_id`, signed with the current JWT_SECRET."""
    token = create_token(os.environ["JWT_SECRET"].encode(), user_id, role)
    return {"Authorization": f"Bearer {token}"}


def clip(name: str) -> Path:
    """A clip by name: a sample (`hello.wav`), jfk.flac, or a recording of samples/recordings.json (`short_english`,
    generated into .cache/test-audio/ unless it is there already)."""
    if name == JFK.name:
        return JFK
    return SAMPLES / name if name in SAMPLE_NAMES else recording(name)


def reference_text(sample: Path) -> str:
    """What a clip says: a generated recording's sidecar, jfk.flac's row in its README, or `<sample>.txt`."""
    if sample.parent == CACHE_DIR:
        return str(ground_truth(sample)["text"])
    if sample == JFK:
        readme = (JFK.parent / "README.md").read_text()
        row = next(line for line in readme.splitlines() if line.startswith(f"| {sample.name} "))
        return row.split("|")[-2].strip()
    return sample.with_suffix(".txt").read_text().strip()


def long_speech(path: Path, seconds: float | None = None) -> Path:
    """The generated `long_english` (145 s of one voice, no sentence twice) as a 16 kHz mono WAV at `path`, or its
    first sentences up to the first pause after `seconds`; what they say goes beside it, in `path` with `.txt`."""
    source = recording("long_english")
    truth = ground_truth(source)
    audio = decode_for_stt(source)
    parts = truth["parts"]
    if seconds is not None:
        if seconds > parts[-1]["end"]:
            raise ValueError(f"long_english has only {parts[-1]['end']} s of speech, not {seconds}")
        last = next(i for i, part in enumerate(parts) if part["end"] >= seconds)
        if last + 1 < len(parts):
            audio = audio[: round((parts[last]["end"] + parts[last + 1]["start"]) / 2 * STT_SAMPLE_RATE)]
        parts = parts[: last + 1]
    write_audio(path, audio, "wav")
    path.with_suffix(".txt").write_text(" ".join(part["text"] for part in parts) + "\n")
    return path


def word_error_rate(reference: str, hypothesis: str) -> float:
    import jiwer

    def normalise(text: str) -> str:
        return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())

    return float(jiwer.wer(normalise(reference), normalise(hypothesis)))

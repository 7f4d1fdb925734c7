"""Which checkpoint STT_MODEL names for the openai-whisper engine; nothing is ever downloaded."""

from pathlib import Path

import pytest
import whisper
from pydantic import ValidationError

from core.settings import BUNDLED_MODEL, Settings
from stt import get_engine
from stt.openai_whisper_checkpoint import bundled_checkpoint_path
from stt.openai_whisper_engine import ModelNotFound, known_alignment_heads, resolve_model


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty openai-whisper cache, and a download that fails the test if anything tries one."""

    def download(*args: object, **kwargs: object) -> None:
        raise AssertionError("openai-whisper tried to download a model")

    monkeypatch.setattr(whisper, "_download", download)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "whisper"


def test_the_bundled_model_is_converted_into_data_dir(tmp_path: Path) -> None:
    path = resolve_model(BUNDLED_MODEL, tmp_path / "data")

    assert path == bundled_checkpoint_path(tmp_path / "data")
    assert path.is_file()
    assert known_alignment_heads(BUNDLED_MODEL, 4, 6) is not None


def test_an_official_name_is_its_file_in_openai_whispers_cache(no_downloads: Path, tmp_path: Path) -> None:
    no_downloads.mkdir(parents=True)
    (no_downloads / "small.pt").write_bytes(b"a checkpoint")

    assert resolve_model("small", tmp_path) == no_downloads / "small.pt"
    assert known_alignment_heads("small", 12, 12) == whisper._ALIGNMENT_HEADS["small"]
    assert known_alignment_heads("/models/mine.pt", 4, 6) is None


def test_a_missing_official_model_is_a_clear_error_not_a_download(no_downloads: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match=rf"STT_MODEL=small: no {no_downloads / 'small.pt'} \(models are never"):
        resolve_model("small", tmp_path)


def test_a_path_must_be_a_checkpoint_file(tmp_path: Path) -> None:
    (tmp_path / "mine.pt").write_bytes(b"a checkpoint")

    assert resolve_model(str(tmp_path / "mine.pt"), tmp_path) == tmp_path / "mine.pt"
    with pytest.raises(ModelNotFound, match="no such checkpoint file"):
        resolve_model(str(tmp_path / "missing.pt"), tmp_path)
    with pytest.raises(ModelNotFound, match="no such checkpoint file"):
        resolve_model(str(tmp_path), tmp_path)  # a directory: a CTranslate2 model is faster-whisper's


def test_get_engine_builds_the_engine_stt_engine_names(app_env: Path) -> None:
    settings = Settings(stt_engine="openai-whisper", stt_cpu_threads=1)

    engine = get_engine(settings)

    assert engine.name == "openai-whisper"
    assert get_engine(settings) is engine
    assert get_engine(Settings(stt_cpu_threads=1)).name == "faster-whisper"


def test_stt_engine_is_read_from_the_environment_and_checked(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STT_ENGINE", "openai-whisper")

    assert Settings().stt_engine == "openai-whisper"
    monkeypatch.setenv("STT_ENGINE", "whisper.cpp")
    with pytest.raises(ValidationError, match="faster-whisper"):
        Settings()

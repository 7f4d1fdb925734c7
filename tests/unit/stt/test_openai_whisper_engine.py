"""The openai-whisper engine: which model STT_MODEL names (nothing is ever downloaded), and which language it
transcribes in (given, detected among the deployment's, or English for an English-only model)."""

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import whisper
from pydantic import ValidationError

from audio.decode import decode_for_stt
from core.settings import Settings
from stt import get_engine
from stt.models import BASE, TINY_EN, ModelRef, ModelUnavailable, tiny_en_directory
from stt.openai_whisper_checkpoint import CHECKPOINT_DIR, checkpoint_of, find_model, model_alignment_heads
from stt.openai_whisper_engine import OpenAIWhisperEngine
from tests.conftest import clip
from tests.unit.stt.test_openai_whisper_checkpoint import converted_base


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty openai-whisper cache, and a download that fails the test if anything tries one."""

    def download(*args: object, **kwargs: object) -> None:
        raise AssertionError("openai-whisper tried to download a model")

    monkeypatch.setattr(whisper, "_download", download)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "whisper"


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelRef, Path]:
    return converted_base(tmp_path_factory)


@pytest.fixture(scope="module")
def base_engine(base: tuple[ModelRef, Path], tmp_path_factory: pytest.TempPathFactory) -> OpenAIWhisperEngine:
    model, checkpoint = base
    return OpenAIWhisperEngine(model, "cpu", cpu_threads=1, beam_size=1, data_dir=checkpoint.parents[2])


@pytest.fixture
def whisper_transcribe(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """`whisper.transcribe` stood in for: the options of each call, and no decoding (what is said is not the point)."""
    calls: list[dict[str, Any]] = []

    def transcribe(model: object, audio: object, **options: Any) -> dict[str, Any]:
        calls.append(options)
        return {"text": "", "segments": [], "language": options["language"]}

    monkeypatch.setattr(whisper, "transcribe", transcribe)
    return calls


def test_the_shipped_models_are_found_and_converted_into_data_dir(base: tuple[ModelRef, Path], tmp_path: Path) -> None:
    tiny_en = find_model(TINY_EN, tmp_path / "data")
    path = checkpoint_of(tiny_en, tmp_path / "data")

    assert tiny_en == ModelRef(TINY_EN, str(tiny_en_directory()))
    assert path.parent == tmp_path / "data" / CHECKPOINT_DIR
    assert path.is_file()
    assert model_alignment_heads(tiny_en, 4, 6) is not None
    assert base[0].name == BASE
    assert base[0].directory == base[1].parents[2] / "models" / "whisper-base"  # joined from its two packages


def test_a_ctranslate2_directory_is_converted_and_a_checkpoint_file_used_as_it_is(tmp_path: Path) -> None:
    tiny_en = checkpoint_of(find_model(TINY_EN, tmp_path), tmp_path)
    (tmp_path / "mine.pt").write_bytes(b"a checkpoint")

    assert find_model(str(tiny_en_directory()), tmp_path) == ModelRef("model", str(tiny_en_directory()))
    assert checkpoint_of(find_model(str(tiny_en_directory()), tmp_path), tmp_path) == tiny_en.with_name(
        tiny_en.name.replace("tiny.en-", "model-")  # the same model.bin, under the name the directory gives it
    )
    assert find_model(str(tmp_path / "mine.pt"), tmp_path) == ModelRef("mine", str(tmp_path / "mine.pt"))
    assert checkpoint_of(ModelRef("mine", str(tmp_path / "mine.pt")), tmp_path) == tmp_path / "mine.pt"
    assert model_alignment_heads(ModelRef("mine", str(tmp_path / "mine.pt")), 4, 6) is None


def test_an_official_name_is_its_file_in_openai_whispers_cache(no_downloads: Path, tmp_path: Path) -> None:
    no_downloads.mkdir(parents=True)
    (no_downloads / "small.pt").write_bytes(b"a checkpoint")

    small = find_model("small", tmp_path)

    assert small == ModelRef("small", str(no_downloads / "small.pt"))
    assert checkpoint_of(small, tmp_path) == no_downloads / "small.pt"
    assert model_alignment_heads(small, 12, 12) == whisper._ALIGNMENT_HEADS["small"]


def test_a_missing_official_model_is_a_clear_error_not_a_download(no_downloads: Path, tmp_path: Path) -> None:
    for allow_download in (False, True):
        with pytest.raises(
            ModelUnavailable, match=rf"STT_MODEL=small: no {no_downloads / 'small.pt'} \(models are never"
        ):
            find_model("small", tmp_path, allow_download)


def test_what_is_neither_on_disk_nor_in_the_cache_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "int8").mkdir()
    (tmp_path / "int8" / "model.bin").write_bytes(b"not a model")

    with pytest.raises(ModelUnavailable, match="not available offline"):
        find_model(str(tmp_path / "missing.pt"), tmp_path)
    with pytest.raises(ModelUnavailable, match=r"directory without model\.bin"):
        find_model(str(tmp_path / "empty"), tmp_path)
    with pytest.raises(ModelUnavailable, match="the openai-whisper engine downloads nothing"):
        find_model("Systran/faster-whisper-small", tmp_path, allow_download=True)
    with pytest.raises(ModelUnavailable, match=r"STT_MODEL=int8: openai-whisper cannot run it: .*binary version"):
        checkpoint_of(find_model(str(tmp_path / "int8"), tmp_path), tmp_path)


def test_the_language_is_detected_among_the_deployments(
    base_engine: OpenAIWhisperEngine,
    whisper_transcribe: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    german = decode_for_stt(clip("german"))
    language, probability = base_engine.detect_language(german)
    monkeypatch.setattr(base_engine, "languages", ("en", "fr"))

    with caplog.at_level(logging.INFO, logger="stt.openai_whisper_engine"):
        result = base_engine.transcribe(german, task="translate")

    assert language == "de"
    assert probability > 0.5
    assert result.language in ("en", "fr")
    assert result.language_probability is not None
    assert result.language_probability < 0.5
    assert whisper_transcribe[-1]["language"] == result.language
    assert whisper_transcribe[-1]["task"] == "translate"
    assert f"detected de, not expected here: transcribing as {result.language}" in caplog.text
    assert result.model == BASE
    assert result.engine is not None
    assert result.engine.model_dump() == {
        "name": "openai-whisper",
        "compute_type": "float32",
        "beam_size": 1,
        "vad": False,
        "task": "translate",
        "diarizer": None,
    }


def test_a_given_language_is_used_without_detecting(
    base_engine: OpenAIWhisperEngine, whisper_transcribe: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def detect(*args: object) -> None:
        raise AssertionError("detected a language that was given")

    monkeypatch.setattr(base_engine.model, "detect_language", detect)

    result = base_engine.transcribe(np.zeros(16000, dtype=np.float32), language="de", vad=True)

    assert (result.language, result.language_probability) == ("de", None)
    assert whisper_transcribe[-1]["language"] == "de"
    assert result.engine is not None
    assert (result.engine.vad, result.engine.task) == (False, "transcribe")  # this engine does no VAD


def test_an_english_only_model_transcribes_english_and_detects_nothing(
    tmp_path: Path, whisper_transcribe: list[dict[str, Any]]
) -> None:
    engine = OpenAIWhisperEngine(find_model(TINY_EN, tmp_path), "cpu", 1, beam_size=1, data_dir=tmp_path)

    results = [engine.transcribe(np.zeros(16000, dtype=np.float32), language=lang) for lang in (None, "de")]

    assert [(r.language, r.language_probability, r.model) for r in results] == [("en", None, TINY_EN)] * 2
    assert [call["language"] for call in whisper_transcribe] == ["en", "en"]


def test_get_engine_builds_the_engine_stt_engine_names(app_env: Path) -> None:
    settings = Settings(stt_engine="openai-whisper", stt_model=TINY_EN, stt_cpu_threads=1, stt_languages=["en", "de"])

    engine = get_engine(settings)

    assert isinstance(engine, OpenAIWhisperEngine)
    assert (engine.model_ref.name, engine.languages) == (TINY_EN, ("en", "de"))
    assert get_engine(settings) is engine
    assert get_engine(Settings(stt_model=TINY_EN, stt_cpu_threads=1)).name == "faster-whisper"
    with pytest.raises(ModelUnavailable, match="STT_MODEL=medium: no "):
        get_engine(Settings(stt_engine="openai-whisper", stt_model="medium"))


def test_stt_engine_is_read_from_the_environment_and_checked(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STT_ENGINE", "openai-whisper")

    assert Settings().stt_engine == "openai-whisper"
    monkeypatch.setenv("STT_ENGINE", "whisper.cpp")
    with pytest.raises(ValidationError, match="faster-whisper"):
        Settings()
